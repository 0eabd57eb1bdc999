"""The report commands' bodies: `fmbot report` (the desk's figures and the tools' table),
`fmbot insights gaps` and `fmbot insights eval-faq`. Built from wiring's parts, above it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, Settings
from bot.plurals import quantity
from bot.storage.database import Database, migrate
from bot.wiring import build_embedder, build_gaps, core, support_hours
from bot.wiring.clients import build_auth_from, build_client

if TYPE_CHECKING:
    from bot.app import App
    from bot.storage.repositories.toolcalls import ToolStats


async def run_faq_eval(settings: Settings, path: Path) -> None:
    """`fmbot insights eval-faq FILE`: the drafts' precision and recall, and the threshold."""
    from bot.insights.faq_eval import evaluate, format_eval, load_cases

    try:
        cases = load_cases(path)
    except ValueError as exc:
        raise ConfigError(f"insights eval-faq: {exc}") from None
    auth = build_auth_from(settings)
    client = build_client(settings, auth)
    try:
        embedder = build_embedder(settings, client)

        async def embed(text: str) -> Any:
            return (await embedder.query(text)).values

        result = await evaluate(cases, client, settings.insights_model, embed)
    finally:
        await client.aclose()
    print(format_eval(result, settings.kb_drafts_similarity))


async def run_gaps(
    settings: Settings, *, days: int, csv_path: Path | None, app: App | None = None
) -> None:
    """`fmbot insights gaps`: the period's unanswered questions by topic."""
    from bot.insights import InsightJobs
    from bot.insights.gaps import format_gaps, write_gaps_csv

    async with core(settings, "", app=app) as c:  # the App's migrations too
        jobs = InsightJobs(c.db.sessionmaker, c.client, model_name=settings.insights_model,
                           owner=settings.replica_id)
        try:
            knowledge = c.knowledge
            embedder = knowledge.embedder if knowledge else build_embedder(settings, c.client)
            gaps = await build_gaps(settings, c, jobs, embedder).run(days)
        finally:
            await jobs.aclose()
    print(format_gaps(gaps, days))
    if csv_path is not None:
        try:
            rows = write_gaps_csv(gaps, csv_path)
        except OSError as exc:
            raise ConfigError(f"insights gaps: --csv: cannot write {csv_path}: "
                              f"{exc.strerror}") from None
        print(f"{rows} gaps written to {csv_path}")


async def run_report(
    settings: Settings, *, days: int, csv_path: Path | None, app: App | None = None
) -> None:
    """`fmbot report`: the support desk's figures from the database (no Telegram, no model)."""
    from bot.desk.report import build_report, format_report, write_csv
    from bot.tools.audit import stats_table, tools_csv_path, write_stats_csv
    from bot.voice.report import voice_report

    hours = support_hours(settings)
    await migrate(settings.database_url, extra=app.migration_folders() if app is not None else ())
    db = Database(settings.database_url)
    try:
        report = await build_report(db.sessionmaker, days=days, hours=hours)
        tools = await tool_stats(db, days)
        voice = await voice_report(db.sessionmaker, days=days,
                                   budget=settings.tts_chars_per_user_day)
        searches = await web_search_stats(db, days)
    finally:
        await db.dispose()
    print(format_report(report, limit_gaps=30))
    print()
    print(stats_table(tools, days))
    print()
    print(voice)
    print()
    print(searches)
    if csv_path is not None:
        try:
            rows = write_csv(report, csv_path)
        except OSError as exc:
            raise ConfigError(f"report: --csv: cannot write {csv_path}: {exc.strerror}") from None
        print(f"{quantity(rows, 'en', 'conversation', 'conversations')} written to {csv_path}")
        tools_path = tools_csv_path(csv_path)
        print(f"{write_stats_csv(tools, tools_path)} tools written to {tools_path}")


async def tool_stats(db: Database, days: int) -> list[ToolStats]:
    """Per tool over the last `days`: calls, failures, declines, expiries."""
    import datetime as dt

    from bot.storage.models import utcnow
    from bot.storage.repositories.toolcalls import ToolCallRepository

    since = utcnow() - dt.timedelta(days=days)
    async with db.sessionmaker() as session:
        return await ToolCallRepository(session).stats(since=since)


async def web_search_stats(db: Database, days: int) -> str:
    """One line: the web searches the model ran over the last `days` days, and for how many
    users (WEB_SEARCH; Yandex bills each)."""
    import datetime as dt

    from bot.storage.models import utc_today
    from bot.storage.repositories.web_searches import WebSearchUsageRepository

    async with db.sessionmaker() as session:
        searches, users = await WebSearchUsageRepository(session).since(
            utc_today() - dt.timedelta(days=days - 1))
    return (f"Web searches in the last {quantity(days, 'en', 'day', 'days')}: {searches} "
            f"(for {quantity(users, 'en', 'user', 'users')})")
