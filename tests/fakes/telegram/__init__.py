"""The fake Telegram over loopback HTTP: the kit's Bot API state (`FakeBotApi`,
bot/testing/telegram/users.py) behind aiohttp (`TelegramServer`, server.py), with the
``/_control`` test API of control.py. As a process: ``python -m tests.fakes.telegram --port 0``
prints ``LISTENING http://127.0.0.1:PORT``."""
