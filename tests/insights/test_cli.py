"""`fmbot insights faq` and the insight settings (issue 26)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage.database import Database, migrate
from bot.storage.models import FaqDraft, FaqDraftStatus
from tests.telegram.test_cli import run_cli


def test_insights_are_on_with_the_desk_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    assert not Settings().desk_insights_on  # no desk, no insights
    monkeypatch.setenv("SUPPORT_CHAT_ID", "-1001234567890")
    settings = Settings()
    assert settings.desk_insights_on
    assert settings.insights_model == "yandexgpt/latest"
    assert settings.kb_drafts_file == "faq-from-desk.jsonl"
    monkeypatch.setenv("DESK_INSIGHTS", "off")
    assert not Settings().desk_insights_on


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
            ])  # fmt: skip
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
