"""Text files -> blocks: Markdown (front matter, # headings), plain text, HTML, and FAQ tables
(CSV, JSONL: one whole block per question-and-answer pair)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

from bot.reading.blocks import Block, DocumentError, Extracted
from bot.reading.html_text import html_to_markdown

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".csv", ".jsonl"})
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FRONT_KEY = re.compile(r"^([A-Za-z_]+)\s*:\s*(.*?)\s*$")
NOT_UTF8 = "not UTF-8 text"


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError(NOT_UTF8) from None
    if not text.strip():
        raise DocumentError("empty")
    return text


def extract_text_file(suffix: str, data: bytes) -> Extracted:
    text = decode_text(data)
    out = Extracted()
    if suffix in (".csv", ".jsonl"):
        pairs = _csv_pairs(text) if suffix == ".csv" else _jsonl_pairs(text)
        out.blocks = [
            Block((), f"Q: {question}\nA: {answer}", whole=True, title=question, url=url)
            for question, answer, url in pairs
        ]
        return out
    if suffix in (".html", ".htm"):
        out.title, text = html_to_markdown(text)
    elif suffix in (".md", ".markdown"):
        meta, text = _front_matter(text)
        out.title = meta.get("title") or _first_heading(text)
        out.url = meta.get("url") or None
        out.access = access_groups(meta.get("access", ""))
    out.blocks = list(prose_blocks(text))
    return out


def markdown_access(name: str, data: bytes) -> tuple[str, ...]:
    """The groups a Markdown file's front matter names (`access: [hr, managers]`) without
    reading the rest of it; none for any other file or without one."""
    if not name.lower().endswith((".md", ".markdown")):
        return ()
    meta, _ = _front_matter(data.decode("utf-8-sig", "replace"))
    return access_groups(meta.get("access", ""))


def access_groups(value: str) -> tuple[str, ...]:
    """`[hr, managers]`, `hr, managers` or `hr managers`: the group names, sorted, each at
    most 200 characters, at most 100 of them."""
    names = value.strip().strip("[]").replace(",", " ").split()
    return tuple(sorted({name.strip("'\"")[:200] for name in names
                         if name.strip("'\"")}))[:100]


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


def prose_blocks(text: str) -> Iterator[Block]:
    """Paragraphs with the path of Markdown headings above them."""
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
