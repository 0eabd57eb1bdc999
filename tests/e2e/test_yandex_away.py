"""Yandex not answering does not stop `python -m bot run` (a wrong setting does:
tests/firsthour/test_yandex_access.py): the bot starts and polls, one ERROR names `fmbot check`,
and the process's /readyz answers 503 naming Yandex until it answers. The bot `run` builds
runs in the test's process (tests/e2e/inprocess.py), its metrics server on loopback."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.coordination.proxy import TcpProxy
from tests.e2e.harness import E2E
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(120)]


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


async def test_yandex_not_answering_starts_the_bot_unready_until_it_answers(
    tmp_path: Path,
) -> None:
    metrics = free_port()
    async with E2E(tmp_path, in_process=True) as e2e:
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
