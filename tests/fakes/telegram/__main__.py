"""`python -m tests.fakes.telegram --port 0 [--token T] [--username U] [--no-flood]`: the fake
Telegram served on loopback HTTP; prints `LISTENING http://127.0.0.1:PORT` (see server.py)."""

from tests.fakes.telegram.server import main

main()
