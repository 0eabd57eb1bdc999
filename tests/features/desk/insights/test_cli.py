"""`fmbot insights faq` and the insight settings (issue 26)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.features.desk.storage.insights_models import FaqDraft, FaqDraftStatus
from bot.features.settings import Settings
from bot.storage.database import Database
from bot.storage.migrations import migrate
from tests.conversation.conftest import API_KEY, FOLDER
from tests.fakes.yandex.server import FakeFoundationModels
from tests.telegram.test_cli import run_cli


def test_insights_are_on_with_the_desk_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    assert not Settings().desk.insights  # no desk, no insights
    monkeypatch.setenv("SUPPORT_CHAT_ID", "-1001234567890")
    desk = Settings().desk
    assert desk.insights
    assert desk.insights_model == "yandexgpt/latest"
    assert desk.drafts_file == "faq-from-desk.jsonl"
    monkeypatch.setenv("DESK_INSIGHTS", "off")
    assert not Settings().desk.insights


@pytest.mark.slow
def test_insights_faq_lists_the_drafts_waiting_for_review(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"

    async def seed() -> None:
        await migrate(url)
        db = Database(url)
        async with db.sessionmaker() as session:
            session.add_all([
                FaqDraft(question="Can I pay with a gift card?", answer="Yes, at checkout.",
                         status=FaqDraftStatus.PENDING, case_id=None),
                FaqDraft(question="Old one", answer="Approved already.",
                         status=FaqDraftStatus.APPROVED),
            ])
            await session.commit()
        await db.dispose()

    empty = run_cli("insights", "faq", cwd=tmp_path, DATABASE_URL=url)
    assert empty.returncode == 0, empty.stderr
    assert "No FAQ drafts waiting for review." in empty.stdout
    asyncio.run(seed())
    result = run_cli("insights", "faq", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "1 FAQ drafts waiting for review" in result.stdout
    assert "Q: Can I pay with a gift card?" in result.stdout
    assert "Old one" not in result.stdout


def _yandex(fm: FakeFoundationModels, tmp_path: Path) -> dict[str, str]:
    return {"YANDEX_API_KEY": API_KEY, "YANDEX_FOLDER_ID": FOLDER, "YANDEX_LLM_URL": fm.url,
            "YANDEX_OPERATION_URL": fm.url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"}


@pytest.mark.slow
async def test_insights_eval_faq_reports_the_tuned_threshold(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    # The command on the fixture's first ten conversations: the whole fixture's figures are
    # test_faq_eval.py's (in-process, ten times faster than at the command's embedding
    # rate); here, that the command reads a file, evaluates and reports.
    whole = (Path(__file__).parent / "fixture" / "faq_cases.jsonl").read_text("utf-8")
    fixture = tmp_path / "faq_cases.jsonl"
    fixture.write_text("".join(whole.splitlines(keepends=True)[:10]), "utf-8")
    result = await asyncio.to_thread(
        run_cli, "insights", "eval-faq", str(fixture), cwd=tmp_path, **_yandex(fm, tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "FAQ drafts from 10 conversations" in result.stdout
    assert "Best threshold 0." in result.stdout
    assert "KB_DRAFTS_SIMILARITY is 0.76" in result.stdout
    missing = await asyncio.to_thread(
        run_cli, "insights", "eval-faq", str(tmp_path / "nope.jsonl"), cwd=tmp_path,
        **_yandex(fm, tmp_path),
    )
    assert missing.returncode == 2
    expected = f"fmbot: insights eval-faq: no such file {tmp_path}/nope.jsonl"
    assert missing.stderr.strip() == expected


@pytest.mark.slow
async def test_insights_gaps_prints_and_writes_the_gaps(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    from tests.features.desk.insights.test_gaps import seed

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await migrate(url)
    db = Database(url)
    await seed(db)
    await db.dispose()
    out = tmp_path / "gaps.csv"
    result = await asyncio.to_thread(
        run_cli, "insights", "gaps", "--days", "3650", "--csv", str(out), cwd=tmp_path,
        **_yandex(fm, tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "Content gaps, last 3650 days" in result.stdout
    assert "1. How do i return a broken — 3 users" in result.stdout
    assert "gaps written to" in result.stdout
    assert out.read_text(encoding="utf-8").startswith("rank,title,users,")


@pytest.mark.slow
async def test_insights_with_an_app_apply_its_plugins_migrations(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    """`insights gaps --app` and `insights faq --app` migrate the App's plugins too (they
    skipped them: a database a plugin had migrated was then an unknown revision to them)."""
    import sqlite3
    import textwrap

    from tests.framework.plugins import NOTES_MIGRATION

    versions = tmp_path / "notes_migrations"
    versions.mkdir()
    (versions / "notes_0001_table.py").write_text(NOTES_MIGRATION)
    (tmp_path / "mybot.py").write_text(textwrap.dedent(f"""
        from bot import App
        app = App.from_env()
        app.add_migrations("notes", {str(versions)!r})
    """))
    env = _yandex(fm, tmp_path)
    for command in (["insights", "gaps", "--days", "1"], ["insights", "faq"]):
        result = await asyncio.to_thread(
            run_cli, *command, "--app", "mybot:app", cwd=tmp_path, **env
        )
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "notes_plugin_notes" in tables
