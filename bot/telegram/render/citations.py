"""A grounded answer's citations -> Markdown links, and a "Sources" footer of what was cited.

`[1]` becomes a link to source 1's `url` (plain `[1]` when it has none: the footer names its
title); a number the model was not given is dropped, never shown raw. The footer lists the
cited sources only, by their numbers, each linked to its `url` or named by its title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from bot.grounding.prompt import CITATION
from bot.grounding.sources import Source, label

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
