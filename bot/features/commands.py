"""What the features add to `bot check`: their checks, which the command loops over and names
no feature. (Their own commands are listed by cli.py, their parts of `bot report` by
reports.py, the secrets the logs must never show by secrets.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli.checks.outcome import Outcome
    from bot.features.settings import Settings


@dataclass(frozen=True, slots=True)
class FeatureCheck:
    """A feature's lines in `bot check`. `credentials`: it calls Yandex, so it runs once the
    credentials are known good (skipped, pointing at that check, when they are not); the
    others run beside the database's. `settings_only`: its line says what the settings ask
    for and calls nothing, so it is printed at once, with the configuration's."""

    name: str
    run: Callable[[], Awaitable[list[Outcome]]]
    credentials: bool = True
    settings_only: bool = False


def feature_checks(settings: Settings, environ: Mapping[str, str]) -> list[FeatureCheck]:
    """The checks of the features that are on, in order. `environ`: where TOOLS_FILE's
    secrets are read from (the process's environment)."""
    from bot.wiring.clients import build_auth_from, build_store_client

    checks: list[FeatureCheck] = []
    folder = settings.yandex_folder_id
    if settings.knowledge.backend == "yandex":
        from bot.features.knowledge.checks import check_vector_store

        async def vector_store() -> list[Outcome]:
            return [await check_vector_store(
                settings.knowledge.store_id, folder_id=folder,
                responses_url=settings.responses_url,
                client=lambda: build_store_client(settings, build_auth_from(settings)))]

        checks.append(FeatureCheck("vector store", vector_store))
    if settings.websearch.on and settings.text_api == "responses":
        from bot.features.websearch.checks import check_web_search

        async def web_search() -> list[Outcome]:
            return [check_web_search(settings.websearch)]

        checks.append(FeatureCheck("web search", web_search, credentials=False,
                                   settings_only=True))
    if settings.voice.speech:
        from bot.features.voice.checks import check_recognition

        async def recognition() -> list[Outcome]:
            return [await check_recognition(settings.voice, folder_id=folder,
                                            auth=lambda: build_auth_from(settings))]

        checks.append(FeatureCheck("speech recognition", recognition))
    if settings.voice.replies != "off":
        from bot.features.voice.checks import check_synthesis

        async def synthesis() -> list[Outcome]:
            return [await check_synthesis(settings.voice, folder_id=folder,
                                          auth=lambda: build_auth_from(settings))]

        checks.append(FeatureCheck("speech synthesis", synthesis))
    path = settings.tools.file
    if path is not None:
        from bot.features.tools.checks import check_tools

        checks.append(FeatureCheck("tools", lambda: check_tools(path, environ=environ),
                                   credentials=False))
    return checks
