"""``parse_mode=HTML`` as Telegram parses it: text plus entities, or the 400 it answers.

Only what Telegram documents (https://core.telegram.org/bots/api#html-style). MarkdownV2 is not
emulated: the fake stores such text raw and logs a warning, since fmbot sends entities.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from bot.testing.telegram.wire import bad_request, utf16_len

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self.stack: list[tuple[str, dict[str, Any]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        entity: dict[str, Any]
        if tag in _SIMPLE:
            kind = _SIMPLE[tag]
            if tag == "blockquote" and "expandable" in attributes:
                kind = "expandable_blockquote"
            entity = {"type": kind}
        elif tag == "span" and attributes.get("class") == "tg-spoiler":
            entity = {"type": "spoiler"}
        elif tag == "a" and attributes.get("href"):
            entity = {"type": "text_link", "url": attributes["href"]}
        elif tag == "tg-emoji" and attributes.get("emoji-id"):
            entity = {"type": "custom_emoji", "custom_emoji_id": attributes["emoji-id"]}
        else:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                self.stack[-1][1]["language"] = language
            entity = {"type": "_skip"}
        entity["offset"] = utf16_len(self.text)
        self.stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise bad_request(f'can\'t parse entities: Unexpected end tag "{tag}"')
        _, entity = self.stack.pop()
        entity["length"] = utf16_len(self.text) - entity["offset"]
        if entity["type"] != "_skip" and entity["length"] > 0:
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    parser = _Parser()
    parser.feed(source)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1][0]
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
        )
    parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return parser.text, parser.entities
