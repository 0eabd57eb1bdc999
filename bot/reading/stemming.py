"""Words -> Snowball stems, Russian and English, for the full-text index and its queries.

SQLite FTS5 has no Russian stemmer, so text is stemmed here before it is indexed and before it
is searched, on both databases alike (PostgreSQL indexes the stems with its `simple` config).
A word in Cyrillic goes to the Russian stemmer, any other to the English one; `ё` is `е`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")

# Words that say nothing about a topic; left out of the index and of queries.
STOPWORDS = frozenset(
    """
    a an and are as at be been but by can could do does did for from has have how i if in is
    it its me my of on or our please so than that the their them then there these they this
    to us was we were what when where which who why will with would you your yours about
    should any all also just into out up get got am not no yes
    а без бы был была были было быть в вам вас весь во вот все всё вы где да для до его ее её
    если есть еще ещё же за и из или им их к как ко когда кто ли либо мне мой можно мы на над
    не него нет ни но ну о об однако он она они оно от очень по под при про с со так также там
    те тем то того тоже той только том ту ты у уже чем что чтобы чья чьё эта эти это этот я
    мой моя мои наш наша наши ваш ваша ваши свой сколько какой какая какие каков ли мне меня
    """.split()  # noqa: SIM905 - a word list reads better as text
)


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def words(text: str) -> list[str]:
    """Lower-case words of `text` (letters and digits), `ё` folded to `е`."""
    return _WORD.findall(text.lower().replace("ё", "е"))


def stems(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """The Snowball stems of `text`'s words, in order (stop words left out unless asked)."""
    russian = _stemmer("russian")
    english = _stemmer("english")
    out: list[str] = []
    for word in words(text):
        if not keep_stopwords and word in STOPWORDS:
            continue
        stemmer = russian if _CYRILLIC.search(word) else english
        out.append(stemmer.stemWord(word))
    return out


def search_text(text: str) -> str:
    """What the full-text index stores for a passage: its stems joined by spaces."""
    return " ".join(stems(text))
