"""Structured output (`jsonSchema`) of the fake Foundation Models server: a deterministic
"analyst" that reads a transcript ("user: ...", "bot: ...", "operator: ..." lines) and answers
JSON matching the schema, as YandexGPT does with `jsonSchema` (the JSON is the text of the
alternative). Known schemas are recognised by their `title`; any other gets each required
property filled by its type. Nothing from `bot` is imported.
"""

from __future__ import annotations

import json
import re
from typing import Any

INTENTS = (
    ("refund", ("refund", "money back", "return", "вернуть", "возврат", "верните")),
    ("delivery", ("deliver", "shipping", "courier", "доставк", "курьер", "посылк")),
    ("account", ("password", "login", "log in", "sign in", "account", "парол", "войти",
                 "аккаунт", "учётн", "учетн")),
    ("billing", ("pay", "charge", "invoice", "card", "оплат", "списал", "счёт", "счет", "карт")),
)
NEGATIVE = ("terrible", "awful", "angry", "worst", "unacceptable", "ужас", "безобраз",
            "отвратит", "недоволен", "кошмар", "!!!")
POSITIVE = ("thanks", "thank you", "great", "спасибо", "отлично", "супер")
PERSONAL = ("your order", "your account", "i have ", "i've ", "i checked", "i refunded",
            "ваш заказ",
            "вашему заказу", "я проверил", "я оформил", "я вернул", "мы отправили вам")


def lines_of(transcript: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for line in transcript.splitlines():
        role, sep, text = line.partition(":")
        if sep and role.strip() in ("user", "bot", "operator", "assistant") and text.strip():
            out.append((role.strip(), text.strip()))
    return out


def language(text: str) -> str:
    return "ru" if re.search("[а-яё]", text.lower()) else "en"


def intent(text: str) -> str:
    low = text.lower()
    for name, words in INTENTS:
        if any(w in low for w in words):
            return name
    return "other"


def sentiment(text: str) -> str:
    low = text.lower()
    if any(w in low for w in NEGATIVE):
        return "negative"
    if any(w in low for w in POSITIVE):
        return "positive"
    return "neutral"


def handoff_summary(transcript: str) -> dict[str, Any]:
    lines = lines_of(transcript)
    users = [t for r, t in lines if r == "user"] or [transcript.strip()[:200]]
    bots = [t for r, t in lines if r in ("bot", "assistant")]
    said = " ".join(users)
    return {
        "problem": users[0][:200],
        "tried": f"the bot answered {len(bots)} times" if bots else "nothing yet",
        "expects": users[-1][:200],
        "intent": intent(said), "intent_confidence": 0.9 if intent(said) != "other" else 0.4,
        "sentiment": sentiment(said), "sentiment_confidence": 0.8,
        "language": language(said), "language_confidence": 0.95,
    }


def case_summary(transcript: str) -> dict[str, Any]:
    lines = lines_of(transcript)
    users = [t for r, t in lines if r == "user"] or [""]
    operators = [t for r, t in lines if r == "operator"] or ["(no operator reply)"]
    return {"summary": f"Problem: {users[0][:200]} Outcome: {operators[-1][:200]}"}


def faq_drafts(transcript: str) -> dict[str, Any]:
    """A question a user asked and the operator's general answer to it; none when the answer
    is about this user's own order or account (not reusable) or too short to teach."""
    lines = lines_of(transcript)
    drafts: list[dict[str, str]] = []
    question = ""
    answer: list[str] = []

    def flush() -> None:
        text = " ".join(answer)
        low = text.lower()
        if question and len(text.split()) >= 6 and not any(p in low for p in PERSONAL):
            drafts.append({"question": question, "answer": text})

    for role, text in lines:
        if role == "user":
            if answer:
                flush()
                answer.clear()
                question = ""
            if "?" in text or not question:
                question = text
        elif role == "operator":
            answer.append(text)
    if answer:
        flush()
    return {"drafts": drafts}


def gap_label(transcript: str) -> dict[str, Any]:
    lines = [t for r, t in lines_of(transcript) if r == "user"] or [transcript.strip()]
    words = re.findall(r"\w+", lines[0])[:6]
    return {"title": " ".join(words).capitalize() or "Untitled"}


NOT_FOUND = ("not found", "couldn't find", "could not find", "no information", "не нашёл",
             "не нашел", "нет информации")
UNHAPPY = ("didn't help", "did not help", "useless", "still broken", "doesn't work",
           "не помогло", "не работает", *NEGATIVE)
PROMISES = ("refund you", "верну вам", "вернём вам", "вернем вам")
RUDE = ("stupid", "idiot", "глуп", "идиот")


def qa_score(transcript: str) -> dict[str, Any]:
    """A finished conversation's quality verdict, from numbered lines ("3 user: ..."):
    unresolved when the user's last line is unhappy or nobody answered; a promise of a refund
    is a policy breach (its line the evidence); rude words make the tone rude."""
    lines: list[tuple[int, str, str]] = []
    for raw in transcript.splitlines():
        number, _, rest = raw.partition(" ")
        role, sep, text = rest.partition(":")
        if number.isdigit() and sep:
            lines.append((int(number), role.strip(), text.strip()))
    users = [(n, t) for n, r, t in lines if r == "user"]
    answers = [(n, r, t) for n, r, t in lines if r in ("bot", "operator")]
    bots = [t for _, r, t in answers if r == "bot"]
    unhappy = bool(users) and any(w in users[-1][1].lower() for w in UNHAPPY)
    breach = next(((n, t) for n, _, t in answers if any(w in t.lower() for w in PROMISES)),
                  None)
    rude = next(((n, t) for n, _, t in answers if any(w in t.lower() for w in RUDE)), None)
    resolved = bool(answers) and not unhappy
    evidence = breach or rude or (users[-1] if users else (0, ""))
    score = 1 if breach or rude else 5 if resolved else 2
    return {
        "resolved": resolved,
        "from_knowledge_base": bool(bots) and not any(
            w in t.lower() for t in bots for w in NOT_FOUND),
        "tone": "rude" if rude else "neutral",
        "score": score,
        "policy_breach": "promised a refund" if breach else "",
        "evidence_line": evidence[0],
        "evidence": evidence[1][:200],
    }


KNOWN = {"handoff_summary": handoff_summary, "case_summary": case_summary,
         "faq_drafts": faq_drafts, "gap_label": gap_label, "qa_score": qa_score}


def filled(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: filled(v) for k, v in props.items() if k in (schema.get("required") or props)}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 0
    if kind == "boolean":
        return False
    if "enum" in schema:
        return schema["enum"][0]
    return ""


def structured_answer(json_schema: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    schema = json_schema.get("schema") if isinstance(json_schema, dict) else None
    schema = schema if isinstance(schema, dict) else {}
    transcript = next((str(m.get("text") or "") for m in reversed(messages)
                       if m.get("role") == "user"), "")
    make = KNOWN.get(str(schema.get("title") or ""))
    data = make(transcript) if make is not None else filled(schema)
    return json.dumps(data, ensure_ascii=False)
