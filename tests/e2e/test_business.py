"""Chat automation, the bot as `run` builds it, polling the fake Telegram over loopback (in the
test's process: the polling is the subject, not the process): it asks for business updates
when BUSINESS_REPLIES is on, and not when off. What customers and owners see (answers on the
owner's behalf, takeovers, approve mode, pauses) is tested through the kit:
tests/features/business/test_answers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import E2E

pytestmark = [pytest.mark.timeout(180)]


async def test_business_updates_are_asked_for_when_on(tmp_path: Path) -> None:
    async with E2E(tmp_path, in_process=True) as e2e:
        await e2e.start_bot()
        polls = [c for c in e2e.tg.calls if c.method == "getUpdates"]
        assert any("business_message" in str(c.params.get("allowed_updates")) for c in polls)
        assert await e2e.bot.terminate() == 0


async def test_business_updates_are_not_asked_for_when_off(tmp_path: Path) -> None:
    async with E2E(tmp_path, extra_env={"BUSINESS_REPLIES": "off"}, in_process=True) as e2e:
        await e2e.start_bot()
        polls = [c for c in e2e.tg.calls if c.method == "getUpdates"]
        assert polls
        assert not any("business" in str(c.params.get("allowed_updates")) for c in polls)
