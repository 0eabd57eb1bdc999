"""What the model adds to a handoff: the card's short summary, and (HANDOFF_CLASSIFIER=on) a
few-shot classification of a message as a request for a person or a complaint.

Both are best effort: a failure is logged and the handoff goes on without them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.features.desk.storage.models import HandoffReason
from bot.plugin.models import (
    ChatMessage,
    ChatModel,
    CompletionOptions,
    FoundationModelsError,
    Prediction,
    Role,
)

log = logging.getLogger(__name__)

SUMMARY_PROMPT = (
    "You prepare a support operator who takes over a chat from a bot. In 2-4 short lines, in "
    "the user's language, say what the user needs, what they already tried and what the bot "
    "answered. No greeting, no advice to the operator."
)

# fewShotTextClassification takes 2-20 meaningful labels (yandex-cloud docs, classifier).
LABELS = ("request_for_person", "complaint", "question")
TASK = (
    "Classify a message a customer wrote to a support chatbot: does the customer ask to talk "
    "to a human, complain, or ask a question?"
)
SAMPLES: tuple[tuple[str, str], ...] = (
    ("соедините меня с оператором", "request_for_person"),
    ("I want to talk to a real person", "request_for_person"),
    ("позовите кого-нибудь из поддержки", "request_for_person"),
    ("это уже третий раз, ваш сервис ужасен, верните деньги", "complaint"),
    ("Your app charged me twice and nobody cares", "complaint"),
    ("как поменять пароль?", "question"),
    ("What are your opening hours?", "question"),
    ("сколько стоит доставка в Казань", "question"),
)
THRESHOLD = 0.7  # act only above Rasa's default fallback threshold (support-deployments §4.4)

Classify = Callable[..., Awaitable[list[Prediction]]]


async def summarize(model: ChatModel, model_name: str, dialogue: Sequence[tuple[str, str]]) -> str:
    """A few lines about the conversation; "" when the model cannot help right now."""
    if not dialogue:
        return ""
    transcript = "\n".join(f"{role}: {text[:1500]}" for role, text in dialogue)
    messages = [
        ChatMessage(Role.SYSTEM, SUMMARY_PROMPT),
        ChatMessage(Role.USER, transcript),
    ]
    try:
        completion = await model.complete(
            messages, model=model_name, options=CompletionOptions(temperature=0.1, max_tokens=300)
        )
    except FoundationModelsError as exc:
        log.warning("handoff summary failed: %s", exc)
        return ""
    return completion.text.strip()


async def classify_handoff(
    classify: Classify, text: str, wait: float = 3.0
) -> HandoffReason | None:
    """A message the classifier is sure asks for a person or complains; None otherwise."""
    try:
        # The message waits for the verdict: a slow or throttled classifier (1 request a second
        # by default) must not hold the answer up for long.
        async with asyncio.timeout(wait):
            predictions = await classify(
                text, labels=LABELS, task_description=TASK, samples=SAMPLES
            )
    except (FoundationModelsError, TimeoutError) as exc:
        log.warning("handoff classifier failed: %r", exc)
        return None
    best = max(predictions, key=lambda p: p.confidence, default=None)
    if best is None or best.confidence < THRESHOLD:
        return None
    if best.label == "request_for_person":
        return HandoffReason.CLASSIFIER
    if best.label == "complaint":
        return HandoffReason.COMPLAINT
    return None
