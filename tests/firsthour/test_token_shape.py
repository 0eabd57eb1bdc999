"""A malformed TELEGRAM_BOT_TOKEN is one line naming the variable and the shape, from every
command; a token with surrounding whitespace (a copy-paste) is simply stripped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.features.settings import load_settings
from tests.operations.test_preflight import COMPLETE, cli


@pytest.mark.parametrize("command", [["run"], ["check"], ["migrate"], ["kb", "search", "x"]])
def test_a_malformed_token_is_one_line_naming_the_variable(
    tmp_path: Path, command: list[str]
) -> None:
    """What a user sees in the terminal, from every command (the shapes are checked below)."""
    token = "123456:ABC DEF"
    done = cli(*command, cwd=tmp_path, **{**COMPLETE, "TELEGRAM_BOT_TOKEN": token})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert "@BotFather" in lines[0]
    assert "Traceback" not in done.stderr
    assert "Value error" not in done.stderr
    assert token not in done.stderr  # the secret is never echoed


@pytest.mark.parametrize("token", ["hello", "123456:ABC DEF", ":abc", "12a:abc", "123:",
                                   "123:abc:def", "123\n:abc"])
def test_every_malformed_shape_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in COMPLETE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    with pytest.raises(ConfigError, match=r"^TELEGRAM_BOT_TOKEN: is not a bot token: .*Father"):
        load_settings(None)


def test_surrounding_whitespace_is_stripped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in COMPLETE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "  123456:AAH-x_y \n")
    settings = load_settings(None)
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123456:AAH-x_y"

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC DEF")
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN: is not a bot token"):
        load_settings(None)
