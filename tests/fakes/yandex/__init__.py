"""The fake Foundation Models service over loopback HTTP: the kit's `FoundationModelsService`
(bot/testing/yandex/service.py) behind aiohttp (`FakeFoundationModels`, server.py). As a
process: ``python -m tests.fakes.yandex.server --port 0`` prints
``LISTENING http://127.0.0.1:PORT``."""
