"""The built-in prompt contributors: documents sent in chat, the knowledge base's sources,
and images for the vision model (the App's context providers are in context.py)."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from bot.conversation.contributors import PromptDraft
from bot.conversation.documents import ChatDocuments
from bot.conversation.turn import TurnState, previous_questions
from bot.conversation.vision import Vision, fetch_all
from bot.foundation_models.errors import FoundationModelsError
from bot.foundation_models.types import Snapshot
from bot.knowledge.grounding import for_stream, grounded_prompt

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase

logger = logging.getLogger(__name__)

# Of the prompt room, the share passages of documents sent in chat may take.
DOCUMENTS_SHARE = 0.4
# Of the prompt room, the share the knowledge base's sources may take (history gets the rest).
SOURCES_SHARE = 0.5


class DocumentsContributor:
    """The passages of the chat's documents that best match the question (new every turn,
    so estimated). A question they match is not searched in the knowledge base."""

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


class KnowledgeContributor:
    """Search the knowledge base for the question; ground the prompt on what is found.

    Strict mode with nothing relevant: the turn abstains (no model call). A failed search
    (the embedding call) fails the turn in strict mode and is skipped in assist mode."""

    name = "knowledge"

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge

    @property
    def required(self) -> bool:
        return self.knowledge.strict

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        if draft.covered:  # the chat's own documents answer it
            return
        knowledge = self.knowledge
        previous = previous_questions(turn.window, turn.question_id)
        try:
            retrieval = await knowledge.for_question(turn.question.text, previous[-1:])
        except FoundationModelsError:
            if knowledge.strict:
                raise
            logger.warning("knowledge base search failed; answering without it", exc_info=True)
            return
        found = turn.knowledge
        found.retrieval = retrieval
        if not retrieval.covered:
            if knowledge.strict:  # finishing shows "not found" in the user's language
                found = turn.knowledge
                found.abstained = True
                draft.answer = ""
            return
        # Only passages that are relevant themselves: a weak one dilutes the sources.
        hits = [hit for hit in retrieval.hits if hit.score >= knowledge.retriever.min_score]
        draft.withdraw(DocumentsContributor.name)  # only the start of a document: sources win
        share = int(SOURCES_SHARE * turn.room)
        grounding = grounded_prompt(draft.system_prompt(turn.system_prompt), hits, share)
        found = turn.knowledge
        found.grounding = grounding
        draft.add(self.name, grounding.section)  # new every turn: estimated
        draft.frame_filters.append(hiding_citations)


def hiding_citations(snapshot: Snapshot) -> Snapshot:
    """A streamed frame of a grounded answer without citation numbers or the not-found
    marker (the final message shows citations as links, the marker as the "not found" text)."""
    return dataclasses.replace(snapshot, text=for_stream(snapshot.text))


class ImagesContributor:
    """The turn's images on the question's message: earlier ones fetched again (those that
    cannot be are named, not sent), then its own."""

    name = "images"
    required = False

    def __init__(self, vision: Vision) -> None:
        self.vision = vision

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        images = turn.images
        if images is None or not images.uses_vision:
            return
        draft.images_again = tuple(await fetch_all(self.vision, images.resend or []))
        draft.images_new = images.new
        draft.attach_images = True
