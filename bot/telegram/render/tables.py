"""Markdown tables as aligned monospace text (shown in a ``pre`` block).

Telegram has no table entity; a pre block keeps the columns lined up on every client.
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it.tree import SyntaxTreeNode


def render_table(table: SyntaxTreeNode, cell_text: Callable[[SyntaxTreeNode], str]) -> str:
    rows: list[list[str]] = []
    aligns: list[str] = []
    header_rows = 0
    for section in table.children:  # thead, tbody
        for row in section.children:
            cells = []
            for cell in row.children:
                cells.append(" ".join(cell_text(cell).split()))
                if section.type == "thead":
                    style = str(cell.attrs.get("style", ""))
                    aligns.append(style.removeprefix("text-align:") if style else "left")
            rows.append(cells)
            if section.type == "thead":
                header_rows += 1
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    aligns += ["left"] * (columns - len(aligns))
    for cells in rows:
        cells += [""] * (columns - len(cells))
    widths = [max(len(row[c]) for row in rows) for c in range(columns)]
    lines = [_line(row, widths, aligns) for row in rows]
    if header_rows:
        rule = "-+-".join("-" * width for width in widths)
        lines.insert(header_rows, rule)
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
