"""The section of the settings of documents sent in chat (MAX_DOCUMENT_MB). A leaf: pydantic
only (bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class DocumentsArea:
    """Documents sent in chat: the largest read, in MB, and the seconds a read may take."""

    max_mb: float
    read_seconds: float = 20.0


class DocumentsSettings(BaseSettings):
    """Documents sent in chat."""

    # Largest PDF, DOCX or text file read in chat, in MB (Telegram lets bots download at most
    # 20 MB). Its text is kept for the conversation; /reset and /forget drop it.
    max_document_mb: float = Field(default=20.0, gt=0, le=20)
    # Seconds reading one document may take once a worker has it, whatever it waits on (a
    # worker past it is killed and replaced; the user is told the file is too complex).
    document_read_seconds: float = Field(default=20.0, gt=0, le=600)

    @property
    def documents(self) -> DocumentsArea:
        """The documents' settings as one value."""
        return DocumentsArea(max_mb=self.max_document_mb, read_seconds=self.document_read_seconds)
