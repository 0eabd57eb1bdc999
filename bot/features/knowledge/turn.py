"""The knowledge base in a turn: search it for the question and ground the prompt on what is
found (strict mode with nothing relevant answers "not found" without a model call); once the
answer is stored, record which sources it cited and whether they covered it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.knowledge import metrics
from bot.features.knowledge.access import readers
from bot.features.knowledge.base import KnowledgeBase
from bot.features.knowledge.repository import KnowledgeRepository
from bot.features.knowledge.types import Retrieval
from bot.plugin.conversation import (
    PromptContributor,
    PromptDraft,
    TurnFeature,
    TurnResult,
    TurnState,
    Verdict,
    previous_questions,
)
from bot.plugin.grounding import TOOLS_ONLY, Grounded, grounded_prompt, hiding_citations
from bot.plugin.models import FoundationModelsError

logger = logging.getLogger(__name__)

# Of the prompt room, the share the knowledge base's sources may take (history gets the rest).
SOURCES_SHARE = 0.5


@dataclass(slots=True)
class Searched:
    """The turn's search, for the answer's record."""

    retrieval: Retrieval | None = None


class KnowledgeContributor:
    """Search the knowledge base for the question; ground the prompt on what is found.

    Strict mode with nothing relevant: the turn abstains (no model call), unless it offers
    tools, whose results may still answer (`_abstain`). A failed search
    (the embedding call) never fails the turn, since asking again could not help: assist
    mode answers without the knowledge base, strict mode abstains as when nothing is found
    (the "not found" text with the way to a person); a WARNING says so. A question the
    chat's own documents answer (`draft.covered`) is not searched."""

    name = "knowledge"

    def __init__(self, knowledge: KnowledgeBase, group_chats: Mapping[int, str]) -> None:
        self.knowledge = knowledge
        self.group_chats = group_chats

    @property
    def required(self) -> bool:
        # Strict mode: an answer without the sources must not go out. A failed search is
        # handled here (an abstention); anything else failing fails the turn.
        return self.knowledge.strict

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        if draft.covered:
            return
        knowledge = self.knowledge
        previous = previous_questions(turn.window, turn.question_id)
        try:
            retrieval = await knowledge.for_question(
                turn.question.text, previous[-1:],
                readers(turn.speaker, turn.chat, self.group_chats))
        except FoundationModelsError as exc:
            if knowledge.strict:
                logger.warning("knowledge base search failed in chat %s (%s); answering "
                               "\"not found\" unless a tool answers", turn.chat.chat_id, exc)
                _abstain(turn, draft)
                return
            logger.warning("knowledge base search failed in chat %s (%s); answering without "
                           "it", turn.chat.chat_id, exc)
            return
        turn.part(Searched).retrieval = retrieval
        if not retrieval.covered:
            if knowledge.strict:  # finishing shows "not found" in the user's language
                _abstain(turn, draft)
            return
        # Only passages that are relevant themselves: a weak one dilutes the sources.
        hits = [hit for hit in retrieval.hits if hit.score >= knowledge.retriever.min_score]
        draft.withdraw("documents")  # only the start of a chat's document: sources win
        share = int(SOURCES_SHARE * turn.room)
        grounding = grounded_prompt(draft.system_prompt(turn.system_prompt), hits, share)
        turn.part(Grounded).ground(grounding)
        draft.add(self.name, grounding.section)  # new every turn: estimated
        draft.frame_filters.append(hiding_citations)


def _abstain(turn: TurnState, draft: PromptDraft) -> None:
    """Strict mode with nothing to ground the answer on: "not found" without a model call,
    unless the turn offers tools (the tool loop runs its stream; the core decides, running.py):
    then the model may answer only from what a tool returns, and "not found" stands unless a
    tool was called (Grounded.read_back)."""
    grounded = turn.part(Grounded)
    grounded.abstain_unless_tools()
    draft.add("knowledge", TOOLS_ONLY)
    draft.frame_filters.append(hiding_citations)  # the marker is never shown while streaming
    draft.frame_filters.append(grounded.until_a_tool)
    draft.abstain = ""


class KnowledgeFeature(TurnFeature):
    name = "knowledge"

    def __init__(self, knowledge: KnowledgeBase,
                 group_chats: Mapping[int, str] | None = None) -> None:
        self.knowledge = knowledge
        self._contributors = (KnowledgeContributor(knowledge, group_chats or {}),)

    def contributors(self) -> Sequence[PromptContributor]:
        return self._contributors

    async def record(self, session: AsyncSession, turn: TurnState, verdict: Verdict) -> None:
        retrieval = turn.part(Searched).retrieval
        if retrieval is None:
            return
        turn.trace.add("knowledge", trace_entry(retrieval, turn.part(Grounded),
                                                self.knowledge.retriever.min_score,
                                                strict=self.knowledge.strict))
        turn.trace.tag(*(f"doc:{s.path}" for s in turn.part(Grounded).sources if s.cited))
        await KnowledgeRepository(session).save_answer(
            turn.answer_id,
            covered=_covered(turn.part(Grounded)),
            sources=[source.as_record() for source in turn.part(Grounded).sources],
            query=retrieval.query,
        )

    def finished(self, turn: TurnState, result: TurnResult) -> None:
        if turn.part(Searched).retrieval is not None:
            metrics.kb_answer(covered=_covered(turn.part(Grounded)))


#: How much of a passage's text the trace keeps (the console shows what was found, not all).
PASSAGE_EXCERPT = 300


def trace_entry(
    retrieval: Retrieval, grounded: Grounded, min_score: float, *, strict: bool
) -> dict[str, object]:
    """The search as the answer's trace keeps it: the text searched, each passage found with
    its document and score against KB_MIN_SCORE, whether it went into the prompt and whether
    the answer cited it."""
    cited = {(s.path, s.heading) for s in grounded.sources if s.cited}
    used = grounded.grounding is not None
    passages = [
        {
            "document": hit.title or hit.path,
            "path": hit.path,
            "heading": hit.heading,
            "score": round(hit.score, 4),
            "used": used and hit.score >= min_score,
            "cited": (hit.path, hit.heading) in cited,
            "excerpt": hit.text[:PASSAGE_EXCERPT],
        }
        for hit in retrieval.hits
    ]
    return {
        "search": retrieval.query,
        "mode": "strict" if strict else "assist",
        "min_score": min_score,
        "best_score": round(retrieval.best_score, 4),
        "covered": retrieval.covered,
        "passages": passages,
    }


def _covered(grounded: Grounded) -> bool:
    return not grounded.not_found and grounded.grounding is not None
