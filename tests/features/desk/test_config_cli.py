"""The desk's settings: blank values, one-line errors naming the variable, `fmbot report`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.features.settings import Settings
from tests.telegram.test_cli import run_cli


def test_blank_support_settings_mean_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("SUPPORT_CHAT_ID", "")
    monkeypatch.setenv("ALLOWED_CHAT_MEMBERS_OF", " ")
    settings = Settings()
    assert (settings.desk.chat_id, settings.allowed_chat_members_of) == (0, 0)
    assert (settings.desk.csat, settings.desk.handoff_classifier, settings.desk.timezone) == (
        True, False, "UTC",
    )


def test_support_chat_must_be_a_supergroup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("SUPPORT_CHAT_ID", "12345")
    with pytest.raises(ConfigError, match="SUPPORT_CHAT_ID"):
        Settings().desk.check()


@pytest.mark.parametrize(
    ("name", "value"),
    [("SUPPORT_HOURS", "weekdays 9 to 6"), ("SUPPORT_TIMEZONE", "Mars/Olympus"),
     ("CSAT", "maybe")],
)
def test_bad_desk_setting_is_named_in_one_line(tmp_path: Path, name: str, value: str) -> None:
    result = run_cli("report", cwd=tmp_path, **{name: value})
    assert result.returncode == 2, result.stderr
    assert name in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_on_a_fresh_database_says_what_cannot_be_computed(tmp_path: Path) -> None:
    csv = tmp_path / "out.csv"
    result = run_cli(
        "report", "--days", "3", "--csv", str(csv), cwd=tmp_path,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    assert result.returncode == 0, result.stderr
    assert "Conversations: 0" in result.stdout
    assert "CSAT: cannot be computed" in result.stdout
    assert csv.read_text().startswith("conversation,user_id,")
