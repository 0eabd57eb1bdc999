"""What one check found: passed, failed (with the fix) or skipped, one line each (`fmbot
check`'s lines, fmbot's own and the features')."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One line of `fmbot check`: what was checked (`name`), whether it passed (`ok`), what
    was found (`detail`) and, when it failed, what to do (`fix`)."""

    name: str
    """What was checked."""
    ok: bool
    """Whether it passed."""
    detail: str
    """What was found."""
    fix: str = ""
    """What to do, when it failed."""
    skipped: bool = False
    """A prerequisite failed: not run, neither passed nor failed."""

    def line(self) -> str:
        """The line `fmbot check` prints (two when it failed: the fix under it)."""
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
    """A check that passed: `ok    name: detail`."""
    return Outcome(name, True, detail)


def failed(name: str, detail: str, fix: str) -> Outcome:
    """A check that failed, with what to do: `FAIL  name: detail` and `fix: ...` under it."""
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
