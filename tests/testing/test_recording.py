"""`fmbot record` against the fake Yandex server (what the real API answers), then the
recording replayed by `RecordedModel` in a BotTester: the same answer and tool call offline,
and no credential, folder id or user id in the file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bot.testing import BotTester, RecordedModel, RecordingFormatError
from tests.cli import run_bot_async
from tests.conftest import REPO_ROOT
from tests.fakes.yandex.server import FakeFoundationModels

pytestmark = [pytest.mark.timeout(240)]

KEY, FOLDER = "AQVNfake-secret-api-key-0123456789", "b1gsecretfolder42"
USER = 734501


@pytest.mark.slow
async def test_a_recorded_conversation_replays_offline(tmp_path: Path) -> None:
    out = tmp_path / "conversation.json"
    async with FakeFoundationModels(api_key=KEY, folder_id=FOLDER) as fm:
        fm.queue_reply("", tool_calls=[{"name": "order_status",
                                        "arguments": {"order_id": "A-7"}}])
        fm.queue_reply("Order A-7 has shipped; it arrives on 27 November.", chunks=3)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env |= {"YANDEX_API_KEY": KEY, "YANDEX_FOLDER_ID": FOLDER, "YANDEX_LLM_URL": fm.url,
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
                "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "examples"), str(REPO_ROOT)])}
        done = await run_bot_async(
            ["record", "--app", "mybot:app", "--out", str(out), "--chat-id", str(USER),
             "--history", str(tmp_path / "history")],
            cwd=tmp_path, env=env, stdin="Where is my order A-7?\n",
        )
    said = done.stderr
    assert done.returncode == 0, said
    assert "Order A-7 has shipped" in done.stdout
    assert f"written to {out}" in said
    text = out.read_text(encoding="utf-8")
    for secret in (KEY, FOLDER, str(USER)):
        assert secret not in text
    recording = json.loads(text)
    paths = [e["path"] for e in recording["exchanges"]]
    assert paths.count("/foundationModels/v1/completion") == 2

    sys.path.insert(0, str(REPO_ROOT / "examples"))
    try:
        import mybot
    finally:
        sys.path.remove(str(REPO_ROOT / "examples"))
        # Not left for the next test of this worker: its own `mybot.py` is another module.
        sys.modules.pop("mybot", None)
    model = RecordedModel(out)
    async with BotTester(mybot.app, model=model) as tester:
        reply = await tester.user("Anna").says("Where is my order A-7?")
    assert reply.text == "Order A-7 has shipped; it arrives on 27 November."
    assert [(c.name, dict(c.arguments)) for c in reply.tool_calls] == [
        ("order_status", {"order_id": "A-7"})
    ]
    assert "/foundationModels/v1/completion" not in model.unused, "both answers replayed"


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"exchanges": []}', encoding="utf-8")
    with pytest.raises(RecordingFormatError, match="not an fmbot recording"):
        RecordedModel(bad)
    with pytest.raises(RecordingFormatError, match="cannot read"):
        RecordedModel(tmp_path / "missing.json")
