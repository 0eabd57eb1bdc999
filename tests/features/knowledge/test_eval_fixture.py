"""The bilingual fixture through `python -m bot kb sync` and `kb eval`, as a user runs them:
recall@5 >= 0.90 and abstain F1 >= 0.80 with the fake server's embeddings (which work like
real ones: shared stems and word pieces bring texts close; they know nothing of the fixture)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli import run_bot_async
from tests.conftest import REPO_ROOT
from tests.conversation.conftest import API_KEY, FOLDER
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import FIXTURE, FIXTURE_KB, FIXTURE_MIN_SCORE


async def fmbot(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    done = await run_bot_async(args, cwd=REPO_ROOT, env=env)
    return done.returncode, done.stdout, done.stderr


def environment(fm: FakeFoundationModels, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YANDEX_", "KB_"))}
    env.update(
        YANDEX_API_KEY=API_KEY, YANDEX_FOLDER_ID=FOLDER, YANDEX_LLM_URL=fm.url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'kb.db'}", KB_PATH=str(FIXTURE_KB),
        KB_MIN_SCORE=str(FIXTURE_MIN_SCORE), EMBEDDING_RPS="1000", LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def figure(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


@pytest.mark.slow
async def test_the_fixture_reaches_the_quality_targets(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    env = environment(fm, tmp_path)
    code, out, err = await fmbot("kb", "sync", env=env)
    assert code == 0, err
    assert "files: 39 (39 indexed, 0 unchanged, 0 removed)" in out
    assert "39/39 files" in err  # the progress bar
    code, out, err = await fmbot("kb", "eval", str(FIXTURE / "eval.jsonl"), env=env)
    assert code == 0, err
    assert "questions: 183 answerable, 37 to abstain on" in out
    assert figure(r"recall@5: ([\d.]+)", out) >= 0.90
    assert figure(r"abstain at KB_MIN_SCORE=[\d.]+: precision [\d.]+, recall [\d.]+, F1 ([\d.]+)",
                  out) >= 0.80
    assert 0.0 < figure(r"best KB_MIN_SCORE on this set: ([\d.]+)", out) < 1.0
    # Every figure the issue names: recall@1 <= @3 <= @5, MRR, abstain precision and recall.
    recalls = [figure(rf"recall@{k}: ([\d.]+)", out) for k in (1, 3, 5)]
    assert 0.0 < recalls[0] <= recalls[1] <= recalls[2] <= 1.0
    assert recalls[0] <= figure(r"MRR@\d+: ([\d.]+)", out) <= 1.0
    assert 0.0 < figure(r"abstain at KB_MIN_SCORE=0.19: precision ([\d.]+)", out) <= 1.0
    assert 0.0 < figure(r"abstain at KB_MIN_SCORE=0.19: precision [\d.]+, recall ([\d.]+)",
                        out) <= 1.0


@pytest.mark.slow
async def test_search_prints_ranked_passages_and_a_second_sync_reuses_everything(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    env = environment(fm, tmp_path)
    assert (await fmbot("kb", "sync", env=env))[0] == 0
    code, out, _ = await fmbot("kb", "search", "Как сбросить пароль?", "-k", "3", env=env)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("covered (best similarity")
    # The order is the fused one, and the line says so: the similarity is KB_MIN_SCORE's number.
    assert lines[1].startswith("ranked by words and meaning together")
    assert re.match(
        r"1\. similarity 0\.\d+ \((words #\d+|meaning #\d+)(, meaning #\d+)?\)  it/parol\.md  "
        r"Сброс пароля учётной записи", lines[2],
    )
    assert len([line for line in lines if re.match(r"\d\. similarity", line)]) == 3
    code, out, _ = await fmbot("kb", "sync", env=env)
    assert "embedded now: 0, reused from the cache: 0" in out
    assert "files: 39 (0 indexed, 39 unchanged, 0 removed)" in out


@pytest.mark.slow
async def test_kb_commands_explain_bad_settings_and_files(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    code, _, err = await fmbot("kb", "sync", env=environment(fm, tmp_path, KB_PATH=""))
    assert code == 2
    assert "KB_PATH is not set" in err
    missing = str(tmp_path / "nowhere")
    code, _, err = await fmbot("kb", "sync", env=environment(fm, tmp_path, KB_PATH=missing))
    assert code == 2
    assert f"KB_PATH: no such folder {missing}" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n', encoding="utf-8")
    code, _, err = await fmbot("kb", "eval", str(bad), env=environment(fm, tmp_path))
    assert code == 2
    assert 'bad.jsonl:1: needs "expected" or "expect_abstain"' in err
