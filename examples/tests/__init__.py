"""The examples' own tests, written only with `bot.testing` as a developer would write them."""
