"""`bot check` for chat automation: whether accounts may connect the bot, as getMe tells it."""

from __future__ import annotations

from bot.plugin.outcome import Outcome, passed


def business_connections(supported: bool, replies: str) -> Outcome:
    """Chat automation as getMe tells it (`can_connect_to_business`): informational."""
    name = "chat automation"
    if replies == "off":
        state = "may" if supported else "may not"
        return passed(name, f"BUSINESS_REPLIES=off: not answered (the bot {state} be connected "
                      "to accounts)")
    if supported:
        return passed(name, f"the bot may be connected to accounts: it answers their "
                      f"customers (BUSINESS_REPLIES={replies})")
    return passed(name, "the bot may not be connected to accounts (getMe: "
                  "can_connect_to_business is false); to answer customers of accounts that "
                  "connect it, switch Business mode on in @BotFather (Bot Settings)")
