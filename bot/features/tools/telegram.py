"""The tools feature's part on the Telegram front (bot/telegram/featureparts.py): the running
calls named and the confirmation cards in an answer (cards.py), the presses on them and the
sweep of expired ones (presses.py), and /toolcalls (toolcalls.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.features.tools import toolcalls
from bot.features.tools.cards import ToolCards
from bot.features.tools.presses import ToolExpiry, ToolPresses
from bot.plugin.telegram import BotService, FrontParts, TelegramFeature, TelegramPart

if TYPE_CHECKING:
    from bot.features.tools.loop import ToolLoop
    from bot.plugin.conversation import Listeners
    from bot.plugin.telegram import Deps


def tools_on_telegram(
    loop: ToolLoop | None, superseded: Listeners[[int, list[int]]] | None = None
) -> TelegramFeature:
    """`loop`: the tool loop (None: no tools; /toolcalls still answers and a press on an old
    card is only acknowledged). `superseded`: where the loop tells which cards a new message
    took the buttons off (their buttons go in Telegram)."""

    def build(front: FrontParts) -> TelegramPart:
        cards = ToolCards(front.outbox, loop)
        if superseded is not None:
            superseded.subscribe(cards.superseded)

        def expiry(deps: Deps) -> Sequence[BotService]:
            return [ToolExpiry(deps, loop)] if loop is not None else []

        return TelegramPart(
            early=[toolcalls.build_router()],
            late=[ToolPresses(loop).build_router()],
            calls=cards,
            services=[cards],
            services_on=expiry,
        )

    return build
