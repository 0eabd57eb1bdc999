"""What `fmbot kb sync` shows while it runs and after, for either backend (cli.py,
cli_store.py): a progress bar and the summary of the sync."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.features.knowledge.indexer import Progress, SyncReport

BAR = 30


def summary(report: SyncReport) -> str:
    lines = [
        f"files: {report.files} ({report.indexed} indexed, {report.unchanged} unchanged, "
        f"{report.removed} removed)",
        *([f"kept: {report.kept} documents gone from KB_PATH stay indexed"]
          if report.removal_refused else []),
        f"passages indexed now: {report.passages}",
        f"embedded now: {report.embedded}, reused from the cache: {report.reused}",
        f"skipped: {len(report.skipped)}",
    ]
    lines += [f"  {skipped.path}: {skipped.reason}" for skipped in report.skipped]
    lines.append(f"time: {report.seconds:.1f} s")
    return "\n".join(lines)


class ProgressBar:
    """`[#####.....] 12/40 files, 37 embedded, path` on a terminal; a line per tenth elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_tenth = -1
        self._started = time.monotonic()

    def __call__(self, progress: Progress) -> None:
        share = progress.done / progress.total if progress.total else 1.0
        filled = int(share * BAR)
        line = (f"[{'#' * filled}{'.' * (BAR - filled)}] {progress.done}/{progress.total} files, "
                f"{progress.embedded} embedded, {time.monotonic() - self._started:.0f} s")
        if self.tty:
            self.stream.write(f"\r{line} {progress.path[:40]:<40}")
        elif int(share * 10) != self._last_tenth:
            self._last_tenth = int(share * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
