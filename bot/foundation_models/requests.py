"""Request bodies in the wire format, built from the public types.

int64 fields are sent as strings, as the docs do (`"maxTokens": "2000"`); fields left at their
defaults are omitted so the service applies its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.foundation_models.errors import InvalidRequestError
from bot.foundation_models.types import ChatMessage, CompletionOptions, ImageOptions

IMAGE_PROMPT_LIMIT = 500  # characters (https://yandex.cloud/en/docs/ai-studio/concepts/limits)


def message_body(message: ChatMessage) -> dict[str, Any]:
    body: dict[str, Any] = {"role": str(message.role)}
    if message.tool_calls:
        body["toolCallList"] = {
            "toolCalls": [
                {"functionCall": {"name": call.name, "arguments": call.arguments}}
                for call in message.tool_calls
            ]
        }
    elif message.tool_results:
        body["toolResultList"] = {
            "toolResults": [
                {"functionResult": {"name": result.name, "content": result.content}}
                for result in message.tool_results
            ]
        }
    else:
        body["text"] = message.text
    return body


def completion_body(
    model_uri: str,
    messages: Sequence[ChatMessage],
    options: CompletionOptions | None,
    *,
    stream: bool | None,
) -> dict[str, Any]:
    """A CompletionRequest (also the body of completionAsync and tokenizeCompletion)."""
    if not messages:
        raise InvalidRequestError("a completion needs at least one message")
    options = options or CompletionOptions()
    completion_options: dict[str, Any] = {}
    if stream is not None:
        completion_options["stream"] = stream
    if options.temperature is not None:
        completion_options["temperature"] = options.temperature
    if options.max_tokens is not None:
        completion_options["maxTokens"] = str(options.max_tokens)
    if options.reasoning_mode is not None:
        completion_options["reasoningOptions"] = {"mode": options.reasoning_mode}
    body: dict[str, Any] = {
        "modelUri": model_uri,
        "completionOptions": completion_options,
        "messages": [message_body(message) for message in messages],
    }
    if options.tools:
        body["tools"] = [
            {
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                    **({"strict": tool.strict} if tool.strict is not None else {}),
                }
            }
            for tool in options.tools
        ]
    if options.tool_choice_function is not None:
        body["toolChoice"] = {"functionName": options.tool_choice_function}
    elif options.tool_choice is not None:
        body["toolChoice"] = {"mode": options.tool_choice.upper()}
    if options.parallel_tool_calls is not None:
        body["parallelToolCalls"] = options.parallel_tool_calls
    if options.json_schema is not None:
        body["jsonSchema"] = {"schema": options.json_schema}
    elif options.json_object:
        body["jsonObject"] = True
    return body


def image_body(model_uri: str, prompt: str, options: ImageOptions | None) -> dict[str, Any]:
    """An ImageGenerationRequest; the prompt is checked here, before anything is sent."""
    if not prompt.strip():
        raise InvalidRequestError("the image prompt is empty")
    if len(prompt) > IMAGE_PROMPT_LIMIT:
        raise InvalidRequestError(
            f"the image prompt has {len(prompt)} characters; the limit is {IMAGE_PROMPT_LIMIT}"
        )
    options = options or ImageOptions()
    width, height = options.aspect_ratio
    if width <= 0 or height <= 0:
        raise InvalidRequestError("aspect ratio parts must be positive")
    generation: dict[str, Any] = {
        "mimeType": options.mime_type,
        "aspectRatio": {"widthRatio": str(width), "heightRatio": str(height)},
    }
    if options.seed is not None:
        generation["seed"] = str(options.seed)
    return {
        "modelUri": model_uri,
        "generationOptions": generation,
        "messages": [{"text": prompt}],
    }
