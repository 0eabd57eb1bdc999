"""Issue 61, item 8 (secrets): every secret the bot is given (the database password, what the
tools file writes where a secret goes) is scrubbed from the log in every form a log prints it:
as written, JSON-escaped and percent-encoded; a malformed DATABASE_URL is named without its
password."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from bot.cli.factory import secrets_of
from bot.config import ConfigError
from bot.features.installed import FEATURES
from bot.features.settings import Settings
from bot.log import setup_logging
from bot.wiring.preflight import check_database_url

# Characters each encoding changes: quotes and backslash (JSON), @ / : space (URLs), non-ASCII.
PASSWORD = 'pa"ss\\w@rd/ключ: 1'


@pytest.fixture
def log_text() -> Iterator[tuple[io.StringIO, list[str]]]:
    """The root logger writing to a string; the test fills the secrets list first."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    yield io.StringIO(), []
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


@pytest.mark.parametrize(
    "url",
    ["postgresql+asyncpg//fmbot:s3cret-db-pw@db/fmbot",  # "://" lost its colon
     "fmbot:s3cret-db-pw@db/fmbot",  # no scheme at all
     "postgresql+asyncpg://fmbot:s3cret-db-pw@db:port/fmbot"],  # a port that is not a number
)
def test_a_malformed_database_url_is_named_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_database_url(url)
    message = str(refused.value)
    assert message.startswith("DATABASE_URL: cannot read")
    assert "s3cret-db-pw" not in message
    assert "fmbot:***@db" in message  # still enough of it to see what is wrong


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_form_of_a_secret_is_scrubbed(
    fmt: str, log_text: tuple[io.StringIO, list[str]]
) -> None:
    stream, _ = log_text
    setup_logging("INFO", fmt, secrets=[PASSWORD], stream=stream)
    log = logging.getLogger("test.secret_forms")
    log.info("raw %s", PASSWORD)
    log.info("body %s", json.dumps({"password": PASSWORD}))
    log.info("body %s", json.dumps({"password": PASSWORD}, ensure_ascii=False))
    log.info("dsn postgresql://fmbot:%s@db/fmbot", quote(PASSWORD, safe=""))
    log.info("path /v1/%s/x", quote(PASSWORD))
    log.info("form password=%s", quote_plus(PASSWORD))
    out = stream.getvalue()
    assert out.count("***") >= 6, out
    for form in ("w@rd", "ключ", "w%40rd", "%D0%BA", "\\u043a", 'pa\\"ss'):
        assert form not in out, (form, out)


def test_the_database_password_and_the_tools_files_literal_secrets_are_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_text: tuple[io.StringIO, list[str]]
) -> None:
    (tmp_path / "tools.toml").write_text(
        '[[http]]\nname = "orders"\ndescription = "d"\n'
        'url = "https://shop.example/orders?key=literal-query-key"\n'
        'headers = { Authorization = "Bearer literal-bearer-token", '
        'Accept = "application/json" }\n'
        '[mcp.tracker]\nurl = "https://mcp.example/mcp"\n'
        'headers = { X-Api-Key = "literal-mcp-header" }\n'
        '[mcp.local]\ncommand = ["tracker-mcp"]\nenv = { TRACKER_TOKEN = "literal-env-value" }\n',
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, tools_file=tmp_path / "tools.toml",
        database_url="postgresql+asyncpg://fmbot:db-password-42@db.example/fmbot")
    secrets = secrets_of(settings, FEATURES)
    written = ["db-password-42", "literal-query-key", "literal-bearer-token",
               "literal-mcp-header", "literal-env-value"]
    assert set(written) <= set(secrets), secrets
    assert "application/json" not in secrets  # says how, not who: left readable

    stream, _ = log_text
    setup_logging("INFO", "text", secrets=secrets, stream=stream)
    for value in written:
        logging.getLogger("test.secret_forms").info("echoed %s", value)
    out = stream.getvalue()
    assert not [value for value in written if value in out], out


def test_a_short_secret_is_scrubbed_as_a_whole_token(
    log_text: tuple[io.StringIO, list[str]],
) -> None:
    """Issue 77: every configured secret, whatever its length. One shorter than six
    characters is replaced where it stands alone, not inside longer words or numbers."""
    stream, _ = log_text
    setup_logging("INFO", "text", secrets=["k9x", "7"], stream=stream)
    log = logging.getLogger("test.secret_forms")
    log.info("secret=k9x url=/v1/k9x/x json=%s", json.dumps({"key": "k9x"}))
    log.info("user 7 sent 17 words; k9xy stays")
    out = stream.getvalue()
    assert "k9x " not in out
    assert "/v1/***/x" in out
    assert '"key": "***"' in out
    assert "secret=***" in out
    assert "user *** sent 17 words; k9xy stays" in out
