"""Which models take hidden reasoning, and the options that ask for it on each wire.

The native API's `completionOptions.reasoningOptions.mode = ENABLED_HIDDEN` is documented for
YandexGPT Pro only; the OpenAI-compatible `reasoning_effort` (low | medium | high) for gpt-oss
(https://yandex.cloud/en/docs/ai-studio/concepts/generation/chain-of-thought). The Responses
API marks `reasoning` "currently not supported", so that wire never gets it. A model that does
not take reasoning is sent nothing: the setting is per deployment, the models vary per chat.
"""

from __future__ import annotations

from dataclasses import replace

from bot.foundation_models.types import CompletionOptions

ENABLED_HIDDEN = "ENABLED_HIDDEN"


def _name(model: str) -> str:
    """`gpt://folder/yandexgpt/latest` or `yandexgpt/rc` -> `yandexgpt`."""
    tail = model.split("://", 1)[1].split("/", 1)[1] if "://" in model else model
    return tail.split("/", 1)[0].split("@", 1)[0]


def takes_reasoning_mode(model: str) -> bool:
    """YandexGPT Pro (`yandexgpt`, any version) on the native API."""
    return _name(model) == "yandexgpt"


def takes_reasoning_effort(model: str) -> bool:
    """gpt-oss (20b, 120b) on the OpenAI-compatible API."""
    return _name(model).startswith("gpt-oss")


def with_reasoning_mode(model: str, options: CompletionOptions | None,
                        mode: str | None) -> CompletionOptions | None:
    """`options` with the deployment's reasoning mode when the model takes it and the caller
    did not choose one."""
    if mode is None or not takes_reasoning_mode(model):
        return options
    options = options or CompletionOptions()
    return options if options.reasoning_mode is not None else replace(options,
                                                                      reasoning_mode=mode)


def with_reasoning_effort(model: str, options: CompletionOptions | None,
                          effort: str | None) -> CompletionOptions | None:
    if effort is None or not takes_reasoning_effort(model):
        return options
    options = options or CompletionOptions()
    return options if options.reasoning_effort is not None else replace(
        options, reasoning_effort=effort)
