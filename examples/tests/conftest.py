"""The examples' tests run on `bot.testing` alone (the `bot_tester` fixture comes from fmbot's
pytest plugin); which App each test file runs is its own `fmbot_app` fixture."""
