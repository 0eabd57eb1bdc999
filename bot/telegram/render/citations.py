"""A grounded answer's citations -> Markdown links, and a "Sources" footer of what was cited.

`[1]` becomes a link to source 1's `url` (plain `[1]` when it has none: the footer names its
title); a number the model was not given is dropped, never shown raw. The footer lists the
cited sources only, by their numbers, each linked to its `url` or named by its title.

`grounded_final` and `grounded_partial`: a turn's result as shown, read off its grounding
(`bot.grounding.turn.grounded_of`): "not found", or the answer with its citations as links.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import quote

from bot.grounding.prompt import CITATION, for_stream
from bot.grounding.sources import Source, label
from bot.grounding.turn import WithParts, grounded_of

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()~>#+\-=|{}.!<])")


def escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _href(url: str) -> str:
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def _citation(source: Source) -> str:
    label = f"\\[{source.number}\\]"
    return f"[{label}]({_href(source.url)})" if source.url else label


def with_citations(text: str, sources: Sequence[Source], heading: str) -> str:
    by_number = {source.number: source for source in sources}

    def replace(match: re.Match[str]) -> str:
        numbers = [int(part) for part in re.split(r"[,;]", match.group(1))]
        return "".join(_citation(by_number[n]) for n in numbers if n in by_number)

    body = re.sub(r"[ \t]+(?=[.,;:!?](?:\s|$))", "", CITATION.sub(replace, text)).rstrip()
    cited = [source for source in sources if source.cited]
    if not cited:
        return body
    lines = []
    for source in cited:
        name = escape(label(source.title or source.path, source.heading).replace(" > ", " › "))
        shown = f"[{name}]({_href(source.url)})" if source.url else name
        lines.append(f"\\[{source.number}\\] {shown}")
    return f"{body}\n\n**{escape(heading)}**\n" + "\n".join(lines)


class Answered(WithParts, Protocol):
    """A turn's result, as the renderer reads it: its text and its parts."""

    @property
    def text(self) -> str: ...


def grounded_final(result: Answered, t: Callable[[str], str]) -> str | None:
    """A grounded answer's final text: the stored "not found" text (localized, with the next
    step if any), or the answer with its citations as links and the "Sources" footer; None
    when it has neither (not grounded)."""
    grounded = grounded_of(result)
    if grounded.not_found:
        return result.text or t("answer_not_found")
    if grounded.sources:
        return with_citations(result.text, grounded.sources, t("answer_sources"))
    return None


def grounded_partial(result: Answered) -> str:
    """A failed answer's partial text, without a grounded answer's raw citations or marker."""
    return for_stream(result.text) if grounded_of(result).sources else result.text
