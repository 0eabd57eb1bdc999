"""The fake Yandex Foundation Models service of fmbot's test kit: one implementation of the
wire (completions and their streams, completionAsync and operations, the OpenAI-compatible
and Responses APIs, images, SpeechKit STT and TTS, the tokenizer, embeddings, classifiers,
Files and Vector Stores, built-in tools, IAM) with scripted replies and faults, served two
ways: in process as an httpx transport (`FoundationModelsService.transport()`, what
`BotTester` gives the bot) and, in fmbot's own tests, on loopback HTTP (tests/fakes/yandex,
not in the wheel).

Its core imports nothing of the rest of `bot`: it writes the wire by hand from Yandex's
documentation, so a bug in fmbot's client cannot hide behind the same bug in the fake.
`TestModel` (bot/testing/wire.py) decides its answers for a `BotTester`.
"""
