"""A deterministic scrub of personal data, run on every FAQ draft after the model (which is
told to leave it out too): e-mail addresses, phone numbers, order-like numbers, card numbers,
and the names the desk knows (the user's). What the model misses, this catches; what this
cannot know (another person's name), the reviewer sees before anything is approved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# +7 (999) 123-45-67, 8 999 1234567, +44 20 7946 0958: 10-15 digits with separators.
PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s\-().]*\d){9,14}(?!\w)")
# #12345, № 12345, 5+ digits, and codes mixing letters and 4+ digits (AB-123456, RU1234567).
ORDER = re.compile(
    r"(?:#|№\s?)\s?\w*\d\w*"
    r"|(?<!\w)\d{5,}(?!\w)"
    r"|(?<!\w)(?=[\w-]*\d{4})(?=[\w-]*[A-Za-zА-Яа-яЁё])[A-Za-zА-Яа-яЁё0-9]+(?:-[A-Za-zА-Яа-яЁё0-9]+)*(?!\w)"
)


def scrub(text: str, names: Iterable[str] = ()) -> str:
    text = EMAIL.sub("[e-mail]", text)
    text = PHONE.sub("[phone]", text)
    text = ORDER.sub("[number]", text)
    for name in names:
        for part in name.split():
            if len(part) >= 3 and not part.isdigit():
                text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", "[name]", text, flags=re.I)
    return text
