"""The README's 30-line example (examples/mybot.py), copied into a work folder as `mybot.py`
and run with `python -m bot run --app mybot:app` against the fake servers: its command
answered, its tool called by the model, its context in the prompt, its hook called."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]

EXAMPLE = REPO_ROOT / "examples" / "mybot.py"
USER = 7501


def test_the_readme_shows_the_example_as_it_is() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert EXAMPLE.read_text(encoding="utf-8") in readme
    assert len(EXAMPLE.read_text(encoding="utf-8").splitlines()) <= 31


async def test_mybot_runs_with_every_part(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "mybot.py")  # the user's own file, in the folder they run
    async with E2E(tmp_path, bot_args=("run", "--app", "mybot:app")) as e2e:
        await e2e.start_bot()
        e2e.tg.send_user_message(USER, "/ping")
        await e2e.wait_for(lambda: e2e.texts(USER) == ["pong"])
        e2e.fm.queue_reply("", tool_calls=[{"name": "order_status",
                                            "arguments": {"order_id": "A-7"}}])
        e2e.fm.queue_reply("Order A-7 has shipped.")
        e2e.tg.send_user_message(USER, "Where is A-7?")
        await e2e.wait_for(lambda: e2e.texts(USER) == ["pong", "Order A-7 has shipped."], 30)
        bodies = [r.json for r in e2e.fm.requests if r.path.endswith("/completion")]
        system = [m["text"] for m in bodies[0]["messages"] if m["role"] == "system"]
        assert f"The customer {USER} is on the Gold plan." in "\n".join(system)
        assert "2026-11-27" in str(bodies[1]["messages"]), "the tool ran; its result went back"
        await e2e.wait_for(lambda: "answered 7501: Order A-7 has shipped." in e2e.bot.log_text())
        assert await e2e.bot.terminate() == 0
