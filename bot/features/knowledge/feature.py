"""The knowledge base as one `Feature`: loaded (and in `run`, synced in the background, the
Vector Store too with KB_BACKEND=yandex) on the core, searched in every turn, /kb on
Telegram, `fmbot kb`, the Vector Store's check, its settings' checks and its tables."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.features.knowledge.settings import KnowledgeSettings
from bot.plugin.config import ConfigError, raise_all
from bot.plugin.feature import TURN_COMMANDS, Feature, FeatureCheck, ModelUse, SettingsCheck

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.features.knowledge.base import KnowledgeBase
    from bot.plugin.commands import Command, CommandContext
    from bot.plugin.context import FeatureContext
    from bot.plugin.conversation import ChatRef, Speaker
    from bot.plugin.ground import Groundwork
    from bot.plugin.offers import StoreFilter
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings


def _store_on(settings: Settings) -> bool:
    """The knowledge base is kept by Yandex (KB_BACKEND=yandex, the knowledge base on)."""
    kb = settings.section(KnowledgeSettings)
    return kb.on and kb.backend == "yandex"


async def _last_store(session: AsyncSession) -> str | None:
    from bot.features.knowledge.store_records import KbStoreRepository

    return await KbStoreRepository(session).last_store()


async def _store_paths(session: AsyncSession, store_id: str) -> dict[str, str]:
    from bot.features.knowledge.store_records import KbStoreRepository

    return await KbStoreRepository(session).paths(store_id)


def _store_filter(group_chats: Mapping[int, str]) -> StoreFilter:
    async def store_filter(session: AsyncSession, store_id: str, speaker: Speaker,
                           chat: ChatRef) -> dict[str, Any] | None:
        from bot.features.knowledge import access
        from bot.features.knowledge.store_records import KbStoreRepository

        sets = await KbStoreRepository(session).access_sets(store_id)
        return access.store_filter(sets, access.readers(speaker, chat, group_chats))

    return store_filter


async def _build(ctx: FeatureContext, ground: Groundwork) -> KnowledgeBase | None:
    from bot.features.knowledge.build import start_knowledge, start_store_sync
    from bot.plugin.models import Embedder
    from bot.plugin.offers import KnowledgeLookup, NotFoundNextStep, StoreFiles

    settings, built = ground.settings, ctx.built
    if _store_on(settings):  # file search cites the store's files (web search's feature)
        kb = settings.section(KnowledgeSettings)
        ctx.offer(StoreFiles(_last_store, _store_paths, store_id=kb.store_id,
                                          top_k=kb.top_k, strict=kb.mode == "strict",
                                          access_filter=_store_filter(kb.group_chats)))
    # A "not found" answer names whom to contact (KB_NOT_FOUND_CONTACT), unless the support
    # desk's "Ask a person" button is the next step.
    # The desk's own section is not imported here: its variable is read by name.
    kb = settings.section(KnowledgeSettings)
    if kb.not_found_contact and not settings.value("SUPPORT_CHAT_ID"):
        ctx.offer(NotFoundNextStep(kb.not_found_contact))
    embedder = built.need(Embedder, by="knowledge")  # the bot's one (EMBEDDING_*)
    knowledge = await start_knowledge(kb, ground.db, embedder, ground.stack,
                                      background=ground.background)
    # The Vector Store (file search on the Responses wire) is synced as the local index is.
    if ground.background and _store_on(settings) and settings.text_api == "responses":
        from bot.plugin.clients import build_store_client

        store = build_store_client(settings, ground.auth)
        await start_store_sync(kb, ground.db, store, ground.stack)
    if knowledge is None:
        return None
    # Imported only when on: it brings numpy.
    from bot.features.knowledge.turn import KnowledgeFeature

    async def best_score(text: str, kind: str) -> float:
        return (await knowledge.search(text, 1, kind=kind)).best_score

    async def passages(text: str) -> list[tuple[str, float]]:
        found = await knowledge.for_question(text, ())
        return [(hit.path, hit.score) for hit in found.hits[:3]]

    ctx.offer(knowledge)
    ctx.offer(KnowledgeLookup(best_score, passages, knowledge.retriever.min_score))
    ctx.turn(KnowledgeFeature(knowledge, kb.group_chats))
    return knowledge


async def _ready(ground: Groundwork, knowledge: KnowledgeBase | None) -> None:
    """In process: the base synced before the first question, not beside it; the Vector
    Store once, as `run` does at start."""
    if knowledge is not None:
        await knowledge.sync()
    settings = ground.settings
    if not _store_on(settings):
        return
    from bot.features.knowledge.build import build_store_sync
    from bot.plugin.clients import build_store_client

    client = build_store_client(settings, ground.auth, ground.http)
    ground.stack.push_async_callback(client.aclose)
    await build_store_sync(settings.section(KnowledgeSettings), ground.db, client).sync()


def _commands() -> list[Command[CommandContext]]:
    from bot.features.knowledge.cli import command

    return [command]


def _checks(settings: Settings) -> list[FeatureCheck]:
    checks = []
    folders = list(settings.section(KnowledgeSettings).paths)
    if folders:
        async def readable() -> list[Outcome]:
            from bot.features.knowledge.checks import check_knowledge_base

            return [check_knowledge_base(folders)]

        checks.append(FeatureCheck("knowledge base", readable, credentials=False, local=True))
    if settings.section(KnowledgeSettings).backend != "yandex":
        return checks

    async def vector_store() -> list[Outcome]:
        from bot.features.knowledge.checks import check_vector_store
        from bot.plugin.clients import build_auth_from, build_store_client

        return [await check_vector_store(
            settings.section(KnowledgeSettings).store_id, folder_id=settings.yandex_folder_id,
            responses_url=settings.responses_url,
            client=lambda: build_store_client(settings, build_auth_from(settings)))]

    return [FeatureCheck("vector store", vector_store), *checks]


def _documents_present(settings: Settings) -> None:
    """An empty KB_PATH folder (no file the base can read): with KB_MODE=strict every customer
    would be told "not found", so `run` and `eval` stop as `fmbot check` fails; in assist mode
    the bot answers without it, and says so at WARNING (docs/knowledge-base.md)."""
    kb = settings.section(KnowledgeSettings)
    if not kb.on or kb.backend == "yandex":
        return
    from bot.plugin.reading import SUFFIXES

    empty = [folder for folder in kb.paths
             if folder.expanduser().is_dir() and not any(
                 item.suffix.lower() in SUFFIXES and item.is_file()
                 for item in folder.expanduser().rglob("*"))]
    if not empty:
        return
    names = ", ".join(str(folder) for folder in empty)
    if kb.mode == "strict":
        raise ConfigError(
            f"KB_PATH: {names} holds no document the knowledge base can read ({_KINDS}): with "
            "KB_MODE=strict every customer would be told the answer is not found; add the "
            "documents, or set KB_MODE=assist to start without them")
    logging.getLogger(__name__).warning(
        "KB_PATH: %s holds no document the knowledge base can read (%s): the bot answers "
        "without it until documents are added", names, _KINDS)


_KINDS = "Markdown, text, HTML, PDF, Word, ..."


async def lifespan(ctx: FeatureContext) -> None:
    """The knowledge base: its settings checked, its checks and the embedding models; on the
    core, the base (and the Vector Store's sync) and its part in every turn; on Telegram,
    /kb."""
    settings = ctx.settings
    # `kb` commands need KB_PATH, whatever KB_MODE says.
    ctx.settings_check(SettingsCheck(
        frozenset({"kb"}), lambda settings: settings.section(KnowledgeSettings).check_path()))
    ctx.settings_check(SettingsCheck(
        frozenset({"run", "eval", "kb"}),
        lambda settings: settings.section(KnowledgeSettings).check()))
    ctx.settings_check(SettingsCheck(frozenset({"run", "eval"}), _documents_present))
    # KB_BACKEND=yandex is a tool of the Responses API.
    ctx.settings_check(SettingsCheck(TURN_COMMANDS, lambda settings: raise_all(
        settings.section(KnowledgeSettings).backend_problems(settings.text_api))))
    for check in _checks(settings):
        ctx.check(check)
    # The embedding models are the core's settings; the knowledge base is what calls them.
    if ctx.section(KnowledgeSettings).paths:
        ctx.model(ModelUse("EMBEDDING_DOC_MODEL", settings.embedding_doc_model, "embedding"))
        ctx.model(ModelUse("EMBEDDING_QUERY_MODEL", settings.embedding_query_model,
                           "embedding"))
    ground = await ctx.core()
    knowledge = await _build(ctx, ground)
    ctx.on_ready(lambda: _ready(ground, knowledge))
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.knowledge.telegram import knowledge_on_telegram

    ctx.on_front(knowledge_on_telegram(front.parts, knowledge))


FEATURE = Feature(
    name="knowledge",
    settings=KnowledgeSettings,
    tables=("bot.features.knowledge.models",),
    texts=("bot.features.knowledge.texts",),
    commands=_commands,
    lifespan=lifespan,
)
