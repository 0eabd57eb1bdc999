"""A feature's secrets join the log's scrubber, fmbot's own and those of a feature the App adds
(`App.add_feature`), as a plugin's feature's do once it is set up: a line that would show one
shows `***` instead."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli import run_bot
from tests.conftest import REPO_ROOT

SECRET = "feature-token-8b1f0c2e"

APP = f'''
import logging

from bot import App, Feature, ReportSection

app = App(env_file=None)


async def part(db, days):
    logging.getLogger("bot").warning("calling the partner API with {SECRET}")
    return ReportSection("Partner, last %d days: fine" % days)


def partner(ctx):
    ctx.secret("{SECRET}")
    ctx.report(part)


app.add_feature(Feature(name="partner", lifespan=partner))
'''


def test_a_feature_s_secret_never_reaches_the_log(tmp_path: Path) -> None:
    (tmp_path / "partnerbot.py").write_text(APP, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO_ROOT}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    done = run_bot(["report", "--days", "2", "--app", "partnerbot:app"], cwd=tmp_path,
                   env=env, merge_stderr=True)
    assert done.returncode == 0, done.stdout
    assert "Partner, last 2 days: fine" in done.stdout
    assert "calling the partner API with ***" in done.stdout
    assert SECRET not in done.stdout
