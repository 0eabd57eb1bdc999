"""Where a bot process's CPU goes, part by part, from the py-spy raw output `bench_load.py
--profile PREFIX` writes (collapsed stacks: `frame;frame;... count`).

    .venv/bin/python bench/profile_parts.py /tmp/prof/fm-200.txt [/tmp/prof/plain-200.txt]

Each sample goes to the first part (in the order below) whose pattern one of its frames
matches, innermost frame first, so a database call made by a feature counts as the database.
Printed: each part's share of the samples, per file given."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# (part, pattern on a frame's "function (file:line)"), innermost match wins.
PARTS: list[tuple[str, re.Pattern[str]]] = [
    ("database (SQLAlchemy, aiosqlite, SQLite)", re.compile(r"sqlalchemy/|aiosqlite/|sqlite3")),
    ("JSON and pydantic (Bot API models)", re.compile(r"json/|pydantic|pydantic_core")),
    ("Telegram HTTP (aiohttp, aiogram's session)",
     re.compile(r"aiohttp/|aiogram/client/session")),
    ("model HTTP (httpx, httpcore, h11, the transport)",
     re.compile(r"httpx/|httpcore/|h11/|bot/foundation_models/(net|transport)\.py")),
    ("aiogram (dispatch, filters, methods)", re.compile(r"aiogram/")),
    ("the outbox (drafts, budgets, lanes)", re.compile(r"bot/telegram/outbox/")),
    ("rendering (Markdown, entities, rich)",
     re.compile(r"bot/telegram/render/|markdown_it|bot/features/rich/")),
    ("Foundation Models client (streams, limits)", re.compile(r"bot/foundation_models/")),
    ("conversation core (turn, prompt, history)", re.compile(r"bot/conversation/|bot/prompting")),
    ("features (bot/features)", re.compile(r"bot/features/")),
    ("Telegram front (intake, answers, queues)", re.compile(r"bot/telegram/")),
    ("plain bot's own code", re.compile(r"plain_bot\.py")),
    ("event loop (asyncio, uvloop)", re.compile(r"asyncio/|uvloop")),
]


def parts_of(path: Path) -> tuple[Counter[str], int]:
    found: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in reversed(frames):
            part = next((name for name, pattern in PARTS if pattern.search(frame)), None)
            if part is not None:
                found[part] += n
                break
        else:
            found["other (standard library, idle)"] += n
    return found, total


def main(paths: list[str]) -> None:
    results = [(Path(p).name, *parts_of(Path(p))) for p in paths]
    names = [name for name, _ in PARTS] + ["other (standard library, idle)"]
    print(f"{'part':<52}" + "".join(f"{name:>22}" for name, _, _ in results))
    for part in names:
        row = "".join(f"{100 * found[part] / total:>21.1f}%" for _, found, total in results)
        print(f"{part:<52}{row}")
    print(f"{'samples':<52}" + "".join(f"{total:>22}" for _, _, total in results))


if __name__ == "__main__":
    main(sys.argv[1:])
