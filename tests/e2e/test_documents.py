"""Documents sent in chat (issue 28): ``python -m bot run`` against the fake Bot API serving
getFile downloads of real PDF and DOCX files, and the fake Yandex server (answering from the
<document> excerpts of its system prompt with the file and page, as a model would)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.testing.telegram.state import ChatMessage
from tests.documents import (
    docx_bytes,
    encrypted_pdf_bytes,
    lines_pdf,
    pdf_bytes,
    scanned_pdf_bytes,
)
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]
USER = 2802
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

INVOICE = [
    [("h1", "Invoice 2041"), ("p", "Customer: Northwind Traders. Issued on 3 March 2026."),
     ("h2", "Items"), ("p", "Two laptop stands at 40 EUR each and one keyboard at 60 EUR.")],
    [("h2", "Payment terms"),
     ("p", "Pay within 14 days by bank transfer. Late payment costs 2 percent a month.")],
    [("h2", "Returns"),
     ("p", "Unused items may be returned within 30 days of delivery for a full refund.")],
]
MANUAL = [
    ("h1", "Router manual"), ("p", "Plug the router into a power socket."),
    ("h2", "Factory reset"),
    ("p", "Hold the reset button for ten seconds until the lights blink."),
]


def answers(e2e: E2E, predicate: Callable[[str], bool]) -> Callable[[], list[ChatMessage]]:
    def found() -> list[ChatMessage]:
        chat = e2e.tg.chats.get(USER)
        return [] if chat is None else [m for m in chat.bot_messages if predicate(m.text or "")]

    return found


async def test_a_pdf_sent_in_chat_answers_questions_with_page_references(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.quote_sources = True
    e2e.tg.send_user_document(USER, pdf_bytes(INVOICE), file_name="invoice.pdf", mime_type=PDF,
                              caption="How many days do I have to pay?")
    [first] = await e2e.wait_for(answers(e2e, lambda t: "(invoice.pdf, p. 2)" in t), 60)
    assert first.text == "Pay within 14 days by bank transfer (invoice.pdf, p. 2)."
    e2e.tg.send_user_message(USER, "Can unused items be returned for a refund?")
    [second] = await e2e.wait_for(answers(e2e, lambda t: "(invoice.pdf, p. 3)" in t), 60)
    assert second.text is not None
    assert second.text.startswith("Unused items may be returned within 30 days")
    # The document is data in the system prompt, never the user's words.
    [request] = [r for r in e2e.fm.requests if r.path.endswith("/completion")][-1:]
    system, *_, question = request.json["messages"]
    assert '<document file="invoice.pdf" where="Invoice 2041 > Returns > p. 3">' in system["text"]
    assert question == {"role": "user", "text": "Can unused items be returned for a refund?"}

    # A DOCX without a caption: read and acknowledged; the next question is answered from it.
    e2e.tg.send_user_document(USER, docx_bytes(MANUAL), file_name="router.docx",
                              mime_type=DOCX)
    await e2e.wait_for(answers(e2e, lambda t: t.startswith("I have read router.docx (")), 60)
    e2e.tg.send_user_message(USER, "How do I do a factory reset?")
    [third] = await e2e.wait_for(answers(e2e, lambda t: "(router.docx, Factory reset)" in t), 60)
    assert third.text == ("Hold the reset button for ten seconds until the lights blink "
                          "(router.docx, Factory reset).")

    e2e.tg.send_user_message(USER, "/reset")
    await e2e.wait_for(answers(e2e, lambda t: "new conversation" in t.lower()), 30)
    e2e.tg.send_user_message(USER, "How do I do a factory reset?")
    await e2e.wait_for(answers(e2e, lambda t: t == "Echo: How do I do a factory reset?"), 60)
    assert len(e2e.tg.downloads) == 2
    assert await e2e.bot.terminate() == 0
    assert e2e.db.query("SELECT COUNT(*) AS n FROM chat_documents")[0]["n"] == 0
    assert e2e.db.check_consistency() == []


async def test_bad_documents_are_refused_clearly_and_nothing_else_is_lost(e2e: E2E) -> None:
    await e2e.start_bot()
    cases = [
        (pdf_bytes(INVOICE)[:500], "broken.pdf", PDF, "the file seems damaged"),
        (scanned_pdf_bytes(), "scan.pdf", PDF, "it looks like a scan"),
        (encrypted_pdf_bytes(), "secret.pdf", PDF, "protected by a password"),
        (b"PK\x03\x04", "notes.odt", "application/vnd.oasis.opendocument.text",
         "I cannot open this type of file (.odt)"),
        # 2 MB of one-letter lines: pypdf would spend 14 CPU-seconds; the worker is stopped.
        (lines_pdf(200_000), "lines.pdf", PDF, "too complex for me to read"),
    ]
    for data, name, mime, reply in cases:
        e2e.tg.send_user_document(USER, data, file_name=name, mime_type=mime,
                                  caption="What is in it?")
        await e2e.wait_for(answers(e2e, lambda t, reply=reply: reply in t), 30)
    # Over MAX_DOCUMENT_MB (20 by default): refused from the size the message announces.
    e2e.tg.send_user_document(USER, b"%PDF-1.7", file_name="huge.pdf", mime_type=PDF,
                              file_size=25 * 1024 * 1024)
    await e2e.wait_for(answers(e2e, lambda t: "documents up to 20 MB" in t), 30)
    e2e.tg.send_user_message(USER, "still there?")
    await e2e.wait_for(answers(e2e, lambda t: t == "Echo: still there?"), 30)
    assert len(e2e.tg.downloads) == 4, "the .odt and the huge file were not downloaded"
    assert await e2e.bot.terminate() == 0
    assert e2e.roles(USER) == [("user", "complete"), ("assistant", "complete")]
    assert e2e.db.query("SELECT COUNT(*) AS n FROM chat_documents")[0]["n"] == 0


async def test_in_a_group_only_a_document_addressed_to_the_bot_is_read(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.quote_sources = True
    group = {"chat_type": "supergroup", "title": "Team", "user": {"id": 7}}
    e2e.tg.send_user_document(-2803, pdf_bytes(INVOICE), file_name="other.pdf", mime_type=PDF,
                              caption="for the accountants", **group)
    question = "@fm_test_bot how many days do we have to pay?"
    e2e.tg.send_user_document(
        -2803, pdf_bytes(INVOICE), file_name="invoice.pdf", mime_type=PDF, caption=question,
        extra={"caption_entities": [{"type": "mention", "offset": 0, "length": 12}]}, **group,
    )
    chat = await e2e.wait_for(lambda: e2e.tg.chats.get(-2803))
    [answer] = await e2e.wait_for(lambda: [
        m for m in chat.bot_messages if (m.text or "").endswith("(invoice.pdf, p. 2).")], 60)
    assert answer.text == "Pay within 14 days by bank transfer (invoice.pdf, p. 2)."
    assert len(e2e.tg.downloads) == 1, "the document not addressed to the bot was not fetched"
    [request] = [r for r in e2e.fm.requests if r.path.endswith("/completion")]
    assert "other.pdf" not in request.json["messages"][0]["text"]
    assert await e2e.bot.terminate() == 0
