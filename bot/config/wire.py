"""What the chosen wire (TEXT_API) can do with the other settings: the start-up refusal of a
combination it cannot serve, and the lines `fmbot check` and the start-up log print."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.parsing import ConfigError

if TYPE_CHECKING:
    from bot.config import CoreSettings as Settings

_WIRES = {
    "native": "the native YandexGPT API ({llm}/foundationModels/v1/completion)",
    "openai": "the OpenAI-compatible API ({openai}/chat/completions)",
    "responses": "AI Studio's Responses API ({responses}/responses, store=false)",
}


def check_wire(settings: Settings) -> None:
    """REASONING=on on the Responses wire: Yandex marks `reasoning` "currently not supported"
    there, so the bot refuses to start rather than silently answer without it."""
    if settings.reasoning == "on" and settings.text_api == "responses":
        raise ConfigError(
            "REASONING=on is not available with TEXT_API=responses: Yandex's Responses API "
            "does not support reasoning yet; set REASONING=off, or TEXT_API=native (YandexGPT "
            "Pro) or TEXT_API=openai (gpt-oss)"
        )


def _reasoning(settings: Settings) -> str:
    if settings.reasoning == "off":
        return "off"
    if settings.text_api == "native":
        return "on: reasoningOptions.mode=ENABLED_HIDDEN for YandexGPT Pro (yandexgpt) models"
    if settings.text_api == "openai":
        return f"on: reasoning_effort={settings.reasoning_effort} for gpt-oss models"
    return "refused on this wire"


def wire_lines(settings: Settings) -> list[tuple[str, str]]:
    """(name, detail) lines: the wire, the built-in tools, the reasoning mode."""
    wire = _WIRES[settings.text_api].format(
        llm=settings.yandex_llm_url, openai=settings.openai_url,
        responses=settings.responses_url)
    # The Responses API's built-in tools, read by name: WEB_SEARCH and KB_BACKEND are the
    # features' sections (`settings.websearch`, `settings.knowledge`), which the core's
    # settings do not import.
    websearch = getattr(settings, "websearch", None)
    knowledge = getattr(settings, "knowledge", None)
    names = [tool for tool, on in (
        ("web_search", getattr(websearch, "on", False)),
        ("file_search", getattr(knowledge, "backend", "local") == "yandex"),
    ) if on and settings.text_api == "responses"]
    return [
        ("wire", f"TEXT_API={settings.text_api}: {wire}"),
        ("built-in tools", ", ".join(names) if names else "none"),
        ("reasoning", _reasoning(settings)),
    ]
