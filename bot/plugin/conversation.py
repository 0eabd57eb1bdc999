"""`bot.plugin.conversation`: the conversation core, as a feature takes part in a turn:
`TurnFeature` and the verdicts and openings it answers with, the turn's state (`TurnState`),
what a feature adds to the prompt (`PromptContributor`, `PromptDraft`), the conversation service
and its results (`TurnResult`, `ChatRef`, `Speaker`), and the prompt's helpers (token estimates,
data quoted into a prompt). aiogram-free: a feature's domain code may import it."""

from __future__ import annotations

from bot.conversation import ConversationService
from bot.conversation.contributors import PromptContributor, PromptDraft
from bot.conversation.features import Contributing, Opening, TurnFeature, Verdict
from bot.conversation.listeners import Listeners
from bot.conversation.turn import Question, TurnState, previous_questions
from bot.conversation.types import (
    ChatRef,
    ImageInput,
    Speaker,
    TurnResult,
    language_code,
    relinquished,
)
from bot.prompting import (
    PROMPT_OVERHEAD,
    as_data,
    estimate_tokens,
    exchange_cost,
    model_base_name,
    visible,
)

__all__ = [
    "PROMPT_OVERHEAD",
    "ChatRef",
    "Contributing",
    "ConversationService",
    "ImageInput",
    "Listeners",
    "Opening",
    "PromptContributor",
    "PromptDraft",
    "Question",
    "Speaker",
    "TurnFeature",
    "TurnResult",
    "TurnState",
    "Verdict",
    "as_data",
    "estimate_tokens",
    "exchange_cost",
    "language_code",
    "model_base_name",
    "previous_questions",
    "relinquished",
    "visible",
]
