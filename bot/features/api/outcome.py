"""What one check found: passed, failed (with the fix) or skipped, one line each."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False  # a prerequisite failed: not run, neither passed nor failed

    def line(self) -> str:
        if self.skipped:
            return f"skip  {self.name}: skipped: {self.detail}"
        if self.ok:
            return f"ok    {self.name}: {self.detail}"
        return f"FAIL  {self.name}: {self.detail}\n      fix: {self.fix}"


def summary(outcomes: list[Outcome]) -> str:
    """The last line: passed, failed and (when any) skipped, each counted once; a skipped
    check was not run, so it is not counted as passed."""
    skips = sum(o.skipped for o in outcomes)
    failures = sum(not o.ok for o in outcomes)
    line = f"{len(outcomes) - failures - skips} passed, {failures} failed"
    return line + (f", {skips} skipped" if skips else "")


def passed(name: str, detail: str) -> Outcome:
    return Outcome(name, True, detail)


def failed(name: str, detail: str, fix: str) -> Outcome:
    return Outcome(name, False, detail, fix)


def skipped(name: str, because: str) -> Outcome:
    """A check not run because one it depends on failed (that one's line says why)."""
    return Outcome(name, True, because, skipped=True)


def unexpected(name: str, exc: BaseException) -> Outcome:
    """A failure no check foresaw, as its one line (the traceback at DEBUG)."""
    log.debug("check %s failed", name, exc_info=exc)
    reason = (str(exc).strip().splitlines() or [""])[0]
    return failed(name, f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__,
                  "unexpected: run with LOG_LEVEL=DEBUG for the details, and report it if "
                  "the setting looks right")
