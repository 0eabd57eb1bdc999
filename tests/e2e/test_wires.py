"""One deployment per wire (native, TEXT_API=openai, TEXT_API=responses), built as `run` builds
it against the fake Telegram and Yandex servers over loopback, with a knowledge base, a vision
model and a support desk: `run` names the wire and the models at start and answers on that
wire (in the test's process). A kill mid-stream is answered again, once, after the restart
with the bot as a process: on the Responses wire (the most stateful) in
test_faults_webhook.py, on the native wire in test_faults_process.py.
The rest of the story (a streamed answer, history, a knowledge-base answer, a photo, the stop
button, a handoff's summary) is tested through the kit on each wire:
tests/conversation/test_wires.py. Tools with confirmation run on the
three wires in test_tools.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import E2E
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE

pytestmark = [pytest.mark.timeout(240)]

SUPPORT = -1001234567890
KILLED = 7106
PATHS = {"native": "/foundationModels/v1/completion", "openai": "/v1/chat/completions",
         "responses": "/v1/responses"}
def texts_with(e2e: E2E, chat: int, test: Callable[[str], bool]) -> Callable[[], list[str]]:
    return lambda: [text for text in e2e.texts(chat) if test(text)]


def wire_env(tmp_path: Path, wire: str) -> tuple[Path, dict[str, str]]:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    workdir = tmp_path / "run"
    workdir.mkdir()
    env = {"KB_PATH": str(docs), "KB_MODE": "assist", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
           "EMBEDDING_RPS": "200", "SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off"}
    if wire != "native":
        env["TEXT_API"] = wire
    return workdir, env


@pytest.mark.parametrize("wire", ["native", "openai", "responses"])
async def test_each_wire_is_named_at_start_and_answers(tmp_path: Path, wire: str) -> None:
    workdir, env = wire_env(tmp_path, wire)
    async with E2E(workdir, extra_env=env, in_process=True) as e2e:
        e2e.tg.add_forum(SUPPORT, "Support")
        try:
            await started(e2e, wire)
            answer = "Lighthouses guide ships at night with a light that turns."
            e2e.fm.queue_reply(answer, chunks=4, interval=0.1)
            e2e.tg.send_user_message(KILLED, "Tell me about lighthouses")
            await e2e.wait_for(texts_with(e2e, KILLED, lambda t: t == answer), 60)
            assert any(r.path == PATHS[wire] for r in e2e.fm.requests)
            assert await e2e.bot.terminate() == 0
        except BaseException:
            print(f"--- bot log ({wire}), last lines:\n{e2e.bot.log_tail(80)}")
            raise
    assert e2e.db.check_consistency() == []


async def started(e2e: E2E, wire: str) -> None:
    """The bot started, its knowledge base synced once; the log names the wire and models."""
    await e2e.start_bot()
    await e2e.wait_for(lambda: e2e.db.path.exists() and e2e.db.query(
        "SELECT name FROM sqlite_master WHERE name = 'kb_sync_runs'") and e2e.db.count(
        "kb_sync_runs", "status = 'done'") >= 1, 60)
    log = e2e.bot.log_tail(200)
    assert f"TEXT_API={wire}" in log
    assert "models: " in (await e2e.wait_for(lambda: [
        r["message"] for r in e2e.bot.log_records() if r.get("message", "").startswith(
            "models: ")], 30))[0]
