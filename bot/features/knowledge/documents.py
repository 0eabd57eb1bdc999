"""KB_PATH folders -> documents: Markdown, plain text, HTML, FAQ tables (CSV, JSONL), PDF and
DOCX (and PPTX, XLSX with the `office` extra), read by extractors.py.

Each document is a list of blocks: a heading path with a paragraph of prose (cut into passages
later), or a whole question-and-answer pair or piece of a table (one passage, never cut). A
file that cannot be used is reported as `Skipped` with the reason, and the rest go on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.plugin.reading import (
    BINARY_SUFFIXES,
    SUFFIXES,
    Block,
    DocumentError,
    Extracted,
    access_groups,
    extract,
)

__all__ = [
    "MAX_BINARY_BYTES", "MAX_FILE_BYTES", "SUFFIXES", "Block", "Candidate", "Document",
    "DocumentError", "Skipped", "content_digest", "find_files", "folder_access", "parse",
    "read_bytes",
]

MAX_FILE_BYTES = 5 * 2**20
# PDF and Office files carry fonts and pictures besides their text.
MAX_BINARY_BYTES = 50 * 2**20


@dataclass(slots=True)
class Document:
    root: str
    path: str  # relative to root, with forward slashes
    title: str
    url: str | None
    digest: str  # content_digest: sha256 of the file's bytes and its folder's .access
    blocks: list[Block] = field(default_factory=list)
    # The groups that may read it (front matter `access:`, else the nearest folder's
    # `.access` file); empty: every admitted user may.
    access: tuple[str, ...] = ()


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
    binary = candidate.absolute.suffix.lower() in BINARY_SUFFIXES
    limit = MAX_BINARY_BYTES if binary else MAX_FILE_BYTES
    try:
        size = candidate.absolute.stat().st_size
        if size > limit:
            raise DocumentError(f"too large ({size:,} bytes; the limit is {limit:,})")
        return candidate.absolute.read_bytes()
    except OSError as exc:
        raise DocumentError(f"unreadable ({exc.strerror or exc})") from None


def parse(candidate: Candidate, data: bytes) -> Document:
    """The document in `data` (the file's bytes), read in this process without bounds (for
    tools and tests; the indexer reads through reading.DocumentReader); DocumentError when
    it cannot be used."""
    return document_of(candidate, data, extract(candidate.path, data))


def document_of(candidate: Candidate, data: bytes, extracted: Extracted) -> Document:
    """The document of `candidate`, whose bytes `data` were read into `extracted`."""
    if not extracted.blocks:
        raise DocumentError("no text to index")
    folder = folder_access(candidate)
    return Document(
        candidate.root, candidate.path, extracted.title or _default_title(candidate.path),
        extracted.url, content_digest(data, folder), extracted.blocks,
        extracted.access or folder,
    )


def content_digest(data: bytes, folder: tuple[str, ...]) -> str:
    """What tells a changed document: its bytes, and its folder's `.access` groups (the front
    matter's are in the bytes), so that a changed `.access` file re-indexes it."""
    digest = hashlib.sha256(data)
    if folder:
        digest.update(b"\0access:" + ",".join(folder).encode())
    return digest.hexdigest()


def folder_access(candidate: Candidate) -> tuple[str, ...]:
    """The groups named by the nearest `.access` file in the document's folder or one above
    it, up to its KB_PATH root (group names separated by commas, spaces or lines; `#` starts
    a comment); none: open to every admitted user."""
    root = Path(candidate.root)
    folder = candidate.absolute.parent
    while True:
        named = folder / ".access"
        if named.is_file():
            try:
                text = named.read_text(encoding="utf-8", errors="replace")[:10_000]
            except OSError:
                text = ""
            lines = (line.split("#", 1)[0] for line in text.splitlines())
            return access_groups(" ".join(lines))
        if folder == root or root not in folder.parents:
            return ()
        folder = folder.parent


def _default_title(path: str) -> str:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem.replace("_", " ").replace("-", " ").strip().capitalize() or path
