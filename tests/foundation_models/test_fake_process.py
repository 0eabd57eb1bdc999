"""The fake server as a process, scripted through its control API (what e2e tests use)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatMessage, PollPolicy, Role
from tests.conftest import REPO_ROOT


@pytest.mark.slow
async def test_process_mode_with_control_api(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"action": "set", "image_pending_polls": 1}]))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.yandex.server", "--port", "0",
        "--api-key", "K", "--folder", "F", "--script", str(script),
        cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        assert line.startswith("LISTENING http://127.0.0.1:")
        url = line.split()[1]
        async with httpx.AsyncClient(base_url=url) as control:
            answer = await control.post("/_control/script", json=[
                {"action": "reply", "text": "scripted answer", "chunks": 3},
                {"action": "fail", "status": 503, "path": "/foundationModels/v1/completion"},
            ])
            assert answer.json() == {"ok": True}
            bad = await control.post("/_control/script", json={"action": "nope"})
            assert bad.status_code == 400
            async with FoundationModelsClient(
                folder_id="F", auth=ApiKeyAuth("K"), llm_url=url, operation_url=url
            ) as client:
                hello = [ChatMessage(Role.USER, "hi")]
                snaps = [s async for s in client.stream(hello, model="yandexgpt")]
                assert [s.text for s in snaps] == ["scripted", "scripted answer",
                                                   "scripted answer"][: len(snaps)]
                assert snaps[-1].text == "scripted answer"
                echo = await client.complete(hello, model="yandexgpt")
                assert echo.text == "Echo: hi"
                op = await client.start_image_generation("cat", model="yandex-art")
                image = await client.wait_for_image(op.id, policy=PollPolicy(initial=0.01))
                assert image[:3] == b"\xff\xd8\xff"
            recorded = (await control.get("/_control/requests")).json()
            paths = [r["path"] for r in recorded]
            assert paths.count("/foundationModels/v1/completion") == 3  # 503, retry, sync
            assert recorded[0]["headers"]["Authorization"] == "Api-Key K"
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
