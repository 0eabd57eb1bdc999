"""Files -> documents and passages: formats, headings, FAQ pairs kept whole, files skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.features.knowledge.documents import (
    MAX_FILE_BYTES,
    Candidate,
    DocumentError,
    Skipped,
    find_files,
    parse,
    read_bytes,
)
from bot.reading.chunking import MAX_CHARS, passages


def load(path: Path, root: Path) -> tuple[Candidate, bytes]:
    candidate = Candidate(str(root), path.relative_to(root).as_posix(), path)
    return candidate, read_bytes(candidate)


def test_markdown_front_matter_and_heading_paths(tmp_path: Path) -> None:
    file = tmp_path / "returns.md"
    file.write_text(
        "---\ntitle: Returns policy\nurl: https://x.example/r\n---\n# Returns\n\nIntro.\n\n"
        "## Refund times\n\nTen days.\n\n### Cards\n\nFive days.\n\n## Other\n\nMore.\n",
        encoding="utf-8",
    )
    document = parse(*load(file, tmp_path))
    assert (document.title, document.url) == ("Returns policy", "https://x.example/r")
    headings = [p.heading for p in passages(document)]
    assert headings == ["Returns", "Returns > Refund times", "Returns > Refund times > Cards",
                        "Returns > Other"]
    assert passages(document)[1].embedded_text(document.title).startswith(
        "Returns policy > Returns > Refund times\nTen days."
    )


def test_html_keeps_title_and_headings_and_drops_scripts_and_navigation(tmp_path: Path) -> None:
    (tmp_path / "g.html").write_text(
        "<html><head><title>Size guide</title><script>var secret = 1;</script></head><body>"
        "<nav>Home | Cart</nav><h1>Sizes</h1><p>Choose the larger one.</p><footer>(c)</footer>"
        "</body></html>", encoding="utf-8",
    )
    document = parse(*load(tmp_path / "g.html", tmp_path))
    text = " ".join(p.text for p in passages(document))
    assert document.title == "Size guide"
    assert "Choose the larger one." in text
    assert "secret" not in text
    assert "Cart" not in text
    assert "(c)" not in text
    assert passages(document)[0].heading == "Sizes"


def test_faq_tables_give_one_whole_passage_per_pair(tmp_path: Path) -> None:
    long_answer = "word " * 600
    (tmp_path / "faq.csv").write_text(
        f'question,answer,url\nOpening hours?,8 to 20,https://x.example/c\nLong?,"{long_answer}",\n',
        encoding="utf-8",
    )
    (tmp_path / "faq.jsonl").write_text(
        '{"question": "A?", "answer": "B"}\n\n{"question": "C?", "answer": "D", "url": "u"}\n',
        encoding="utf-8",
    )
    csv_doc = parse(*load(tmp_path / "faq.csv", tmp_path))
    pieces = passages(csv_doc)
    assert [p.text.split("\n")[0] for p in pieces] == ["Q: Opening hours?", "Q: Long?"]
    assert len(pieces[1].text) > MAX_CHARS  # kept whole
    assert csv_doc.url is None  # each pair is its own source (issue 27)
    assert [(p.title, p.url) for p in pieces] == [
        ("Opening hours?", "https://x.example/c"), ("Long?", None)
    ]
    assert len(passages(parse(*load(tmp_path / "faq.jsonl", tmp_path)))) == 2


def test_long_prose_is_cut_between_sentences(tmp_path: Path) -> None:
    sentence = "This sentence is about returning things to the shop. "
    (tmp_path / "long.txt").write_text(sentence * 100, encoding="utf-8")
    pieces = passages(parse(*load(tmp_path / "long.txt", tmp_path)))
    assert len(pieces) > 3
    assert all(len(p.text) <= MAX_CHARS for p in pieces)
    assert all(p.text.endswith("shop.") for p in pieces)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"  \n\n", "empty"),
        ("binary.txt", b"\x00\x01\x02PNG", "binary file"),
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8 text"),
        ("bad.csv", b"q,a\nx,y\n", "columns question,answer"),
        ("bad.jsonl", b'{"question": "x"}\n', 'needs "question" and "answer"'),
    ],
)
def test_unusable_files_say_why(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DocumentError, match=reason):
        parse(*load(tmp_path / name, tmp_path))


def test_oversized_files_are_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(DocumentError, match="too large"):
        read_bytes(Candidate(str(tmp_path), "big.txt", big))


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    # A directory where a file was listed: reading fails like a permission or I/O error.
    with pytest.raises(DocumentError, match="unreadable"):
        read_bytes(Candidate(str(tmp_path), "gone.md", tmp_path))


def test_find_files_skips_unsupported_and_hidden(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\ntext", encoding="utf-8")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.md").write_text("hidden", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b", encoding="utf-8")
    found = list(find_files([tmp_path, tmp_path / "missing"]))
    assert [f.path for f in found if isinstance(f, Candidate)] == ["a.md", "sub/b.txt"]
    skipped = {f.path: f.reason for f in found if isinstance(f, Skipped)}
    assert skipped["photo.png"] == "unsupported file type .png"
    assert "not a folder" in skipped[str(tmp_path / "missing")]
