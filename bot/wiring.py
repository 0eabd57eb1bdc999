"""The composition root: Settings -> objects, for `fmbot run` and `fmbot chat`.

With cli.py and clients.py (the model clients), the only reader of Settings; what it builds
receives plain values. Resources are closed in reverse order of creation, whatever happens.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.clients import (
    build_auth_from,
    build_chat_model,
    build_client,
    build_speech,
    build_vision_model,
)
from bot.config import ConfigError, Settings
from bot.conversation import ConversationService
from bot.conversation.tool_turns import ToolLoopSettings
from bot.conversation.tools_loop import ToolLoop
from bot.conversation.vision import Vision
from bot.desk import DeskService, HoursFormatError, SupportHours
from bot.foundation_models.auth import Auth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatModel, PollPolicy
from bot.images import ImageService
from bot.knowledge import KbMode
from bot.plurals import quantity
from bot.storage.database import Database, migrate
from bot.tools import Toolbox, ToolsFileError, ToolSource, load_toolbox, start_toolbox
from bot.tools.signing import RequestSigner, SigningKeyError

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.app import App
    from bot.insights import InsightJobs
    from bot.insights.faq import FaqDrafts
    from bot.insights.gaps import GapAnalysis
    from bot.knowledge.base import KnowledgeBase
    from bot.operations import Shared
    from bot.storage.repositories.toolcalls import ToolStats
    from bot.telegram.chatdocs import DocumentSupport
    from bot.telegram.desk import SupportDesk
    from bot.telegram.media import MediaSupport
    from bot.telegram.outbox import Outbox

log = logging.getLogger("bot")


@dataclass(slots=True)
class Core:
    """What both front ends (Telegram, terminal) share."""

    db: Database
    client: FoundationModelsClient
    chat_model: ChatModel
    conversation: ConversationService
    images: ImageService
    knowledge: KnowledgeBase | None = None
    toolbox: Toolbox | None = None
    auth: Auth | None = None  # photos and voice notes (issue 28): SpeechKit's credentials


@asynccontextmanager
async def core(
    settings: Settings,
    system_prompt: str,
    *,
    kb_background: bool = False,
    app: App | None = None,
) -> AsyncIterator[Core]:
    """Migrate the database (refusing a newer schema), then build the shared services;
    `kb_background` syncs the knowledge base at start and every KB_SYNC_INTERVAL. `app`'s
    tools, context providers and hooks join every turn."""
    # A bad TOOLS_FILE stops here, before anything starts; the App's own tools join it.
    toolbox = build_toolbox(settings, app.tool_sources if app is not None else ())
    await migrate(settings.database_url, extra=app.migration_folders() if app is not None else ())
    async with AsyncExitStack() as stack:
        stack.push_async_callback(toolbox.close)
        await start_toolbox_of(toolbox)
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        auth = build_auth_from(settings)
        client = build_client(settings, auth)
        stack.push_async_callback(client.aclose)
        chat_model = build_chat_model(settings, client, auth, stack)
        extras = app.runner(settings.extension_timeout) if app is not None else None
        if extras is not None:
            stack.push_async_callback(extras.aclose)  # hooks still running get a grace period
        knowledge = build_knowledge(settings, db, client)
        if knowledge is not None:
            await knowledge.load()
            if kb_background:
                from bot.knowledge.background import BackgroundSync

                syncer = BackgroundSync(knowledge, interval=settings.kb_sync_interval)
                syncer.start()
                stack.push_async_callback(syncer.stop)
        conversation = ConversationService(
            sessionmaker=db.sessionmaker,
            model=chat_model,
            default_model=settings.text_model,
            default_system_prompt=system_prompt,
            reply_reserve=settings.max_reply_tokens,
            max_reply_tokens=settings.max_reply_tokens,
            temperature=settings.temperature,
            context_overrides=settings.model_context_sizes,
            knowledge=knowledge,
            extras=extras,
            # Without TOOLS_FILE (or the App's tools) the toolbox is empty: no tools, every
            # turn as before.
            tools=build_tool_loop(settings, db, chat_model, toolbox),
            # Without a desk a "not found" answer names the deployment's next step (issue 27);
            # with one, its "Ask a person" button is the next step.
            not_found_next_step="" if settings.support_chat_id else settings.kb_not_found_contact,
            vision=build_vision(settings, chat_model, auth, stack),
        )
        images = ImageService(
            sessionmaker=db.sessionmaker,
            model=client,
            image_model=settings.image_model,
            policy=PollPolicy(),
        )
        yield Core(db, client, chat_model, conversation, images, knowledge, toolbox, auth)


def tool_environment(env_file: Path = Path(".env")) -> dict[str, str]:
    """Where TOOLS_FILE's `${VAR}` come from: the environment, over `.env` (as for Settings)."""
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    values.update(os.environ)
    return values


def build_toolbox(settings: Settings, extra_sources: Sequence[ToolSource] = ()) -> Toolbox:
    """TOOLS_FILE's HTTP actions and MCP servers (not yet connected), and `extra_sources`
    (Python function tools); a bad file is one ConfigError line."""
    secret = settings.tools_signing_secret
    try:
        signer = None
        if secret is not None:
            signer = RequestSigner.with_secret(secret.get_secret_value(),
                                               settings.tools_signing_key_id)
        elif settings.tools_signing_key is not None:
            signer = RequestSigner.with_key_file(settings.tools_signing_key,
                                                 settings.tools_signing_key_id)
        toolbox = load_toolbox(
            settings.tools_file,
            environ=tool_environment(),
            signer=signer,
            extra_sources=extra_sources,
        )
        toolbox.observer = _tool_metrics
        return toolbox
    except (ToolsFileError, SigningKeyError) as exc:
        raise ConfigError(str(exc)) from None


def _tool_metrics(name: str, outcome: str, seconds: float) -> None:
    from bot.metrics import registry as metrics

    metrics.tool_call(name, outcome, seconds)


async def start_toolbox_of(toolbox: Toolbox) -> None:
    """Connect the MCP servers (one unreachable is retried in the background)."""
    try:
        await start_toolbox(toolbox)
    except ToolsFileError as exc:
        raise ConfigError(str(exc)) from None


def build_tool_loop(
    settings: Settings, db: Database, chat_model: ChatModel, toolbox: Toolbox
) -> ToolLoop:
    """The tool loop (TOOLS_* settings); models not in TOOLS_MODELS answer without tools."""
    return ToolLoop(
        toolbox=toolbox,
        settings=ToolLoopSettings(
            max_rounds=settings.tools_max_rounds,
            confirm_ttl=settings.tools_confirm_ttl,
            result_chars=settings.tools_result_chars,
            parallel=settings.tools_parallel,
            models=frozenset(settings.tools_models),
            admins=frozenset(settings.admin_user_ids),
            daily_tokens=settings.daily_token_limit,
            calls_per_user_hour=settings.tools_calls_per_user_hour,
            writes_per_user_day=settings.tools_writes_per_user_day,
        ),
        sessionmaker=db.sessionmaker,
        model=chat_model,
    )


def build_vision(
    settings: Settings, chat_model: ChatModel, auth: Auth, stack: AsyncExitStack
) -> Vision | None:
    """Photos (issue 28): the vision model; images are fetched again once Telegram is up."""
    model = build_vision_model(settings, chat_model, auth, stack)
    return Vision(model, settings.vision_model) if model is not None else None


def build_media(
    settings: Settings, c: Core, bot: Bot, stack: AsyncExitStack
) -> MediaSupport:
    """Photos and voice notes (issue 28): downloads from Telegram, the vision model's image
    source, SpeechKit."""
    from bot.telegram.downloads import TelegramFiles
    from bot.telegram.media import MediaSupport
    from bot.telegram.media.photos import PhotoPreparer
    from bot.telegram.media.voice import VoiceNotes

    files = TelegramFiles(bot, timeout=settings.media_download_timeout)
    media = MediaSupport(max_image_mb=settings.max_image_mb)
    vision = c.conversation.vision
    if vision is not None:
        media.photos = PhotoPreparer(files, max_bytes=int(settings.max_image_mb * 1024 * 1024))
        c.conversation.vision = dataclasses.replace(vision, fetch=media.photos.fetch)
    assert c.auth is not None
    recognizer = build_speech(settings, c.auth, stack)
    if recognizer is not None:
        media.voice = VoiceNotes(files, recognizer)
    return media


def build_documents(settings: Settings, c: Core, bot: Bot) -> DocumentSupport:
    """Documents sent in chat (issue 28): downloads from Telegram, kept per conversation."""
    from bot.conversation.documents import ChatDocuments
    from bot.telegram.chatdocs import DocumentSupport
    from bot.telegram.downloads import TelegramFiles

    c.conversation.documents = ChatDocuments(c.db.sessionmaker)
    files = TelegramFiles(bot, timeout=settings.media_download_timeout)
    return DocumentSupport(files, max_mb=settings.max_document_mb)


def build_knowledge(
    settings: Settings, db: Database, client: FoundationModelsClient
) -> KnowledgeBase | None:
    """The knowledge base of KB_PATH, or None when KB_MODE is off (numpy is not even loaded)."""
    mode = KbMode(settings.kb_effective_mode)
    if mode is KbMode.OFF:
        return None
    from bot.knowledge.base import KnowledgeBase
    from bot.knowledge.embedder import Embedder

    embedder = Embedder(
        client,
        doc_model=settings.embedding_doc_model,
        query_model=settings.embedding_query_model,
        rps=settings.embedding_rps,
    )
    return KnowledgeBase(
        sessionmaker=db.sessionmaker,
        embedder=embedder,
        roots=settings.kb_path,
        mode=mode,
        top_k=settings.kb_top_k,
        min_score=settings.kb_min_score,
        read_sessionmaker=db.read_sessionmaker,
        search_sessionmaker=db.search_sessionmaker,
        removal_limit=settings.kb_removal_limit,
    )


async def run_bot(settings: Settings, system_prompt: str, *, app: App | None = None) -> None:
    from bot.operations import coordination, limited, operations
    from bot.telegram.app import TelegramApp, TokenRejectedError, make_bot
    from bot.telegram.deps import BotOptions

    assert settings.telegram_bot_token is not None  # check_telegram() ran
    extensions = app
    async with (
        core(settings, system_prompt, kb_background=True, app=extensions) as c,
        AsyncExitStack() as stack,
    ):
        bot = make_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url)
        shared = await stack.enter_async_context(coordination(settings, bot))
        outbox, desk = build_desk(settings, c, bot, shared)
        if desk is not None and c.conversation.extras is not None:
            desk.on_handoff = c.conversation.extras.handed_over
        telegram = TelegramApp(
            bot=bot,
            sessionmaker=c.db.sessionmaker,
            conversation=c.conversation,
            images=c.images,
            options=BotOptions(
                text_models=tuple(settings.text_models),
                default_system_prompt=system_prompt,
                daily_token_limit=settings.daily_token_limit,
                daily_image_limit=settings.daily_image_limit,
                retention_days=settings.retention_days,
                data_logging=settings.yandex_data_logging,
                queue_max_age=settings.queue_max_age,
                queue_stale_action=settings.queue_stale_action,
            ),
            allowed_users=settings.allowed_user_ids,
            allowed_chats=settings.allowed_chat_ids,
            admins=settings.admin_user_ids,
            rate_limit_per_minute=settings.rate_limit_per_minute,
            knowledge=c.knowledge,
            outbox=outbox,
            desk=desk,
            members_of=settings.allowed_chat_members_of,
            # 👍/👎 under every answer in KB_MODE=strict, with or without a desk (README).
            feedback_buttons=settings.kb_effective_mode == "strict",
            media=build_media(settings, c, bot, stack),
            # The developer's and plugins' routers and menu commands (issue 25).
            routers=extensions.routers if extensions is not None else (),
            commands=extensions.commands if extensions is not None else (),
        )
        telegram.deps.documents = build_documents(settings, c, bot)
        # Redis coordination, metrics and health endpoints, telemetry hooks (issue 18).
        models = limited(c.client, c.chat_model)
        ops = await stack.enter_async_context(
            operations(settings, c.db, bot, telegram, models, shared)
        )
        # Everything built so far (modules, settings, the app) lives as long as the process:
        # keep it out of the collector's scans. GC CPU over bench_load --users 50 fell from
        # 0.34 to 0.23 s (2.2 to 1.5 ms per turn) and the tracked heap from 212k to 33k objects.
        gc.freeze()
        # A collection every 20,000 new container objects instead of 700: a turn allocates
        # thousands of short-lived ones (parsed lines, requests, rows), most already freed by
        # then, so the collector runs and scans far less. bench_load --users 100: 26.4 ->
        # 24.4 ms CPU per turn, peak RSS 137 -> 139 MB.
        gc.set_threshold(20_000, 20, 20)
        if extensions is not None:
            await lifecycle(extensions, "on_startup", settings.extension_timeout)
            stack.push_async_callback(
                lifecycle, extensions, "on_shutdown", settings.extension_timeout
            )
        try:
            if settings.telegram_mode == "webhook":
                assert settings.telegram_webhook_secret is not None
                host, port = settings.webhook_host_port
                await telegram.run_webhook(
                    url=settings.telegram_webhook_url,
                    secret=settings.telegram_webhook_secret.get_secret_value(),
                    host=host,
                    port=port,
                )
            else:
                await ops.run_polling(telegram)
        except TokenRejectedError as exc:
            raise ConfigError(f"TELEGRAM_BOT_TOKEN was rejected by Telegram ({exc})") from None


async def lifecycle(app: App, kind: str, limit: float) -> None:
    """The App's on_startup or on_shutdown hooks (a failing one is logged, never fatal)."""
    from bot.extensions.runner import run_lifecycle

    hooks = app.startup_hooks if kind == "on_startup" else app.shutdown_hooks
    await run_lifecycle(kind, hooks, limit)


def support_hours(settings: Settings) -> SupportHours:
    try:
        return SupportHours.parse(settings.support_hours, settings.support_timezone)
    except HoursFormatError as exc:
        raise ConfigError(str(exc)) from None


def build_desk(
    settings: Settings, c: Core, bot: Bot, shared: Shared | None = None
) -> tuple[Outbox, SupportDesk | None]:
    """The outbound scheduler (its pacing from TELEGRAM_*, its budgets shared with the other
    replicas when `shared`), and the support desk when SUPPORT_CHAT_ID is set."""
    from bot.operations import outbox_budgets
    from bot.telegram.desk import DeskOptions, SupportDesk
    from bot.telegram.outbox import Outbox

    outbox = Outbox(
        bot,
        global_burst=settings.telegram_message_burst,
        draft_interval=settings.telegram_draft_interval,
        draft_recovery=settings.telegram_draft_recovery,
        final_preview=settings.telegram_final_preview,
        frame_grace=settings.telegram_frame_grace,
        **outbox_budgets(settings, shared),
    )
    if not settings.support_chat_id:
        return outbox, None
    options = DeskOptions(
        support_chat_id=settings.support_chat_id,
        hours=support_hours(settings),
        csat=settings.csat == "on",
        # 👍/👎 under every answer in KB_MODE=strict deployments (KB_MODE: issue 16).
        feedback_buttons=settings.kb_effective_mode == "strict",
        summary_model=settings.text_model,
        retention_days=settings.retention_days,
        admins=tuple(settings.admin_user_ids),
    )
    service = DeskService(
        c.db.sessionmaker, support_chat_id=settings.support_chat_id, shared=shared is not None
    )
    classify = c.client.classify_few_shot if settings.handoff_classifier == "on" else None
    coordinator = shared.coordinator if shared is not None else None
    insights = build_insights(settings, c)
    desk = SupportDesk(
        service, outbox, options, model=c.chat_model, classify=classify, coordinator=coordinator,
        insights=insights, faq=build_faq(settings, c, insights),
        # numpy loads only with a knowledge base (DESIGN.md): without one, `insights gaps`.
        gaps=build_gaps(settings, c, insights) if insights and c.knowledge else None,
        gaps_every=settings.insights_interval,
    )  # fmt: skip
    if c.conversation.tools is not None:  # tools see the conversation's desk state
        c.conversation.tools.desk_state = desk_state_of(service)
    return outbox, desk


def desk_state_of(service: DeskService) -> Callable[[int], Awaitable[str | None]]:
    """ToolContext.desk_state: the state of the user's newest support conversation."""

    async def desk_state(user_id: int) -> str | None:
        case = await service.latest_case(user_id)
        return None if case is None else case.status.value

    return desk_state


def build_faq(settings: Settings, c: Core, insights: InsightJobs | None) -> FaqDrafts | None:
    """FAQ drafts (issue 26) with DESK_INSIGHTS and a knowledge base to write them into."""
    if insights is None or c.knowledge is None or not settings.kb_path:
        return None
    from bot.insights.faq import FaqDrafts

    knowledge = c.knowledge

    async def similar(text: str) -> float:
        return (await knowledge.search(text, 1, kind="draft")).best_score

    async def embed(text: str) -> Any:
        return (await knowledge.embedder.query(text)).values

    return FaqDrafts(
        insights, c.db.sessionmaker, similar=similar, embed=embed,
        threshold=settings.kb_drafts_similarity,
        kb_file=settings.kb_path[0].expanduser() / settings.kb_drafts_file,
    )  # fmt: skip


def build_insights(settings: Settings, c: Core) -> InsightJobs | None:
    """Deferred model jobs (issue 26) when DESK_INSIGHTS is on."""
    if not settings.desk_insights_on:
        return None
    from bot.insights import InsightJobs

    return InsightJobs(
        c.db.sessionmaker, c.client, model_name=settings.insights_model,
        owner=settings.replica_id,
    )  # fmt: skip


def build_gaps(settings: Settings, c: Core, insights: InsightJobs | None) -> GapAnalysis:
    """Content gaps (issue 26): the knowledge base's query embeddings when there is one."""
    from bot.insights.gaps import GapAnalysis
    from bot.knowledge.embedder import Embedder

    knowledge = c.knowledge
    embedder = knowledge.embedder if knowledge is not None else Embedder(
        c.client, doc_model=settings.embedding_doc_model,
        query_model=settings.embedding_query_model, rps=settings.embedding_rps,
    )  # fmt: skip

    async def similar(text: str) -> float:
        if knowledge is None:
            return 0.0
        return (await knowledge.search(text, 1, kind="gap")).best_score

    async def embed(text: str) -> Any:
        return (await embedder.query(text)).values

    return GapAnalysis(
        c.db.sessionmaker, embed=embed, similar=similar, jobs=insights,
        covered_at=settings.kb_drafts_similarity,
    )  # fmt: skip


async def run_faq_eval(settings: Settings, path: Path) -> None:
    """`fmbot insights eval-faq FILE`: the drafts' precision and recall, and the threshold."""
    from bot.insights.faq_eval import evaluate, format_eval, load_cases
    from bot.knowledge.embedder import Embedder

    try:
        cases = load_cases(path)
    except ValueError as exc:
        raise ConfigError(f"insights eval-faq: {exc}") from None
    auth = build_auth_from(settings)
    client = build_client(settings, auth)
    try:
        embedder = Embedder(client, doc_model=settings.embedding_doc_model,
                            query_model=settings.embedding_query_model,
                            rps=settings.embedding_rps)  # fmt: skip

        async def embed(text: str) -> Any:
            return (await embedder.query(text)).values

        result = await evaluate(cases, client, settings.insights_model, embed)
    finally:
        await client.aclose()
    print(format_eval(result, settings.kb_drafts_similarity))


async def run_gaps(settings: Settings, *, days: int, csv_path: Path | None) -> None:
    """`fmbot insights gaps`: the period's unanswered questions by topic."""
    from bot.insights import InsightJobs
    from bot.insights.gaps import format_gaps, write_gaps_csv

    async with core(settings, "") as c:
        jobs = InsightJobs(c.db.sessionmaker, c.client, model_name=settings.insights_model,
                           owner=settings.replica_id)  # fmt: skip
        try:
            gaps = await build_gaps(settings, c, jobs).run(days)
        finally:
            await jobs.aclose()
    print(format_gaps(gaps, days))
    if csv_path is not None:
        try:
            rows = write_gaps_csv(gaps, csv_path)
        except OSError as exc:
            raise ConfigError(f"insights gaps: --csv: cannot write {csv_path}: "
                              f"{exc.strerror}") from None  # fmt: skip
        print(f"{rows} gaps written to {csv_path}")


async def run_report(
    settings: Settings, *, days: int, csv_path: Path | None, app: App | None = None
) -> None:
    """`fmbot report`: the support desk's figures from the database (no Telegram, no model)."""
    from bot.desk.report import build_report, format_report, write_csv
    from bot.tools.audit import stats_table, tools_csv_path, write_stats_csv

    hours = support_hours(settings)
    await migrate(settings.database_url, extra=app.migration_folders() if app is not None else ())
    db = Database(settings.database_url)
    try:
        report = await build_report(db.sessionmaker, days=days, hours=hours)
        tools = await tool_stats(db, days)
    finally:
        await db.dispose()
    print(format_report(report, limit_gaps=30))
    print()
    print(stats_table(tools, days))
    if csv_path is not None:
        try:
            rows = write_csv(report, csv_path)
        except OSError as exc:
            raise ConfigError(f"report: --csv: cannot write {csv_path}: {exc.strerror}") from None
        print(f"{quantity(rows, 'en', 'conversation', 'conversations')} written to {csv_path}")
        tools_path = tools_csv_path(csv_path)
        print(f"{write_stats_csv(tools, tools_path)} tools written to {tools_path}")


async def tool_stats(db: Database, days: int) -> list[ToolStats]:
    """Per tool over the last `days`: calls, failures, declines, expiries (issue 24)."""
    import datetime as dt

    from bot.storage.models import utcnow
    from bot.storage.repositories.toolcalls import ToolCallRepository

    since = utcnow() - dt.timedelta(days=days)
    async with db.sessionmaker() as session:
        return await ToolCallRepository(session).stats(since=since)


async def run_terminal_chat(
    settings: Settings,
    system_prompt: str,
    *,
    chat_id: int,
    model: str | None,
    history: Path | None = None,
    app: App | None = None,
) -> None:
    from bot.terminal import TerminalChat

    async with core(settings, system_prompt, app=app) as c:
        if model is not None and model not in settings.text_models:
            log.warning(
                "model %s is not in TEXT_MODEL/ALLOWED_TEXT_MODELS; using it anyway", model
            )
        chat = TerminalChat(
            c.conversation, c.db.sessionmaker, chat_id=chat_id, model=model, history=history
        )
        await chat.run()
