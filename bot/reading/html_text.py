"""HTML -> (title, Markdown-like text): headings kept as `#` lines, scripts, styles and
navigation dropped (stdlib parser, tolerant of broken markup)."""

from __future__ import annotations

from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "nav", "header", "footer", "noscript", "template", "aside"})
_BLOCK = frozenset({"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol",
                    "dd", "dt", "blockquote", "pre"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skip = 0
        self._in_title = False
        self._heading = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._line).split())
        self._line.clear()
        if text:
            prefix = "#" * self._heading + " " if self._heading else ""
            self.lines.append(prefix + text)
        self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag in _BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _HEADINGS:
            self._flush()
            self._heading = 0
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._line.append(data)


def html_to_markdown(html: str) -> tuple[str, str]:
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    parser._flush()
    return " ".join(parser.title.split()), "\n".join(parser.lines)
