"""Usernames where Telegram ids belong (ADMIN_USER_IDS=anna,boris: what a newcomer tries first)
are refused in one line that says ids are numbers and how to find one, never in Python's
words."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.features.settings import load_settings
from tests.operations.test_preflight import COMPLETE


@pytest.mark.parametrize("variable", ["ADMIN_USER_IDS", "ALLOWED_USER_IDS", "ALLOWED_CHAT_IDS"])
def test_a_username_in_an_id_list_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in COMPLETE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(variable, "12345, anna,@boris")
    with pytest.raises(ConfigError) as raised:
        load_settings(None)
    [line] = str(raised.value).splitlines()
    assert line.startswith(f"{variable}: 'anna' is not a numeric Telegram id")
    assert "@userinfobot" in line
    assert "invalid literal" not in line


def test_ids_still_read_with_commas_semicolons_and_spaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in COMPLETE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ADMIN_USER_IDS", " 12345; 678 ,-100200 ,")
    assert load_settings(None).admin_user_ids == [12345, 678, -100200]
