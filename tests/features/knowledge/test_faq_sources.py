"""Each pair of a FAQ table is its own source: cited with its question, linked to its own
`url` (issue 27, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.features.knowledge import KbMode
from bot.features.knowledge.documents import Candidate, parse, read_bytes
from bot.grounding.prompt import grounded_prompt, mark_cited
from bot.reading.chunking import passages
from bot.telegram.render.citations import with_citations
from tests.features.knowledge.conftest import KbFactory

PAIRS = [
    ("Where can I park my car?", "Park in the underground garage, level -2.",
     "https://wiki.example/office/parking"),
    ("How do I get a visitor badge?", "Ask the front desk on the ground floor for a badge.",
     "https://wiki.example/office/badges"),
    ("Is there a gym in the office?", "Yes, on the fifth floor, open 7 to 22.", ""),
]


def write_faq(folder: Path) -> None:
    rows = "".join(f'"{q}","{a}",{u}\n' for q, a, u in PAIRS)
    (folder / "office-faq.csv").write_text("question,answer,url\n" + rows, encoding="utf-8")
    lines = "".join(
        f'{{"question": "{q}", "answer": "{a}"' + (f', "url": "{u}"' if u else "") + "}\n"
        for q, a, u in PAIRS
    )
    (folder / "office-faq.jsonl").write_text(lines, encoding="utf-8")


def test_every_pair_keeps_its_question_and_url(tmp_path: Path) -> None:
    write_faq(tmp_path)
    for name in ("office-faq.csv", "office-faq.jsonl"):
        candidate = Candidate(str(tmp_path), name, tmp_path / name)
        document = parse(candidate, read_bytes(candidate))
        assert document.url is None  # no pair stands for the file
        assert [(p.title, p.url) for p in passages(document)] == [
            (q, u or None) for q, _, u in PAIRS
        ]


@pytest.mark.slow
async def test_a_cited_pair_links_to_its_own_page_under_its_question(
    make_kb: KbFactory, docs: Path
) -> None:
    write_faq(docs)
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    found = await kb.search("How do I get a visitor badge?")
    hit = next(hit for hit in found.hits if hit.path == "office-faq.csv")
    assert hit.text.startswith("Q: How do I get a visitor badge?")
    assert (hit.title, hit.url) == ("How do I get a visitor badge?",
                                    "https://wiki.example/office/badges")
    gym = next(hit for hit in (await kb.search("Is there a gym in the office?")).hits
               if hit.path == "office-faq.jsonl")
    assert (gym.title, gym.url) == ("Is there a gym in the office?", None)

    grounding = grounded_prompt("", [hit, gym], 4000)
    assert "[1] How do I get a visitor badge?\n" in grounding.system_prompt
    text = "Ask the front desk [1]. The gym is on the fifth floor [2]."
    shown = with_citations(text, mark_cited(grounding.sources, text), "Sources:")
    assert "(https://wiki.example/office/badges)" in shown
    footer = shown.split("**Sources:**\n", 1)[1]
    assert footer.splitlines() == [
        "\\[1\\] [How do I get a visitor badge?](https://wiki.example/office/badges)",
        "\\[2\\] Is there a gym in the office?",
    ]
    assert "Office faq" not in footer


def test_the_upgrade_has_faq_tables_indexed_again(tmp_path: Path) -> None:
    """Tables indexed before 0009 carry the file's name and first url on every pair: the
    next sync indexes them again (from the embedding cache), other files stay as they are."""
    import sqlite3

    from bot.storage.migrations import migrate_blocking

    path = tmp_path / "kb.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate_blocking(url, "0007")
    with sqlite3.connect(path) as db:
        for name in ("faq.csv", "more/FAQ.JSONL", "guide.md"):
            db.execute(
                "INSERT INTO kb_documents (root, path, title, url, content_hash, model, "
                "passage_count, synced_at) VALUES ('/kb', ?, 'Faq', 'https://x', 'digest', "
                "'m', 1, '2026-11-24 00:00:00')", (name,),
            )
    migrate_blocking(url, "head")
    with sqlite3.connect(path) as db:
        hashes = dict(db.execute("SELECT path, content_hash FROM kb_documents").fetchall())
    assert hashes == {"faq.csv": "", "more/FAQ.JSONL": "", "guide.md": "digest"}
