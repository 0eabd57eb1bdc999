"""The section of the settings of documents sent in chat (MAX_DOCUMENT_MB,
DOCUMENT_READ_SECONDS). A leaf: pydantic and the settings' parsing helpers only
(bot/features/settings.py composes it as `settings.documents`)."""

from __future__ import annotations

from pydantic import Field

from bot.plugin.config import Section


class DocumentsSettings(Section):
    """Documents sent in chat: the largest read, in MB, and the seconds a read may take."""

    # Largest PDF, DOCX or text file read in chat, in MB (Telegram lets bots download at most
    # 20 MB). Its text is kept for the conversation; /reset and /forget drop it.
    max_mb: float = Field(default=20.0, gt=0, le=20, validation_alias="MAX_DOCUMENT_MB")
    # Seconds reading one document may take once a worker has it, whatever it waits on (a
    # worker past it is killed and replaced; the user is told the file is too complex).
    read_seconds: float = Field(default=20.0, gt=0, le=600,
                                validation_alias="DOCUMENT_READ_SECONDS")
