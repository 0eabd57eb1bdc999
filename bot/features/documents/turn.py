"""Documents sent in chat in a turn: the passages that best match the question go into the
prompt; a question they match is not searched in the knowledge base (`draft.covered`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.documents.chat import ChatDocuments
from bot.plugin.conversation import PromptContributor, PromptDraft, TurnFeature, TurnState

# Of the prompt room, the share passages of documents sent in chat may take.
DOCUMENTS_SHARE = 0.4


class DocumentsContributor:
    """The passages of the chat's documents that best match the question (new every turn,
    so estimated)."""

    name = "documents"
    required = False

    def __init__(self, documents: ChatDocuments) -> None:
        self.documents = documents

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        share = int(DOCUMENTS_SHARE * turn.room)
        found = await self.documents.context_for(
            turn.question.conversation_id, turn.question.text, share
        )
        if found is not None:
            draft.add(self.name, found.text)
            draft.covered = found.matched


class DocumentsFeature(TurnFeature):
    name = "documents"

    def __init__(self, documents: ChatDocuments) -> None:
        self.documents = documents
        self._contributors = (DocumentsContributor(documents),)

    def contributors(self) -> Sequence[PromptContributor]:
        return self._contributors

    async def reset(self, session: AsyncSession, chat_id: int) -> None:
        await self.documents.drop(chat_id, session)  # the documents sent in chat go with it
