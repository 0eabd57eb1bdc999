"""The simulated customer: a model that plays the case's persona, writes one message a turn,
and says when its goal is met or when it gives up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.features.evaluation.cases import Case
from bot.features.evaluation.transcript import Transcript
from bot.plugin.models import ChatMessage, CompletionOptions, FoundationModelsClient, Role

GOAL_MET = "[GOAL MET]"
GIVE_UP = "[GIVE UP]"
PRESS = re.compile(r"\[\s*press\s*:\s*([^\]]+?)\s*\]", re.IGNORECASE)

Ending = Literal["goal_met", "gave_up"]


@dataclass(frozen=True, slots=True)
class CustomerTurn:
    """What the customer writes next (without the marker), and whether they are done."""

    text: str
    done: Ending | None
    tokens: int
    press: str | None = None  # the text of the inline button the customer presses


def instructions(case: Case) -> str:
    facts = "\n".join(f"- {fact}" for fact in case.facts) or "- (nothing in particular)"
    return (
        "You play a customer writing to a company's support chat bot, to test the bot. Stay in "
        "the role: never say you are an AI, a test or a simulation.\n\n"
        f"Who you are (persona, tone, language): {case.persona}\n"
        f"Your goal: {case.goal}\n"
        f"What you know:\n{facts}\n\n"
        "Write only your next message to the bot: short, as a real person types in a chat, "
        "in your persona's language. Give a fact only when it helps or the bot asks for it.\n"
        "When the bot shows buttons (written as [buttons: A | B]) and you want one, write "
        "[press: <the button's text>], alone or after your message.\n"
        f"When your goal is met, write a short last message ending with {GOAL_MET}. "
        f"If the bot cannot help you and you would leave, end your message with {GIVE_UP}."
    )


def messages_for(case: Case, transcript: Transcript) -> list[ChatMessage]:
    """The conversation from the customer's side: the bot's lines are the user's."""
    messages = [ChatMessage(role=Role.SYSTEM, text=instructions(case))]
    turns = [line for line in transcript.lines if line.speaker != "tool"]
    if not turns:
        messages.append(ChatMessage(role=Role.USER, text="(The chat is open. Write your first "
                                                      "message to the bot.)"))
    for line in turns:
        role = Role.ASSISTANT if line.speaker == "customer" else Role.USER
        messages.append(ChatMessage(role=role, text=line.text))
    return messages


def parse_turn(text: str, tokens: int) -> CustomerTurn:
    """The customer's answer, its end marker and its button press taken off."""
    done: Ending | None = None
    cleaned = text.strip()
    pressed = PRESS.search(cleaned)
    press = pressed.group(1).strip() if pressed else None
    cleaned = PRESS.sub("", cleaned).strip()
    endings: tuple[tuple[str, Ending], ...] = ((GOAL_MET, "goal_met"), (GIVE_UP, "gave_up"))
    for marker, ending in endings:
        if marker.casefold() in cleaned.casefold():
            at = cleaned.casefold().find(marker.casefold())
            cleaned = (cleaned[:at] + cleaned[at + len(marker):]).strip()
            done = done or ending
    return CustomerTurn(cleaned, done, tokens, press or None)


class Customer:
    """Asks the customer model for each next message."""

    def __init__(self, client: FoundationModelsClient, model: str) -> None:
        self.client = client
        self.model = model

    async def next(self, case: Case, transcript: Transcript) -> CustomerTurn:
        completion = await self.client.complete(
            messages_for(case, transcript), model=self.model,
            options=CompletionOptions(temperature=0.7, max_tokens=400),
        )
        return parse_turn(completion.text, completion.usage.total_tokens)
