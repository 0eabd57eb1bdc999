"""Documents sent in chat (PDF, DOCX, text) -> kept for the conversation and answered from.

The job, in the chat's FIFO like a text: download (bounded, to a temporary file deleted once
read: downloads.py), read with the knowledge base's extractors (in a thread), keep the text
for the conversation (bot/features/documents/chat.py), then answer the caption as a question,
or say the document was read. A file over MAX_DOCUMENT_MB, of a type not read, scanned,
password-protected or damaged gets a clear localized reply; the update still leaves the
durable queue and nothing else is lost. Images sent as files go to the photo handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiogram import F, Router
from aiogram.types import Document, Message

from bot.features.documents.chat import AddedDocument, ChatDocuments
from bot.features.documents.support import DocumentSupport
from bot.plugin.conversation import Employee, Speaker, TurnResult
from bot.plugin.models import Snapshot
from bot.plugin.reading import (
    CHAT_SUFFIXES,
    BusyReaderError,
    DocumentError,
    EncryptedDocumentError,
    Extracted,
    MissingExtraError,
    NoTextError,
    TooComplexDocumentError,
    UnsupportedDocumentError,
    suffix_of,
)
from bot.plugin.storage import UpdateReceipt
from bot.plugin.telegram import (
    AddressedToBot,
    Deps,
    DownloadError,
    FileTooBigError,
    FrontParts,
    Target,
    TelegramPart,
    Ticket,
    Translator,
    answer_target,
    say,
    speaker,
)

log = logging.getLogger(__name__)


def is_readable_document(document: Document | None) -> bool:
    """A document for this handler: anything but an image (the photo handler's)."""
    return document is not None and not (document.mime_type or "").startswith("image/")


def _name(document: Document) -> str:
    name = " ".join((document.file_name or "").split())
    if name:
        return name
    # No name: a text/plain or PDF document still says what it is by its MIME type.
    mime = document.mime_type or ""
    return {"application/pdf": "document.pdf", "text/plain": "document.txt"}.get(mime, "file")


class DocumentHandler:
    """Documents sent in chat, read with `support` (None: documents are not taken, and the
    sender is told the bot reads text only)."""

    def __init__(self, support: DocumentSupport | None) -> None:
        self.support = support

    async def handle(
        self,
        message: Message,
        prompt: str,
        ticket: Ticket,
        deps: Deps,
        t: Translator,
        receipts: tuple[UpdateReceipt, ...] = (),
        replayed: bool = False,
        is_admin: bool = False,
        employee: Employee | None = None,
    ) -> None:
        await handle_document(message, prompt, ticket, deps, t, self.support, receipts,
                              replayed, is_admin=is_admin, employee=employee)

    def build_router(self) -> Router:
        router = Router(name=__name__)
        router.message.register(
            self.handle, F.document.func(is_readable_document), AddressedToBot(),
            flags={"quota": "text"},
        )
        return router


def documents_on_telegram(front: FrontParts, support: DocumentSupport | None) -> TelegramPart:
    """Documents sent in chat, after the chat handler (a caption is the question); /help
    says the bot takes them when `support` is given."""

    return TelegramPart(late=[DocumentHandler(support).build_router()],
                        takes=("help_takes_documents",) if support is not None else ())


async def handle_document(
    message: Message,
    prompt: str,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    support: DocumentSupport | None,
    receipts: tuple[UpdateReceipt, ...] = (),
    replayed: bool = False,
    *,
    is_admin: bool = False,
    employee: Employee | None = None,
) -> None:
    document = message.document
    assert document is not None
    if support is None:
        await say(deps, message, t("text_only"))  # documents are not taken: today's answer
        return
    documents = support.chats
    name = _name(document)
    suffix = suffix_of(name)
    if suffix not in CHAT_SUFFIXES:
        await say(deps, message, t("document_unsupported", kind=suffix or name))
        return
    if document.file_size is not None and document.file_size > support.max_bytes:
        await say(deps, message, t("document_too_big", limit=f"{support.max_mb:g}"))
        return
    where = answer_target(message, ticket, deps, replayed)  # answered later: quoted
    who = speaker(message, is_admin=is_admin, employee=employee)

    async def job() -> None:
        extracted = await _read(deps, support, message, document, name, documents, t)
        if extracted is not None:
            await _keep_and_answer(
                deps, documents, message, document, name, extracted, prompt, where, t, receipts,
                who,
            )

    ticket.submit(job)


async def _read(
    deps: Deps,
    support: DocumentSupport,
    message: Message,
    document: Document,
    name: str,
    documents: ChatDocuments,
    t: Translator,
) -> Extracted | None:
    """The document's text, or None once the user was told why there is none."""
    try:
        async with support.files.download(
            document.file_id, max_bytes=support.max_bytes, known_size=document.file_size
        ) as got:
            data = await asyncio.to_thread(got.read_bytes)
        # Text past what the conversation keeps is not read (a little more, to fill it).
        return await support.reader.read(
            name, data, max_chars=documents.max_chars + 10_000, sent=True,
            user=message.from_user.id if message.from_user else None, chat_id=message.chat.id,
        )
    except FileTooBigError:
        await say(deps, message, t("document_too_big", limit=f"{support.max_mb:g}"))
    except DownloadError as exc:
        log.warning("document download failed in chat %s: %s", message.chat.id, exc)
        await say(deps, message, t("document_download_failed"))
    except NoTextError:
        await say(deps, message, t("document_no_text"))
    except EncryptedDocumentError:
        await say(deps, message, t("document_locked"))
    except TooComplexDocumentError:
        await say(deps, message, t("document_too_complex"))
    except BusyReaderError:
        await say(deps, message, t("document_busy"))
    except (UnsupportedDocumentError, MissingExtraError) as exc:
        log.info("document %r in chat %s not read: %s", name, message.chat.id, exc)
        await say(deps, message, t("document_unsupported", kind=suffix_of(name) or name))
    except DocumentError as exc:
        log.info("document %r in chat %s unreadable: %s", name, message.chat.id, exc)
        await say(deps, message, t("document_corrupt"))
    return None


async def _keep_and_answer(
    deps: Deps,
    documents: ChatDocuments,
    message: Message,
    document: Document,
    name: str,
    extracted: Extracted,
    prompt: str,
    where: Target,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...],
    who: Speaker,
) -> None:
    question = prompt.strip()
    # Without a question the document's storing settles the update; with one, the question's.
    added = await documents.add(
        where.chat, who, name, document.file_unique_id, extracted,
        receipts=() if question else receipts,
    )
    if not question:
        await say(deps, message, _read_text(t, name, added))
        return
    if added.truncated:
        await say(deps, message, t("document_truncated", name=name, passages=added.passages))

    async def runner(on_snapshot: Callable[[Snapshot], None]) -> TurnResult:
        return await deps.conversation.run_turn(
            where.chat, who, question, on_snapshot=on_snapshot,
            telegram_message_id=message.message_id, receipts=receipts,
        )

    await deps.answers.deliver(where, t, runner)


def _read_text(t: Translator, name: str, added: AddedDocument) -> str:
    size = (t("document_pages", pages=added.pages) if added.pages
            else t("document_passages", passages=added.passages))
    text = t("document_read", name=name, size=size)
    if added.truncated:
        text += "\n\n" + t("document_truncated", name=name, passages=added.passages)
    return text

