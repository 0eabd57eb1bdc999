"""Markdown tables as aligned monospace text (shown in a ``pre`` block).

A plain message has no table entity; a pre block keeps the columns lined up on every client.
Since Bot API 10.1 a rich message has a table block, and an answer with a table is sent as
one (bot/features/rich, ``RICH_MESSAGES=on``): this rendering is the fallback, for
``RICH_MESSAGES=off``, a refused rich message, an answer over a rich message's limits, and the
frames streamed before the final message.
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it.token import Token


def table_rows(
    tokens: list[Token], start: int, cell_text: Callable[[Token], str]
) -> tuple[list[list[str]], list[str], int, int]:
    """Read the table opened at ``tokens[start]``: (rows, aligns, header rows, index after)."""
    rows: list[list[str]] = []
    aligns: list[str] = []
    header_rows = 0
    in_head = False
    index = start + 1
    while index < len(tokens) and tokens[index].type != "table_close":
        token = tokens[index]
        if token.type in ("thead_open", "thead_close"):
            in_head = token.type == "thead_open"
        elif token.type == "tr_open":
            rows.append([])
            header_rows += in_head
        elif token.type in ("th_open", "td_open"):
            if in_head:
                style = str(token.attrs.get("style", ""))
                aligns.append(style.removeprefix("text-align:") if style else "left")
        elif token.type == "inline" and rows:
            rows[-1].append(" ".join(cell_text(token).split()))
        index += 1
    return rows, aligns, header_rows, index + 1


def format_table(rows: list[list[str]], aligns: list[str], header_rows: int) -> str:
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    aligns = aligns + ["left"] * (columns - len(aligns))
    for cells in rows:
        cells += [""] * (columns - len(cells))
    widths = [max(len(row[c]) for row in rows) for c in range(columns)]
    lines = [_line(row, widths, aligns) for row in rows]
    if header_rows:
        lines.insert(header_rows, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def _line(cells: list[str], widths: list[int], aligns: list[str]) -> str:
    out = []
    for cell, width, align in zip(cells, widths, aligns, strict=True):
        if align == "right":
            out.append(cell.rjust(width))
        elif align == "center":
            out.append(cell.center(width))
        else:
            out.append(cell.ljust(width))
    return " | ".join(out).rstrip()
