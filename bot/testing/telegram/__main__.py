"""`python -m bot.testing.telegram --port 0 [--token T] [--username U] [--no-flood]`: the fake
Telegram served on loopback HTTP; prints `LISTENING http://127.0.0.1:PORT` (see server.py)."""

from bot.testing.telegram.server import main

main()
