"""Wrong Yandex settings (a retired IMAGE_MODEL among them) stop `fmbot run` before it polls,
in one line naming the variable (exit 2), as a missing setting does (the command run in this
process, tests/cli.py); Yandex not answering does not: the bot starts as a process, one ERROR
names `fmbot check`, and /readyz answers 503 naming Yandex until it answers."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli import run_bot_async
from tests.coordination.proxy import TcpProxy
from tests.e2e.harness import E2E
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(120)]


@pytest.mark.parametrize(
    ("env", "served", "variable", "words"),
    [
        ({"YANDEX_API_KEY": "wrong-key"}, None, "YANDEX_API_KEY",
         "Yandex rejected the credentials (401"),
        ({"YANDEX_FOLDER_ID": "someone-elses-folder"}, None, "YANDEX_FOLDER_ID",
         "refused folder 'someone-elses-folder'"),
        ({"TEXT_MODEL": "yandexgpt-9000/latest"}, {"yandexgpt/latest"}, "TEXT_MODEL",
         "as unknown"),
        # Known without asking Yandex (its documented list): stops run as it stops check.
        ({"IMAGE_MODEL": "yandex-art/latest"}, None, "IMAGE_MODEL",
         "YandexART 2.0 was retired on 18 August 2026; Yandex recommends "
         "aliceai-image-art-3.0; set IMAGE_MODEL=aliceai-image-art-3.0"),
    ],
    ids=["key", "folder", "model", "retired-image-model"],
)
async def test_a_refused_setting_stops_run_before_it_polls(
    tmp_path: Path, env: dict[str, str], served: set[str] | None, variable: str, words: str
) -> None:
    async with E2E(tmp_path, extra_env=env) as e2e:
        if served is not None:
            e2e.fm.served_models = {f"gpt://{e2e.fm.folder_id}/{m}" for m in served}
        done = await run_bot_async(["run"], env=e2e.bot.env, cwd=tmp_path, merge_stderr=True)
        said = done.stdout
        assert done.returncode == 2, said
        lines = [line for line in said.splitlines() if line.startswith("fmbot:")]
        assert len(lines) == 1, said
        assert lines[0].startswith(f"fmbot: {variable}"), lines[0]
        assert words in lines[0]
        assert "Traceback" not in said
        assert not [c for c in e2e.tg.calls if c.method == "getUpdates"], "it never polled"


def _readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


async def _readyz_until(port: int, status: int, within: float) -> str:
    deadline = time.monotonic() + within
    while True:
        got, body = await asyncio.to_thread(_readyz, port)
        if got == status:
            return body
        assert time.monotonic() < deadline, f"/readyz still {got}: {body}"
        await asyncio.sleep(0.3)


@pytest.mark.process
async def test_yandex_not_answering_starts_the_bot_unready_until_it_answers(
    tmp_path: Path,
) -> None:
    metrics = free_port()
    async with E2E(tmp_path) as e2e:
        proxy = TcpProxy("127.0.0.1", int(e2e.fm.url.rsplit(":", 1)[1]))
        await proxy.start()  # takes its port, then refuses: Yandex is away
        await proxy.stop()
        away = f"http://127.0.0.1:{proxy.port}"
        e2e.bot.env.update(YANDEX_LLM_URL=away, METRICS_LISTEN=f"127.0.0.1:{metrics}")
        try:
            await e2e.start_bot(60)  # it polls
            body = await _readyz_until(metrics, 503, 30)
            assert body.startswith("yandex:") or "\nyandex:" in body, body
            errors = [r for r in e2e.bot.log_records() if r.get("level") == "ERROR"
                      and "Yandex does not answer" in str(r.get("message"))]
            assert len(errors) == 1, errors
            assert "`fmbot check`" in str(errors[0]["message"])
            await proxy.start()  # Yandex is back
            await _readyz_until(metrics, 200, 30)
        finally:
            await proxy.stop()
        assert json.dumps(e2e.bot.log_records())  # the log stays JSON throughout
