"""`run` and `chat` read TOOLS_FILE before anything starts: a bad file ends the process with one
line naming the file, the tool and the fix (exit status 2); `${VAR}` also comes from `.env`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.features.installed import FEATURES
from bot.features.settings import Settings
from bot.features.tools.build import build_toolbox
from bot.wiring import tool_environment
from tests.cli import run_bot
from tests.conftest import REPO_ROOT


def run_cli(tmp_path: Path, command: str, tools: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "tools.toml").write_text(tools, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO_ROOT),
        "TELEGRAM_BOT_TOKEN": "1:x",
        "YANDEX_API_KEY": "k",
        "YANDEX_FOLDER_ID": "f",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "TOOLS_FILE": str(tmp_path / "tools.toml"),
    }
    return run_bot([command], cwd=tmp_path, env=env)


@pytest.mark.parametrize("command", ["run", "chat"])
@pytest.mark.slow
def test_a_bad_tools_file_stops_the_bot_with_one_line(tmp_path: Path, command: str) -> None:
    done = run_cli(tmp_path, command,
                   '[[http]]\nname = "order_status"\ndescription = "d"\nurl = "https://x"\n'
                   'methd = "GET"\n')
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "fmbot: tools.toml: tool 'order_status': unknown key 'methd': the keys of an [[http]] "
        "action are name, description, method, url, parameters, confirm, timeout_s, headers, "
        "admins_only, business, title, title_ru, groups, approvers"
    )
    assert not (tmp_path / "bot.db").exists()  # nothing started


def test_variables_come_from_the_environment_over_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("SHOP_TOKEN=from-dotenv\nOTHER=dotenv\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OTHER", "from-env")
    environ = tool_environment()
    assert environ["SHOP_TOKEN"] == "from-dotenv"
    assert environ["OTHER"] == "from-env"
    (tmp_path / "tools.toml").write_text(
        '[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\n'
        'headers = { Authorization = "Bearer ${SHOP_TOKEN}" }\n', encoding="utf-8")
    settings = Settings(_env_file=None, tools_file=tmp_path / "tools.toml")  # type: ignore[call-arg]
    toolbox = build_toolbox(settings.tools)
    assert [d.name for d in toolbox.offered(is_admin=False)] == ["a"]


def test_without_tools_file_the_toolbox_is_empty() -> None:
    settings = Settings(_env_file=None, tools_file="")  # type: ignore[call-arg]
    assert settings.tools.file is None
    assert not build_toolbox(settings.tools)


def test_report_has_the_tools_section_and_csv(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    done = run_bot(
        ["report", "--days", "3", "--csv", str(tmp_path / "r.csv")], cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "Tools (last 3 days): no calls" in done.stdout
    assert f"0 tools written to {tmp_path / 'r-tools.csv'}" in done.stdout
    assert (tmp_path / "r-tools.csv").read_text().startswith("tool,calls,failures,declines")


def test_the_files_secrets_are_scrubbed_from_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli.factory import secrets_of

    (tmp_path / "tools.toml").write_text(
        '[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x/?lang=${LANG_CODE}"\n'
        'headers = { Authorization = "Bearer ${SHOP_TOKEN}" }\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOP_TOKEN", "shop-secret-token")
    monkeypatch.setenv("LANG_CODE", "en")
    settings = Settings(_env_file=None, tools_file=tmp_path / "tools.toml")  # type: ignore[call-arg]
    found = secrets_of(settings, FEATURES)
    assert "shop-secret-token" in found
    assert "en" not in found  # too short to scrub


async def test_fmbot_chat_asks_before_a_call_that_needs_a_press(tmp_path: Path) -> None:
    """`fmbot chat` finds the tool loop's decisions among the features' offers and asks there
    about a call waiting for a yes; the write runs once, after the "y"."""
    from tests.cli import run_bot_async
    from tests.fakes.yandex.server import FakeFoundationModels
    from tests.features.tools.apiserver import CompanyApi

    async with CompanyApi() as api, FakeFoundationModels(api_key="k", folder_id="f") as fm:
        (tmp_path / "tools.toml").write_text(
            '[[http]]\nname = "open_ticket"\ndescription = "Open a support ticket."\n'
            f'method = "post"\nurl = "{api.url}/tickets"\nconfirm = true\n'
            '[http.parameters]\ntype = "object"\n'
            'properties = { subject = { type = "string" } }\nrequired = ["subject"]\n',
            encoding="utf-8")
        fm.queue_reply("Sure.", tool_calls=[{"name": "open_ticket",
                                             "arguments": {"subject": "printer"}}])
        fm.queue_reply("Opened T-1.")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO_ROOT),
            "YANDEX_API_KEY": "k",
            "YANDEX_FOLDER_ID": "f",
            "YANDEX_LLM_URL": fm.url,
            "YANDEX_OPERATION_URL": fm.url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "TOOLS_FILE": str(tmp_path / "tools.toml"),
        }
        done = await run_bot_async(["chat"], cwd=tmp_path, env=env,
                                   stdin="open a ticket\ny\n/exit\n")
    assert done.returncode == 0, done.stderr
    assert '[Open a support ticket.: open_ticket {"subject": "printer"}] run it? [y/N]' in (
        done.stdout)
    assert "Opened T-1." in done.stdout
    assert [seen.json for seen in api.to("/tickets")] == [{"subject": "printer"}]
