"""What the model is told in a connected account's chat: whom it writes to and as whom."""

from __future__ import annotations

from bot.features.business.store import CHAT_TYPE
from bot.plugin.conversation import PromptDraft, TurnState

NOTE = (
    "You are answering messages in a private chat between a customer{customer} and a "
    "business account, on the account owner's behalf: your messages appear to the customer "
    "as the owner's. Some earlier assistant messages were written by the owner personally; "
    "stay consistent with them. Do not promise what only the owner can decide (prices, "
    "refunds, appointments) unless your sources or tools say so."
)


class OnBehalf:
    """A prompt contributor: the note above, in connected accounts' chats only."""

    name = "business"
    required = False

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        if turn.chat.type != CHAT_TYPE:
            return
        customer = f" ({turn.chat.title})" if turn.chat.title else ""
        draft.add(self.name, NOTE.format(customer=customer))
