"""`bot check` for guest mode: whether the bot supports guest queries, as getMe tells it."""

from __future__ import annotations

from bot.plugin.outcome import Outcome, passed


def guest_queries(supported: bool, on: bool) -> Outcome:
    """Guest mode (Bot API 10.0) as getMe tells it: informational, never a failure."""
    name = "guest mode"
    if not on:
        state = "supports" if supported else "does not support"
        return passed(name, f"GUEST_MODE=off: not answered (the bot {state} guest queries)")
    if supported:
        return passed(name, "the bot supports guest queries: it answers when @mentioned in "
                      "chats it is not a member of")
    return passed(name, "the bot does not support guest queries (getMe: "
                  "supports_guest_queries is false); to answer @mentions in chats it is not "
                  "a member of, switch Guest mode on in @BotFather")
