"""KB_PATH folders -> documents: Markdown, plain text, HTML and FAQ tables (CSV, JSONL).

Each document is a list of blocks: a heading path with a paragraph of prose (cut into passages
later), or a whole question-and-answer pair (one passage, never cut). A file that cannot be
used is reported as `Skipped` with the reason, and the rest go on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.html_text import html_to_markdown

SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".csv", ".jsonl"})
MAX_FILE_BYTES = 5 * 2**20
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FRONT_KEY = re.compile(r"^([A-Za-z_]+)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    heading: tuple[str, ...]
    text: str
    whole: bool = False  # a FAQ pair: one passage as it is
    # A FAQ pair is its own source: its question is the title shown, its `url` the link
    # (None: the document's title and url).
    title: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Document:
    root: str
    path: str  # relative to root, with forward slashes
    title: str
    url: str | None
    digest: str  # sha256 of the file's bytes
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file found under a root, not read yet."""

    root: str
    path: str
    absolute: Path


class DocumentError(Exception):
    """The file cannot be indexed; the message says why."""


def find_files(roots: Sequence[Path]) -> Iterator[Candidate | Skipped]:
    """Every file under the roots (sorted, hidden ones left out); unsupported types and
    missing roots come out as Skipped."""
    for root in roots:
        if not root.is_dir():
            yield Skipped(str(root), "not a folder (KB_PATH)")
            continue
        for file in sorted(root.rglob("*")):
            relative = file.relative_to(root)
            if any(part.startswith(".") for part in relative.parts) or not file.is_file():
                continue
            path = relative.as_posix()
            if file.suffix.lower() not in SUFFIXES:
                yield Skipped(path, f"unsupported file type {file.suffix or '(none)'}")
                continue
            yield Candidate(str(root), path, file)


def read_bytes(candidate: Candidate) -> bytes:
    try:
        size = candidate.absolute.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})")
        return candidate.absolute.read_bytes()
    except OSError as exc:
        raise DocumentError(f"unreadable ({exc.strerror or exc})") from None


def parse(candidate: Candidate, data: bytes) -> Document:
    """The document in `data` (the file's bytes); DocumentError when it cannot be used."""
    if b"\x00" in data[:8192]:
        raise DocumentError("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError("not UTF-8 text") from None
    if not text.strip():
        raise DocumentError("empty")
    suffix = candidate.absolute.suffix.lower()
    document = Document(
        candidate.root, candidate.path, _default_title(candidate.path), None,
        hashlib.sha256(data).hexdigest(),
    )
    if suffix in (".csv", ".jsonl"):
        pairs = _csv_pairs(text) if suffix == ".csv" else _jsonl_pairs(text)
        document.blocks = [
            Block((), f"Q: {question}\nA: {answer}", whole=True, title=question, url=url)
            for question, answer, url in pairs
        ]
    else:
        if suffix in (".html", ".htm"):
            title, text = html_to_markdown(text)
            document.title = title or document.title
        elif suffix in (".md", ".markdown"):
            meta, text = _front_matter(text)
            document.title = meta.get("title") or _first_heading(text) or document.title
            document.url = meta.get("url") or None
        document.blocks = list(_prose_blocks(text))
    if not document.blocks:
        raise DocumentError("no text to index")
    return document


def _default_title(path: str) -> str:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem.replace("_", " ").replace("-", " ").strip().capitalize() or path


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            meta: dict[str, str] = {}
            for line in lines[1:end]:
                match = _FRONT_KEY.match(line)
                if match:
                    meta[match.group(1).lower()] = match.group(2).strip("'\"")
            return meta, "\n".join(lines[end + 1 :])
    return {}, text


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            return match.group(2)
    return None


def _prose_blocks(text: str) -> Iterator[Block]:
    """Paragraphs with the path of headings above them."""
    path: list[tuple[int, str]] = []
    paragraph: list[str] = []

    def flush() -> Iterator[Block]:
        body = "\n".join(paragraph).strip()
        paragraph.clear()
        if body:
            yield Block(tuple(title for _, title in path), body)

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            yield from flush()
            level = len(match.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, match.group(2)))
        elif not line.strip():
            yield from flush()
        else:
            paragraph.append(line.rstrip())
    yield from flush()


def _csv_pairs(text: str) -> list[tuple[str, str, str | None]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = {name.strip().lower() for name in reader.fieldnames or []}
    if not {"question", "answer"} <= fields:
        raise DocumentError("a FAQ table needs the columns question,answer[,url]")
    pairs = []
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if clean.get("question") and clean.get("answer"):
            pairs.append((clean["question"], clean["answer"], clean.get("url") or None))
    return pairs


def _jsonl_pairs(text: str) -> list[tuple[str, str, str | None]]:
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise DocumentError(f"line {number} is not JSON") from None
        if not isinstance(item, dict) or not item.get("question") or not item.get("answer"):
            raise DocumentError(f'line {number} needs "question" and "answer"')
        url = item.get("url")
        pairs.append((str(item["question"]), str(item["answer"]), str(url) if url else None))
    return pairs
