"""A simulated conversation as the judge and the report read it: numbered lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Speaker = Literal["customer", "bot", "tool"]


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    speaker: Speaker
    text: str


@dataclass(slots=True)
class Transcript:
    lines: list[Line] = field(default_factory=list)

    def add(self, speaker: Speaker, text: str) -> Line:
        line = Line(len(self.lines) + 1, speaker, text)
        self.lines.append(line)
        return line

    def text(self) -> str:
        """One numbered line per message ("3 bot: ..."), for the judge."""
        return "\n".join(f"{line.number} {line.speaker}: {line.text}" for line in self.lines)

    def line(self, number: int) -> Line | None:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else None
