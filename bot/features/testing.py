"""What bot.testing asks of the features: the words its in-process Yandex (bot/testing/wire.py)
hashes into a fake embedding, the knowledge base's stems, so that the fake model places texts
close as the knowledge base's search expects (bot.testing names no feature)."""

from __future__ import annotations


def embedding_words(text: str) -> list[str]:
    """The Snowball stems of `text`'s words, stop words left out (the knowledge base's)."""
    from bot.features.knowledge.stemming import stems

    return stems(text)
