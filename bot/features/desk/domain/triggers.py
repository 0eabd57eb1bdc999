"""Words that ask for a person, and words that thank (a confirmed resolution)."""

from __future__ import annotations

import re

# Whole words or phrases, Russian and English; short enough that a question *about* operators
# ("what is an operator in C++?") is rare in a support deployment, and anyone can /bot back.
_PERSON = re.compile(
    r"(?<!\w)(?:"
    r"оператор\w*|жив\w* человек\w*|(?:с|со|к|нуж\w*|позов\w*|дайте) человек\w*|"
    r"сотрудник\w*|менеджер\w*|(?:с|в) поддержк\w*|"
    r"human|humans|agent|operator|real person|live person|a person|support team|"
    r"talk to someone|speak to someone"
    r")(?!\w)",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"(?<!\w)(?:спасибо|благодарю|спс|thanks|thank you|thx|ty|помогло|it worked|solved)(?!\w)",
    re.IGNORECASE,
)
# A long message that mentions "человек" in passing is a question, not a request.
_MAX_REQUEST_WORDS = 8


def asks_for_person(text: str) -> bool:
    """A short message asking for a person ("оператор", "живой человек", "human, please")."""
    words = text.split()
    return 0 < len(words) <= _MAX_REQUEST_WORDS and _PERSON.search(text) is not None


def is_thanks(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= _MAX_REQUEST_WORDS and _THANKS.search(text) is not None
