"""TurnOptions: how the service builds every turn, one value instead of a dozen parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnOptions:
    """`default_model` and `default_system_prompt`: a chat's until it picks its own;
    `reply_reserve`: tokens kept free for the answer (the prompt gets the rest of the
    context); `context_overrides`: model -> context size, over the known ones;
    `include_failed_in_prompt`: failed answers stay in the history the model sees;
    `count_timeout`/`count_threshold`: the tokenizer's wait and the length from which a
    question is counted rather than estimated; `track_delivery` (several replicas): answers
    are stored `delivery_pending` until the front end notes them delivered; `wire`: the
    API the chat model is asked on, for the answers' traces."""

    default_model: str
    default_system_prompt: str
    reply_reserve: int
    max_reply_tokens: int
    temperature: float
    context_overrides: Mapping[str, int] = field(default_factory=dict)
    include_failed_in_prompt: bool = False
    count_timeout: float = 5.0
    count_threshold: int = 64
    track_delivery: bool = False
    wire: str = ""  # how the model is asked (TEXT_API), as answers' traces name it
