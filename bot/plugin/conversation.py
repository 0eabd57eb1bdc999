"""`bot.plugin.conversation`: the conversation core, as a feature takes part in a turn:
`TurnFeature` and the verdicts and openings it answers with, the turn's state (`TurnState`),
what a feature adds to the prompt (`PromptContributor`, `PromptDraft`), the conversation service
and its results (`TurnResult`, `ChatRef`, `Speaker`, its `Employee`), the employees signed in
without the company's provider (`SignedIn`: simulated customers, test users). aiogram-free: a
feature's domain code may import it."""

from __future__ import annotations

from bot.conversation import ConversationService
from bot.conversation.contributors import PromptContributor, PromptDraft
from bot.conversation.features import Contributing, Opening, TurnFeature, Verdict
from bot.conversation.listeners import Listeners
from bot.conversation.trace import Trace
from bot.conversation.tracing import add_to_trace, newest_answer
from bot.conversation.turn import Question, TurnState, previous_questions
from bot.conversation.types import (
    ChatRef,
    Employee,
    ImageInput,
    SignedIn,
    Speaker,
    TurnResult,
    language_code,
    relinquished,
)

__all__ = [
    "ChatRef",
    "Contributing",
    "ConversationService",
    "Employee",
    "ImageInput",
    "Listeners",
    "Opening",
    "PromptContributor",
    "PromptDraft",
    "Question",
    "SignedIn",
    "Speaker",
    "Trace",
    "TurnFeature",
    "TurnResult",
    "TurnState",
    "Verdict",
    "add_to_trace",
    "language_code",
    "newest_answer",
    "previous_questions",
    "relinquished",
]
