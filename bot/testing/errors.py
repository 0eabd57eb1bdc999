"""The error a `BotTester` raises when it cannot do what a test asked."""


class BotTesterError(Exception):
    """The tester cannot do what the test asked (no such button, the bot never settled)."""
