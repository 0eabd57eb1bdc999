"""Documents sent in chat, built from their settings (`settings.documents`): read in bounded
worker processes, kept per conversation."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.features.documents.settings import DocumentsSettings

if TYPE_CHECKING:
    from bot.features.documents.chat import ChatDocuments
    from bot.features.documents.support import DocumentSupport
    from bot.plugin.telegram import TelegramFiles


def build_documents(
    area: DocumentsSettings, files: TelegramFiles, stack: AsyncExitStack,
    chats: ChatDocuments | None,
) -> DocumentSupport | None:
    """Documents sent in chat: downloads from Telegram, read in bounded worker processes
    (started on the first document), kept per conversation."""
    from bot.features.documents.support import DocumentSupport
    from bot.plugin.reading import DocumentReader

    if chats is None:
        return None
    reader = DocumentReader(wall_seconds=area.read_seconds)
    stack.push_async_callback(reader.aclose)
    return DocumentSupport(files, reader, chats, max_mb=area.max_mb)
