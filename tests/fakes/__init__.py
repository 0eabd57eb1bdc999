"""The test infrastructure's HTTP fakes: the kit's fake Telegram and fake Foundation Models
service served on loopback HTTP, with their ``/_control`` test APIs, for the tests and
benchmarks that run fmbot as a process (tests/e2e, bench/) and for manual runs.

They are not in the wheel: fmbot's test kit (`bot.testing`) ships the in-memory side a
developer's tests run on (`FakeTelegram`, `FoundationModelsService.transport()`); these wrap
the same state in aiohttp servers. Run them from the repository's root:

    python -m tests.fakes.telegram --port 0 --token T
    python -m tests.fakes.yandex.server --port 0 --api-key K --folder F

Like the kit's fakes, they import nothing of `bot` but the state they serve
(`bot.testing.telegram`, `bot.testing.yandex`) and nothing of `tests` outside this package
(tests/architecture/test_fakes.py).
"""
