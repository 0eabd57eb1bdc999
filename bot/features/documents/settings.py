"""The section of the settings of documents sent in chat (MAX_DOCUMENT_MB). A leaf: pydantic
only (bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings


@dataclass(frozen=True, slots=True)
class DocumentsArea:
    """Documents sent in chat: the largest read, in MB."""

    max_mb: float


class DocumentsSettings(BaseSettings):
    """Documents sent in chat."""

    # Largest PDF, DOCX or text file read in chat, in MB (Telegram lets bots download at most
    # 20 MB). Its text is kept for the conversation; /reset and /forget drop it.
    max_document_mb: float = Field(default=20.0, gt=0, le=20)

    @property
    def documents(self) -> DocumentsArea:
        """The documents' settings as one value."""
        return DocumentsArea(max_mb=self.max_document_mb)
