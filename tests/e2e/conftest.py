"""Fixtures for end-to-end tests: an ``E2E`` setup (fakes started, bot not yet started)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import E2E


@pytest.fixture
async def e2e(tmp_path: Path) -> AsyncIterator[E2E]:
    """Long-polling bot against the fakes; call ``await e2e.start_bot()`` in the test."""
    async with E2E(tmp_path) as setup:
        yield setup


@pytest.fixture
async def e2e_webhook(tmp_path: Path) -> AsyncIterator[E2E]:
    """The same in webhook mode (TELEGRAM_MODE=webhook on a free loopback port)."""
    async with E2E(tmp_path, mode="webhook") as setup:
        yield setup
