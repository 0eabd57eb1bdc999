"""Markdown spoken as plain text, and long text cut into parts SpeechKit takes."""

from __future__ import annotations

from urllib.parse import urlencode

from bot.features.voice.speakable import parts, speakable

CODE = "Code is in the message."


def test_markup_is_not_read_aloud() -> None:
    markdown = (
        "# Setup\n\n**Bold** and *italic* and __under__ and ~~gone~~ words.\n"
        "- first item\n* second item\n1. numbered\n> quoted line\n"
        "See [the portal](https://example.com/a_(b)) or https://bare.example.org/x.\n"
        "Cited fact [1] and another [2, 3].\n![diagram](http://x/y.png)\n"
        "Run `pip install fmbot` now.\n---\n"
        "```python\nprint('secret')\n```\nDone 🎉."
    )
    text = speakable(markdown, CODE)
    assert text.startswith("Setup.\n")
    assert "Bold and italic and under and gone words." in text
    assert "first item\nsecond item\n1. numbered\nquoted line" in text
    assert "See the portal or." in text
    assert "Cited fact and another." in text
    assert "diagram" in text
    assert "Run pip install fmbot now." in text
    assert CODE in text
    for noise in ("*", "#", "`", "http", "[", "](", "print", "---", "🎉", ">"):
        assert noise not in text, noise
    assert text.endswith("Done.")


def test_snake_case_words_and_tables_survive() -> None:
    text = speakable("Set max_voice_seconds here.\n\n| a | b |\n|---|---|\n| 1 | 2 |", CODE)
    assert "max_voice_seconds" in text
    assert "a, b." in text
    assert "1, 2." in text
    assert "|" not in text


def test_parts_keep_every_word_in_order_within_the_limits() -> None:
    sentence = "Это предложение номер {n}, и в нём есть слова. "
    text = "".join(sentence.format(n=n) for n in range(300))
    fits = lambda s: len(urlencode({"text": s})) <= 15 * 1024 - 256  # noqa: E731
    pieces = parts(text, 5000, fits)
    assert len(pieces) >= 2
    assert all(len(p) <= 5000 and fits(p) for p in pieces)
    assert " ".join(pieces).split() == text.split(), "nothing lost, nothing reordered"
    assert all(p.endswith(".") for p in pieces), "cut at sentence ends"


def test_an_enormous_word_is_cut_too() -> None:
    pieces = parts("a" * 12_000 + " end", 5000)
    assert [len(p) for p in pieces] == [5000, 5000, 2004]
    assert "".join(pieces) == "a" * 12_000 + " end"
