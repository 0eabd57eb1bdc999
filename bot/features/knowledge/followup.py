"""Follow-up questions -> self-contained search queries, without a model call.

"And how long does it take?" names nothing a search can find; the question before it does.
A question that may be a follow-up (a few content words, or opening with "and"/"а"/"и", or a
short one leaning on a pronoun) is searched twice, alone and together with the user's previous
question, and the search with the better best match wins: a real follow-up finds little alone,
while a short question on a new topic finds its own document better alone than mixed with the
old topic. Anything else is searched alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.plugin.reading import STOPWORDS, words

SHORT = 4  # content words at most
LEANING = 7  # a question this short with a pronoun leans on the one before
OPENERS = frozenset({"and", "also", "but", "so", "а", "и", "но", "еще", "ещё", "тогда"})
PRONOUNS = frozenset({
    "it", "its", "that", "this", "they", "them", "those", "these", "there", "one", "same",
    "он", "она", "оно", "они", "его", "ее", "её", "их", "него", "нее", "неё", "них", "это",
    "этого", "этом", "эту", "этот", "эти", "этим", "там", "туда", "тот", "та", "то", "такой",
})


def is_follow_up(question: str) -> bool:
    tokens = words(question)
    if not tokens:
        return False
    content = [word for word in tokens if word not in STOPWORDS]
    return (
        len(content) <= SHORT
        or tokens[0] in OPENERS
        or (len(content) <= LEANING and any(word in PRONOUNS for word in tokens))
    )


def search_queries(question: str, previous: Sequence[str]) -> list[str]:
    """The queries to search for `question` given the user's earlier questions (oldest first):
    the question itself, and the question with the one before when it may be a follow-up."""
    if previous and is_follow_up(question):
        return [question, f"{previous[-1]}\n{question}"]
    return [question]
