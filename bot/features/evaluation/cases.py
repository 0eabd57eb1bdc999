"""The case file of `fmbot eval`: TOML read with tomllib, checked with pydantic.

```toml
[tools]                       # stubs every case shares (optional)
order_status = '{"status": "shipped"}'

[[case]]
name = "order status"
persona = "Anna, polite, writes in English"
goal = "find out when order A-1001 arrives"
facts = ["the order number is A-1001"]
criteria = ["gives the delivery date from the order status"]
must_not = ["promises a refund"]
handoff = false               # whether a person should be asked for
max_turns = 6

[case.tools]                  # canned results, by tool name (text, or a table sent as JSON)
order_status = { status = "shipped", delivery = "2026-06-12" }

[case.context]                # the App's context providers' text, by provider name (a
loyalty = "Gold member"       # provider without one is not run); a file-wide [context] too
```

A malformed file is refused with one line naming the file, the line and the problem, before
any model is called (`CaseFileError`).
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_TURNS = 30
# Bounds on what one file may ask for: every case is several model calls per turn.
MAX_CASES = 200
MAX_FILE_BYTES = 1_000_000
Stub = str | dict[str, Any] | list[Any]
Text = Annotated[str, Field(min_length=1)]


class CaseFileError(ValueError):
    """One line: the file, the line and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Case(_Strict):
    """One simulated customer and what their conversation must (not) show."""

    name: Text
    persona: Text
    goal: Text
    facts: tuple[Text, ...] = ()
    criteria: tuple[Text, ...] = Field(min_length=1)
    must_not: tuple[Text, ...] = ()
    handoff: bool = False
    max_turns: Annotated[int, Field(ge=1, le=MAX_TURNS)] = 8
    tools: dict[str, Stub] = Field(default_factory=dict)
    context: dict[str, str] = Field(default_factory=dict)
    groups: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        default=(), max_length=100)
    """The customer is an employee signed in as a member of these groups (an internal
    helpdesk, docs/helpdesk.md): what they may read and which tools they are offered.
    Without it, someone not signed in."""

    @field_validator("name", "persona", "goal")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank")
        return value.strip()

    def stubs(self, shared: dict[str, Stub]) -> dict[str, str]:
        """The tool results of this case (its own over the file's shared ones), as text."""
        merged = {**shared, **self.tools}
        return {name: stub_text(value) for name, value in merged.items()}

    def context_stubs(self, shared: dict[str, str]) -> dict[str, str]:
        """The context providers' texts of this case (its own over the file's shared ones)."""
        return {**shared, **self.context}


class CaseFile(_Strict):
    """The whole file: shared tool stubs and the cases."""

    tools: dict[str, Stub] = Field(default_factory=dict)
    context: dict[str, str] = Field(default_factory=dict)
    case: tuple[Case, ...] = Field(min_length=1, max_length=MAX_CASES)

    def named(self, name: str) -> Case:
        """The case called `name`, the file's shared stubs under its own. Raises KeyError."""
        for case in self.case:
            if case.name == name:
                return case.model_copy(update={"tools": {**self.tools, **case.tools},
                                               "context": {**self.context, **case.context}})
        names = ", ".join(repr(case.name) for case in self.case)
        raise KeyError(f"no case named {name!r} (the cases: {names})")


def stub_text(value: Stub) -> str:
    """A stub as the tool's result: text as written, a table or an array as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_cases(path: str | Path) -> CaseFile:
    """Parse and check `path`. Raises CaseFileError (one line) for a missing, unreadable or
    malformed file, or two cases of the same name."""
    path = Path(path)
    label = path.name
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CaseFileError(f"{path}: {path.stat().st_size:,} bytes, more than an eval "
                                f"file may hold ({MAX_FILE_BYTES:,}): split it")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"{path}: cannot read it: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseFileError(f"{label}: not valid TOML: {exc}") from None
    try:
        parsed = CaseFile.model_validate(raw)
    except ValidationError as exc:
        raise CaseFileError(_one_line(label, text, raw, exc)) from None
    seen: set[str] = set()
    for index, case in enumerate(parsed.case):
        if case.name in seen:
            line = _Lines(text).key(index, "name")
            raise CaseFileError(f"{label}, line {line}: a second case named {case.name!r}: "
                                "give each case its own name")
        seen.add(case.name)
    return parsed


def problem(path: Path) -> str | None:
    """Why `read_cases` refuses the file at `path`, in its one line (None: it reads it):
    the `CaseFileCheck` the evaluation feature offers the console."""
    try:
        read_cases(path)
    except CaseFileError as exc:
        return str(exc)
    return None


def _one_line(label: str, text: str, raw: dict[str, Any], exc: ValidationError) -> str:
    """pydantic's first error as `file, line N: case 'x': key: problem`; a misspelt key
    (unknown, and close to a key the model wants) is named before anything else."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = list(error["loc"])
    lines = _Lines(text)
    if not loc:
        return f"{label}: {error['msg']}"
    if loc[0] != "case":
        if loc[0] in ("tools", "context"):
            return f"{label}, line {lines.table(str(loc[0]))}: [{loc[0]}]: {_message(error)}"
        keys = "[tools], [context] and [[case]]"
        return (f"{label}: unknown key {loc[0]!r}{_did_you_mean(str(loc[0]), CaseFile)}: the "
                f"file holds {keys} tables")
    if error["type"] == "too_long":
        return (f"{label}: {len(raw.get('case') or [])} cases, more than a file may hold "
                f"({MAX_CASES}): split it")
    if len(loc) < 2 or not isinstance(loc[1], int):
        return f"{label}: add at least one [[case]] table (docs/evaluation.md shows the format)"
    index = loc[1]
    cases = raw.get("case") or []
    name = cases[index].get("name") if index < len(cases) and isinstance(
        cases[index], dict) else None
    who = f"case {name!r}" if isinstance(name, str) and name else f"case {index + 1}"
    key = str(loc[2]) if len(loc) > 2 else ""
    kind = error["type"]
    if not key:
        return f"{label}, line {lines.header(index)}: {who}: {_message(error)}"
    if kind == "missing":
        return f"{label}, line {lines.header(index)}: {who}: {key!r} is missing: add it"
    line = lines.key(index, key)
    if kind == "extra_forbidden":
        allowed = ", ".join(Case.model_fields)
        return (f"{label}, line {line}: {who}: unknown key {key!r}"
                f"{_did_you_mean(key, Case)}: the keys of a case are {allowed}")
    return f"{label}, line {line}: {who}: {key}: {_message(error)}"


def _did_you_mean(key: str, model: type[BaseModel]) -> str:
    close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    return (message[:1].lower() + message[1:]).replace("dictionary", "table")


_CASE = re.compile(r"^\s*\[\[\s*case\s*\]\]")


class _Lines:
    """Where things are in the file's text: the n-th [[case]] header, a key within it."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if _CASE.match(line)]

    def header(self, index: int) -> int:
        return self.headers[index] + 1 if index < len(self.headers) else 1

    def table(self, name: str) -> int:
        pattern = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
        return next((i + 1 for i, line in enumerate(self.lines) if pattern.match(line)), 1)

    def key(self, index: int, key: str) -> int:
        """The line of `key` in the `index`-th case (its sub-tables included), else its
        header's."""
        if index >= len(self.headers):
            return 1
        start = self.headers[index]
        end = self.headers[index + 1] if index + 1 < len(self.headers) else len(self.lines)
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}\s*=|\[\s*case\.{re.escape(key)}\s*\])")
        for number in range(start, end):
            if pattern.match(self.lines[number]):
                return number + 1
        return start + 1
