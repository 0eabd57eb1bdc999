"""split_rendered: where long answers are cut."""

from __future__ import annotations

from aiogram.types import MessageEntity

from bot.telegram.render import RenderedText, render_markdown, split_rendered, utf16_len


def test_short_text_is_one_part_and_blank_is_none() -> None:
    r = render_markdown("hello **there**")
    assert split_rendered(r) == [r]
    assert split_rendered(RenderedText("  \n ", [])) == []


def test_prefers_paragraph_boundaries() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(12)]
    r = render_markdown("\n\n".join(p.strip() for p in paragraphs))
    parts = split_rendered(r)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part.text) <= 4096
        assert part.text.startswith("Paragraph ")
        assert part.text.endswith("word")


def test_long_code_block_becomes_several_pre_blocks_with_language() -> None:
    code = "\n".join(f"    line_{i} = compute({i})  # comment" for i in range(300))
    r = render_markdown(f"Intro text.\n\n```python\n{code}\n```\n\nOutro.")
    parts = split_rendered(r, 4096)
    assert parts[0].text == "Intro text."
    assert parts[-1].text.endswith("# comment\n\nOutro.")  # the tail fits with the outro
    code_parts = parts[1:]
    assert len(code_parts) == 3
    for part in code_parts:
        assert len(part.entities) == 1
        pre = part.entities[0]
        assert (pre.type, pre.language, pre.offset) == ("pre", "python", 0)
        assert part.text.startswith("    line_")  # indentation inside code is kept
    code_texts = [p.text[: p.entities[0].length] for p in code_parts]
    assert "\n".join(code_texts) == code


def test_long_paragraph_cut_at_sentence_then_word() -> None:
    sentence = "This is a sentence with some words in it. "
    r = RenderedText((sentence * 10).strip(), [])
    parts = split_rendered(r, 100)
    assert all(p.text.endswith(".") for p in parts)
    words = RenderedText("abcdefghi " * 30, [])
    parts = split_rendered(words, 25)
    assert all(p.text.split() == ["abcdefghi", "abcdefghi"] for p in parts)


def test_hard_cut_respects_surrogate_pairs() -> None:
    r = RenderedText("😀" * 10, [MessageEntity(type="bold", offset=0, length=20)])
    parts = split_rendered(r, 5)
    assert [p.text for p in parts] == ["😀😀"] * 5
    assert all(p.entities == [MessageEntity(type="bold", offset=0, length=4)] for p in parts)


def test_entity_spanning_a_cut_is_clipped_into_both_parts() -> None:
    text = "aaaa bbbb cccc"
    r = RenderedText(text, [MessageEntity(type="italic", offset=2, length=10)])
    parts = split_rendered(r, 9)
    assert [p.text for p in parts] == ["aaaa bbbb", "cccc"]
    assert parts[0].entities == [MessageEntity(type="italic", offset=2, length=7)]
    assert parts[1].entities == [MessageEntity(type="italic", offset=0, length=2)]


def test_four_thousand_token_answer() -> None:
    section = (
        "## Step {n}\n\nSome explanation with **bold** and `code` 😀.\n\n```sh\necho {n}\n```\n"
    )
    md = "\n".join(section.format(n=n) for n in range(400))
    parts = split_rendered(render_markdown(md))
    assert len(parts) >= 5
    assert all(utf16_len(p.text) <= 4096 for p in parts)
    assert parts[0].text.startswith("Step 0")
    assert parts[-1].text.endswith("echo 399")
