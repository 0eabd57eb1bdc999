"""Rich messages (Bot API 10.1, core.telegram.org/bots/api#sendrichmessage): ``sendRichMessage``,
``sendRichMessageDraft`` (private chats, like sendMessageDraft; ``chat.drafts[i].rich``) and
``editMessageText`` with ``rich_message`` take an ``InputRichMessage`` (exactly one of
``html``, ``markdown`` or ``blocks``) and the message shows a ``RichMessage`` (``blocks``).

The fake turns ``markdown`` into blocks itself (with markdown-it, CommonMark with GFM tables, as
Telegram's rich Markdown reads them: a table becomes a ``table`` block of cells, a heading a
``heading``, ``$$…$$`` alone in a paragraph a ``mathematical_expression``, lists ``list`` blocks
of items with blocks), so a test checks the table block, not Markdown. Inline text is a
RichText: a string, or a list of strings and ``bold``/``italic``/``code``/``strikethrough``/
``url`` objects. ``html`` is not modelled (a paragraph of the raw source, with a warning).
Checks: the limits of "Rich Message Limits" (32,768 characters, 500 blocks, 20 table columns),
``message is not modified``, and ``refuse_rich`` (a switch: every rich message is refused with
``400 Bad Request: RICH_MESSAGE_FORBIDDEN``, as a Bot API server without them or a chat where
they are not allowed would refuse).

Test API: ``tg.refuse_rich = True``; ``chat.bot_messages[i].rich`` (the RichMessage:
``{"blocks": [...]}``, None for a text message); ``table_of(rich)`` (the first table's cell
texts, rows of strings); ``plain_text(rich)``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.testing.telegram.core import NOT_MODIFIED, BotApiCore
from bot.testing.telegram.state import Call, ChatMessage, ChatState, Draft, Version
from bot.testing.telegram.wire import Params, bad_request

log = logging.getLogger("fake_telegram")

MAX_TEXT, MAX_BLOCKS, MAX_COLUMNS = 32_768, 500, 20
REFUSED = "RICH_MESSAGE_FORBIDDEN"
_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_MATH_BLOCK = re.compile(r"^\$\$(.+)\$\$$", re.DOTALL)
_INLINE = {"strong": "bold", "em": "italic", "s": "strikethrough"}


def blocks_of(markdown: str) -> list[dict[str, Any]]:
    """The RichMessage blocks of rich Markdown."""
    tokens = _PARSER.parse(markdown)
    blocks, _ = _blocks(tokens, 0, None)
    return blocks


def _blocks(tokens: list[Token], i: int, close: str | None) -> tuple[list[dict[str, Any]], int]:
    out: list[dict[str, Any]] = []
    while i < len(tokens):
        t = tokens[i]
        if close is not None and t.type == close:
            return out, i + 1
        if t.type == "paragraph_open":
            inline = tokens[i + 1]
            math = _MATH_BLOCK.match(inline.content.strip())
            if math:
                out.append({"type": "mathematical_expression", "expression": math.group(1)})
            else:
                out.append({"type": "paragraph", "text": _rich_text(inline.children or [])})
            i += 3
        elif t.type == "heading_open":
            text = _rich_text(tokens[i + 1].children or [])
            out.append({"type": "heading", "size": int(t.tag[1]), "text": text})
            i += 3
        elif t.type in ("fence", "code_block"):
            block = {"type": "pre", "text": t.content.rstrip("\n")}
            if t.info.strip():
                block["language"] = t.info.strip()
            out.append(block)
            i += 1
        elif t.type == "hr":
            out.append({"type": "divider"})
            i += 1
        elif t.type in ("bullet_list_open", "ordered_list_open"):
            closing = t.type.replace("_open", "_close")
            ordered = t.type == "ordered_list_open"
            number = int(t.attrGet("start") or 1)
            items: list[dict[str, Any]] = []
            i += 1
            while tokens[i].type != closing:
                inner, i = _blocks(tokens, i + 1, "list_item_close")  # past list_item_open
                # RichBlockListItem: the label shown ("•", or the item's number).
                item: dict[str, Any] = {"label": f"{number}." if ordered else "•",
                                        "blocks": inner}
                if ordered:
                    item["value"] = number
                    number += 1
                items.append(item)
            out.append({"type": "list", "items": items})
            i += 1
        elif t.type == "blockquote_open":
            inner, i = _blocks(tokens, i + 1, "blockquote_close")
            out.append({"type": "blockquote", "blocks": inner})
        elif t.type == "table_open":
            rows: list[list[dict[str, Any]]] = []
            i += 1
            while tokens[i].type != "table_close":
                if tokens[i].type == "tr_open":
                    rows.append([])
                elif tokens[i].type in ("th_open", "td_open"):
                    style = str(tokens[i].attrGet("style") or "")
                    align = style.removeprefix("text-align:") if style else "left"
                    cell = {"text": _rich_text(tokens[i + 1].children or []),
                            "align": align, "valign": "middle"}
                    if tokens[i].type == "th_open":
                        cell["is_header"] = True
                    rows[-1].append(cell)
                i += 1
            out.append({"type": "table", "cells": rows})
            i += 1
        else:
            i += 1
    return out, i


def _rich_text(children: list[Token]) -> Any:
    pieces: list[Any] = []
    stack: list[tuple[str, list[Any], str]] = []  # (kind, outer pieces, url)
    for t in children:
        if t.type in ("text", "html_inline"):
            if t.content:
                pieces.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            pieces.append("\n")
        elif t.type == "code_inline":
            pieces.append({"type": "code", "text": t.content})
        elif t.type.endswith("_open"):
            kind = "url" if t.type == "link_open" else _INLINE.get(t.type[:-5], "bold")
            stack.append((kind, pieces, str(t.attrGet("href") or "")))
            pieces = []
        elif t.type.endswith("_close") and stack:
            kind, outer, url = stack.pop()
            node: dict[str, Any] = {"type": kind, "text": _joined(pieces)}
            if kind == "url":
                node["url"] = url
            outer.append(node)
            pieces = outer
    return _joined(pieces)


def _joined(pieces: list[Any]) -> Any:
    merged: list[Any] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    if len(merged) == 1:
        return merged[0]
    return merged or ""


def plain_text(rich: Any) -> str:
    """The text a RichMessage (or a block, or a RichText) shows, without its formatting."""
    if isinstance(rich, str):
        return rich
    if isinstance(rich, list):
        return "".join(plain_text(part) for part in rich)
    if not isinstance(rich, dict):
        return ""
    if "blocks" in rich:
        return "\n".join(plain_text(block) for block in rich["blocks"])
    if "items" in rich:
        return "\n".join(plain_text(item) for item in rich["items"])
    if "cells" in rich:
        return "\n".join(" | ".join(plain_text(c.get("text", "")) for c in row)
                         for row in rich["cells"])
    if "expression" in rich:
        return str(rich["expression"])
    return plain_text(rich.get("text", ""))


def table_of(rich: dict[str, Any] | None) -> list[list[str]] | None:
    """The cell texts of the message's first table block, rows of strings; None: no table."""
    for block in (rich or {}).get("blocks", []):
        if block.get("type") == "table":
            return [[plain_text(c.get("text", "")) for c in row] for row in block["cells"]]
    return None


def urls_of(rich: Any) -> list[str]:
    """Every link's URL in a RichMessage, in order."""
    if isinstance(rich, list):
        return [url for part in rich for url in urls_of(part)]
    if not isinstance(rich, dict):
        return []
    found = [str(rich["url"])] if rich.get("type") == "url" else []
    for key in ("blocks", "items", "text"):
        found += urls_of(rich.get(key))
    for row in rich.get("cells", []):
        found += urls_of(row)
    return found


def _count(blocks: list[dict[str, Any]]) -> int:
    total = 0
    for block in blocks:
        total += 1 + len(block.get("cells", []))
        for item in block.get("items", []):
            total += 1 + _count(item["blocks"])
        total += _count(block.get("blocks", []))
    return total


class RichSide(BotApiCore):
    """``sendRichMessage`` and ``editMessageText`` with ``rich_message``."""

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self.refuse_rich = False

    def rich_of(self, p: Params) -> dict[str, Any]:
        """The RichMessage an InputRichMessage shows (Telegram's checks on the way)."""
        if self.refuse_rich:
            raise bad_request(REFUSED)
        content = p.get_json("rich_message")
        if not isinstance(content, dict):
            raise bad_request("RICH_MESSAGE_INVALID")
        given = [key for key in ("html", "markdown", "blocks") if content.get(key)]
        if len(given) != 1:
            raise bad_request("RICH_MESSAGE_INVALID: exactly one of html, markdown or blocks")
        if given[0] == "blocks":
            blocks = list(content["blocks"])
        else:
            source = str(content[given[0]])
            if len(source) > MAX_TEXT:
                raise bad_request("RICH_MESSAGE_TOO_LONG")
            if given[0] == "html":
                log.warning("fake Telegram: rich HTML is not modelled; kept as one paragraph")
                blocks = [{"type": "paragraph", "text": source}]
            else:
                blocks = blocks_of(source)
        if not blocks:
            raise bad_request("RICH_MESSAGE_EMPTY")
        if _count(blocks) > MAX_BLOCKS:
            raise bad_request("RICH_MESSAGE_TOO_MANY_BLOCKS")
        tables = [b for b in blocks if b.get("type") == "table"]
        if any(len(row) > MAX_COLUMNS for table in tables for row in table["cells"]):
            raise bad_request("RICH_MESSAGE_TABLE_TOO_WIDE")
        rich: dict[str, Any] = {"blocks": blocks}
        if content.get("is_rtl"):
            rich["is_rtl"] = True
        return rich

    async def m_sendRichMessage(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        rich = self.rich_of(p)
        markup, reply_to = self.markup_of(p), self.reply_of(p, chat)
        self.spend(call, chat)
        message = self._bot_message(chat, p, text=plain_text(rich), rich=rich,
                                    rich_source=p.get_json("rich_message"),
                                    reply_markup=markup, reply_to=reply_to)
        chat.record_event("message", message.message_id, message.text or "", final=True)
        return self.message_json(chat, message)

    async def m_editMessageText(self, p: Params, call: Call) -> Any:
        if not p.has("rich_message") or p.has("inline_message_id"):
            return await super().m_editMessageText(p, call)  # type: ignore[misc]
        chat, message = self._rich_editable(p, call)
        rich = self.rich_of(p)
        markup = self.markup_of(p)
        if rich == message.rich and markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self.spend(call, chat)
        text = plain_text(rich)
        message.text, message.entities, message.rich = text, [], rich
        message.rich_source = p.get_json("rich_message")
        message.reply_markup = markup
        message.versions.append(Version(time.time(), text, [], markup))
        chat.record_event("edit", message.message_id, text, final=True)
        return self.message_json(chat, message)

    async def m_sendRichMessageDraft(self, p: Params, call: Call) -> Any:
        """A rich draft (core.telegram.org/bots/api#sendrichmessagedraft): private chats only,
        like sendMessageDraft, in the same chat's draft budget."""
        chat = self.target(p, call)
        if chat.type != "private":
            raise bad_request("TEXTDRAFT_PEER_INVALID")
        draft_id = p.get_int("draft_id", required=True)
        if not draft_id:
            raise bad_request("DRAFT_ID_INVALID")
        rich = self.rich_of(p)
        self.spend(call, chat)
        text = plain_text(rich)
        draft = Draft(time.time(), draft_id, text, [], p.get_int("message_thread_id"),
                      p.get_bool("can_stop"), p.get_bool("keep_on_stop"), rich=rich)
        chat.drafts.append(draft)
        chat.current_draft = draft
        chat.record_event("draft", draft_id, text, final=False)
        return True

    def _rich_editable(self, p: Params, call: Call) -> tuple[ChatState, ChatMessage]:
        chat = self.target(p, call)
        message = chat.find(p.get_int("message_id", required=True) or 0)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot or message.photo is not None:
            raise bad_request("message can't be edited")
        return chat, message
