"""Words that ask for a person, and words that thank (a confirmed resolution).

A message asks for a person when, in any of its sentences, an explicit request names one
("I want a human", "can I talk to an operator", "put me through to an agent", "позовите
человека", "хочу поговорить с оператором", "соедините со специалистом"), whatever the
message's length; or when a short message (SHORT_WORDS words at most) names one at all
("оператор", "human please", "живой человек"). Either is not a request when a negation comes
just before it in its clause ("I don't need a human", "мне не нужен оператор", "без
оператора"). A long message that only mentions a person ("the operator precedence in C++",
"сколько человек в команде") is a question. English and Russian: the languages of the bot's
texts. docs/support-desk.md says the same.
"""

from __future__ import annotations

import re

# The person asked for. English: "a human", "a real person", "an operator", "the manager",
# "someone"; Russian: any form of the noun ("оператору", "человеком", "живого сотрудника").
# Not "someone", "people", "staff" or "employee": "I need someone to sign for it", "we need
# staff accounts" ask for no one; nor a possessive ("I want the manager's e-mail").
_WHO_EN = (
    r"(?:(?:a|an|the|some|one|your)\s+)?(?:(?:real|live|actual|human)\s+)?"
    r"(?:human(?:\s+being)?s?|person|operator|agent|manager|representative|"
    r"supervisor|support\s+(?:team|agent|staff|person))(?!['\u2019]s\b|\w)"
)
_WHO_RU = (
    r"(?:(?:жив\w*|реальн\w*|настоящ\w*)\s+)?"
    r"(?:оператор\w*|человек\w*|людь\w*|сотрудник\w*|менеджер\w*|специалист\w*|"
    r"консультант\w*)"
)
# Words a Russian request may hold between its verb and the person ("хочу поговорить с
# живым человеком", "позовите, пожалуйста, оператора"), and nothing else: "хочу узнать,
# сколько человек" is no request.
_BETWEEN_RU = (
    r"(?:[\s,]+(?:поговорить|пообщаться|связаться|переписываться|говорить|общаться|с|со|к|"
    r"на|мне|нам|меня|нас|пожалуйста|срочно|скорее|уже|бы|же|лучше|наконец)){0,4}[\s,]+"
)
_REQUEST = re.compile(
    r"(?<!\w)(?:"
    # I want / need / would like (to talk to) a person
    r"(?:i|we)(?:'d|\s+would)?\s+(?:really\s+|just\s+|only\s+)?"
    r"(?:want|need|like|prefer|demand|request)"
    r"(?:\s+to\s+(?:talk|speak|chat)\s+(?:to|with))?\s+" + _WHO_EN + r"|"
    # can I / let me / how do I talk to a person
    r"(?:let\s+me|can\s+i|could\s+i|may\s+i|how\s+(?:do|can)\s+i|i\s+(?:have\s+to|must)|"
    r"i\s+wanna|please,?)\s+(?:talk|speak|chat)\s+(?:to|with)\s+" + _WHO_EN + r"|"
    # put me through to / connect me with / get me a person
    r"(?:connect|transfer|put|pass|switch)\s+me\s+(?:through\s+|over\s+)?(?:to|with)\s+"
    + _WHO_EN + r"|"
    r"(?:get|give|find|bring)\s+me\s+" + _WHO_EN + r"|"
    # хочу / нужен / позовите / соедините (с) человека
    r"(?:хочу|хотим|хотел\w*|нуж\w*|надо|требую|позов\w*|позвать|дайте|дай|соедин\w*|"
    r"переключ\w*|свяж\w*|подключ\w*|пригласи\w*)" + _BETWEEN_RU + _WHO_RU + r"|"
    # поговорить / связаться с человеком, с поддержкой
    r"(?:поговорить|пообщаться|связаться|общаться|переписываться)\s+(?:с|со)\s+"
    r"(?:" + _WHO_RU + r"|поддержк\w*)"
    r")(?!\w)",
    re.IGNORECASE,
)
# Whole words or phrases, Russian and English, counted as a request in a short message only:
# a question *about* operators ("what is an operator in C++?") is rare in a support
# deployment, and anyone can /bot back.
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
# A message this short that names a person asks for one; a longer one must say it asks.
SHORT_WORDS = 8
_SENTENCES = re.compile(r"[.!?;\n]+")
_NEGATIONS = frozenset({"not", "no", "never", "without", "dont", "не", "нет", "без", "ни",
                        "никогда", "незачем"})
_NEGATION_REACH = 3  # words before the request, within its clause


def asks_for_person(text: str) -> bool:
    """Whether the message asks for a person (see the module docstring)."""
    text = text.replace("\u2019", "'")
    short = 0 < len(text.split()) <= SHORT_WORDS
    for sentence in _SENTENCES.split(text):
        for pattern in (_REQUEST, _PERSON) if short else (_REQUEST,):
            for match in pattern.finditer(sentence):
                if not _negated(sentence[:match.start()]):
                    return True
    return False


def _negated(before: str) -> bool:
    """A negation among the last few words before a request, in its clause ("I don't need",
    "мне не нужен"; not "I don't want to wait, give me a human")."""
    clause = before.rsplit(",", 1)[-1].casefold()
    words = re.findall(r"[\w']+", clause)[-_NEGATION_REACH:]
    return any(word in _NEGATIONS or word.endswith("n't") for word in words)


_QUESTION = re.compile(
    r"\?|^\s*(?:how|what|when|where|why|who|whom|whose|which|can|could|is|are|am|do|does|"
    r"did|will|would|should|shall|may|might|have|has|как|что|чем|когда|где|куда|откуда|"
    r"почему|зачем|кто|какой|какая|какое|какие|каким|сколько|можно|ли)(?!\w)|"
    r"(?<!\w)(?:question|вопрос\w*)(?!\w)",
    re.IGNORECASE,
)


def is_question(text: str) -> bool:
    """A question mark, a question word first, or "question" said ("one more question"): the
    message after a rating is then answered, not taken as the rating's comment."""
    return _QUESTION.search(text) is not None


def is_thanks(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= SHORT_WORDS and _THANKS.search(text) is not None
