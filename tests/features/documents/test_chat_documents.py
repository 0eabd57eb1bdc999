"""Documents sent in chat, in process: a PDF and a DOCX answer questions with page and section
references (the document is data in the system prompt, gone after /reset), bad documents are
refused clearly before or after the download, and in a group only a document addressed to the
bot is read. Was tests/e2e/test_documents.py, with the bot as a process."""

from __future__ import annotations

import pytest
from aiogram.types import Chat, MessageEntity

from bot import App
from bot.testing import BotTester, ServiceModel
from tests.documents import (
    docx_bytes,
    encrypted_pdf_bytes,
    lines_pdf,
    pdf_bytes,
    scanned_pdf_bytes,
)
from tests.features.sending import document, rows

pytestmark = [pytest.mark.timeout(90)]
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
COMPLETION = "/foundationModels/v1/completion"

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


def completions(model: ServiceModel) -> list[dict[str, object]]:
    return [r.json for r in model.service.requests if r.path == COMPLETION]


def downloads(tester: BotTester) -> int:
    return sum(1 for c in tester.sent if c.method == "getFile")


async def test_a_pdf_sent_in_chat_answers_questions_with_page_references() -> None:
    model = ServiceModel()
    model.service.quote_sources = True
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        first = await document(tester, anna, pdf_bytes(INVOICE), "invoice.pdf", PDF,
                               "How many days do I have to pay?")
        assert first.text == "Pay within 14 days by bank transfer (invoice.pdf, p. 2)."
        second = await anna.says("Can unused items be returned for a refund?")
        assert second.text.startswith("Unused items may be returned within 30 days")
        assert "(invoice.pdf, p. 3)" in second.text
        # The document is data in the system prompt, never the user's words.
        system, *_, question = completions(model)[-1]["messages"]  # type: ignore[misc]
        assert '<document file="invoice.pdf" where="Invoice 2041 > Returns > p. 3">' in \
            system["text"]
        assert question == {"role": "user", "text": "Can unused items be returned for a refund?"}

        # A DOCX without a caption: read and acknowledged; the next question is answered.
        read = await document(tester, anna, docx_bytes(MANUAL), "router.docx", DOCX)
        assert read.text.startswith("I have read router.docx (")
        third = await anna.says("How do I do a factory reset?")
        assert third.text == ("Hold the reset button for ten seconds until the lights blink "
                              "(router.docx, Factory reset).")

        reset = await anna.says("/reset")
        assert "new conversation" in reset.text.lower()
        after = await anna.says("How do I do a factory reset?")
        assert after.text == "Echo: How do I do a factory reset?"
        assert downloads(tester) == 2
        assert await rows(tester, "SELECT id FROM chat_documents") == []


@pytest.mark.slow
async def test_bad_documents_are_refused_clearly_and_nothing_else_is_lost() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        cases = [
            (pdf_bytes(INVOICE)[:500], "broken.pdf", PDF, "the file seems damaged"),
            (scanned_pdf_bytes(), "scan.pdf", PDF, "it looks like a scan"),
            (encrypted_pdf_bytes(), "secret.pdf", PDF, "protected by a password"),
            (b"PK\x03\x04", "notes.odt", "application/vnd.oasis.opendocument.text",
             "I cannot open this type of file (.odt)"),
            # 2 MB of one-letter lines: pypdf would spend 14 CPU-seconds; the worker stops.
            (lines_pdf(200_000), "lines.pdf", PDF, "too complex for me to read"),
        ]
        for data, name, mime, said in cases:
            reply = await document(tester, anna, data, name, mime, "What is in it?")
            assert said in reply.text, name
        # Over MAX_DOCUMENT_MB (20 by default): refused from the size the message announces.
        huge = await document(tester, anna, b"%PDF-1.7", "huge.pdf", PDF,
                              file_size=25 * 1024 * 1024)
        assert "documents up to 20 MB" in huge.text
        still = await anna.says("still there?")
        assert still.text == "Echo: still there?"
        assert downloads(tester) == 4, "the .odt and the huge file were not downloaded"
        stored = await rows(tester, "SELECT role, status FROM messages ORDER BY id")
        assert [(r["role"], r["status"]) for r in stored] == \
            [("user", "complete"), ("assistant", "complete")]
        assert await rows(tester, "SELECT id FROM chat_documents") == []


async def test_in_a_group_only_a_document_addressed_to_the_bot_is_read() -> None:
    model = ServiceModel()
    model.service.quote_sources = True
    async with BotTester(App(env_file=None), model=model) as tester:
        bob = tester.user("Bob")
        team = Chat(id=-2803, type="supergroup", title="Team")
        await document(tester, bob, pdf_bytes(INVOICE), "other.pdf", PDF,
                       "for the accountants", chat=team)
        question = "@fmbot_test_bot how many days do we have to pay?"
        answer = await document(tester, bob, pdf_bytes(INVOICE), "invoice.pdf", PDF, question,
                                chat=team,
                                entities=[MessageEntity(type="mention", offset=0, length=15)])
        assert answer.text == "Pay within 14 days by bank transfer (invoice.pdf, p. 2)."
        assert downloads(tester) == 1, "the document not addressed to the bot was not fetched"
        [request] = completions(model)
        assert "other.pdf" not in request["messages"][0]["text"]  # type: ignore[index]
