"""Plural forms of the words shown beside counts ("1 image", "3 картинки", "73 токена").

The rules are CLDR's for cardinal numbers of English and Russian
(https://www.unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html):
English has `one` (exactly 1) and `other`; Russian has `one` (1, 21, 101...), `few` (2-4,
22-24... but not 12-14) and `many` (0, 5-20, 25-30...). Texts name the forms inline as
`{count|one|few|many}` (`{count|one|other}` in English): see `inflect`.
"""

from __future__ import annotations

import re

# {name|form|form...}: the word for the value of `name`, in the template's language.
_INLINE = re.compile(r"\{(\w+)\|([^{}]*)\}")


def category(n: int, language: str) -> int:
    """The index of the plural form of `n`: English 0 one / 1 other; Russian 0 one / 1 few /
    2 many. Any other language follows English."""
    n = abs(n)
    if language == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return 0
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return 1
        return 2
    return 0 if n == 1 else 1


def plural(n: int, language: str, *forms: str) -> str:
    """The form of the word for `n` ("token", "tokens"; "токен", "токена", "токенов")."""
    index = category(n, language)
    return forms[min(index, len(forms) - 1)]


def quantity(n: int, language: str, *forms: str) -> str:
    """`n` and its word: "1 image", "73 токена"."""
    return f"{n} {plural(n, language, *forms)}"


def inflect(template: str, language: str, values: dict[str, object]) -> str:
    """`{name|form|form...}` in `template` -> the form for the integer `values[name]`."""

    def word(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        forms = match.group(2).split("|")
        if not isinstance(value, int) or isinstance(value, bool):
            return forms[-1]
        return plural(value, language, *forms)

    return _INLINE.sub(word, template)
