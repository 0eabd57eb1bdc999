"""A page opened in Debian's headless Chromium, where one is installed: the DOM after the
browser has read it, and a screenshot (the HTML reports' tests and bench/bench_eval.py).
Browser downloads are out of reach here, so nothing installs it: the tests skip without it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no headless browser: Debian's chromium is not installed "
    "(apt-get install chromium); the parse-level test still runs")


async def render(page: Path, folder: Path, *, size: str = "1000,1400") -> tuple[str, bytes]:
    """The DOM Chromium builds from `page` and a PNG screenshot of it (both paths absolute;
    `folder` holds the browser's profile and the screenshot)."""
    assert CHROMIUM is not None
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--hide-scrollbars", f"--user-data-dir={folder / 'chromium-profile'}",
              f"--window-size={size}"]
    browser = await asyncio.create_subprocess_exec(
        *common, "--dump-dom", page.as_uri(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(browser.communicate(), 90)
    assert browser.returncode == 0, "chromium could not read the page"
    shot = folder / f"{page.stem}.png"
    browser = await asyncio.create_subprocess_exec(
        *common, f"--screenshot={shot}", page.as_uri(),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await asyncio.wait_for(browser.wait(), 90)
    return out.decode(), shot.read_bytes()
