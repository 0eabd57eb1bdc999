"""A plugin's texts, registered with the `Translator` fmbot's own texts are read through."""

from __future__ import annotations

from collections.abc import Mapping

from bot.telegram.texts import DEFAULT_LANGUAGE, TEXTS


def register_texts(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Add `texts` (key -> {language code: template}) to what `Translator` reads, so that
    `Translator.for_code(user.language_code)("helpdesk.known", name=...)` answers in the
    user's language (English, the default, must be given; a language left out falls back to
    it). Prefix the keys with the plugin's name: a key already registered with other texts
    is refused (ValueError), so a plugin can neither replace fmbot's texts nor another
    plugin's. Registering the same texts again (a second App in one process) does nothing."""
    for key, variants in texts.items():
        if DEFAULT_LANGUAGE not in variants:
            raise ValueError(f"text {key!r} has no {DEFAULT_LANGUAGE!r} variant")
        known = TEXTS.get(key)
        if known is not None and known != dict(variants):
            raise ValueError(f"text {key!r} is registered already with other texts")
    for key, variants in texts.items():
        TEXTS[key] = dict(variants)
