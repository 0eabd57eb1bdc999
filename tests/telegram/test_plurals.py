"""Words beside counts in their plural form, in English and Russian (issue 27, item 12d)."""

from __future__ import annotations

import re

import pytest

from bot.plurals import plural, quantity
from bot.telegram.texts import Translator
from tests.telegram.alltexts import every_text


@pytest.mark.parametrize(
    ("n", "word"),
    [(0, "токенов"), (1, "токен"), (2, "токена"), (4, "токена"), (5, "токенов"),
     (11, "токенов"), (12, "токенов"), (14, "токенов"), (21, "токен"), (22, "токена"),
     (73, "токена"), (101, "токен"), (111, "токенов"), (1_000_003, "токена")],
)
def test_russian_forms_follow_the_last_digits(n: int, word: str) -> None:
    assert plural(n, "ru", "токен", "токена", "токенов") == word


def test_english_has_one_and_other() -> None:
    assert [quantity(n, "en", "image", "images") for n in (0, 1, 2, 21)] == [
        "0 images", "1 image", "2 images", "21 images"
    ]


def test_usage_texts_inflect_the_counts() -> None:
    ru, en = Translator("ru"), Translator("en")
    assert "73 токена" in ru("stats_user", tokens=73, token_limit=1000)
    assert "1 token " in en("stats_user", tokens=1, token_limit=9)
    assert "5 tokens for" in en("stats_admin", tokens=5)
    assert en("retention_days", days=1).startswith("1 day,")
    assert ru("retention_days", days=22).startswith("22 дня,")


# A number placed before a counted word with no plural forms: "{tokens} tokens".
_BARE = re.compile(r"\{(\w+)\} (tokens|images|files|documents|passages|days|messages|токенов|"
                   r"картинок|дн\.)")


def test_no_text_puts_a_fixed_word_after_a_count() -> None:
    bare = {key: lang for key, variants in every_text().items()
            for lang, text in variants.items()
            if _BARE.search(text)}
    assert bare == {}
