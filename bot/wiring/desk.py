"""The support desk's parts built from Settings: its hours, the desk, the learning loop's
jobs, FAQ drafts and content gaps."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, Settings
from bot.desk import DeskService, HoursFormatError, SupportHours

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.insights import InsightJobs
    from bot.insights.faq import FaqDrafts
    from bot.insights.gaps import GapAnalysis
    from bot.operations import Shared
    from bot.telegram.desk import SupportDesk
    from bot.telegram.outbox import Outbox
    from bot.wiring.core import Core



log = logging.getLogger("bot")


def support_hours(settings: Settings) -> SupportHours:
    try:
        return SupportHours.parse(settings.support_hours, settings.support_timezone)
    except HoursFormatError as exc:
        raise ConfigError(str(exc)) from None


def build_desk(
    settings: Settings, c: Core, bot: Bot, shared: Shared | None = None,
    pacing: Mapping[str, Any] | None = None,
) -> tuple[Outbox, SupportDesk | None]:
    """The outbound scheduler (its pacing from TELEGRAM_*, its budgets shared with the other
    replicas when `shared`), and the support desk when SUPPORT_CHAT_ID is set. `pacing`:
    Outbox arguments over those (bot.testing shrinks Telegram's intervals)."""
    from bot.operations import outbox_budgets
    from bot.telegram.desk import DeskOptions, SupportDesk
    from bot.telegram.outbox import Outbox

    arguments: dict[str, Any] = {
        "draft_interval": settings.telegram_draft_interval,
        "draft_recovery": settings.telegram_draft_recovery,
        "final_preview": settings.telegram_final_preview,
        "frame_grace": settings.telegram_frame_grace,
        **outbox_budgets(settings, shared),
    }
    outbox = Outbox(bot, **{**arguments, **(pacing or {})})
    if not settings.support_chat_id:
        return outbox, None
    options = DeskOptions(
        support_chat_id=settings.support_chat_id,
        hours=support_hours(settings),
        csat=settings.csat == "on",
        # 👍/👎 under every answer in KB_MODE=strict deployments.
        feedback_buttons=settings.kb_effective_mode == "strict",
        summary_model=settings.text_model,
        retention_days=settings.retention_days,
        admins=tuple(settings.admin_user_ids),
    )
    service = DeskService(
        c.db.sessionmaker, support_chat_id=settings.support_chat_id, shared=shared is not None
    )
    classify = c.client.classify_few_shot if settings.handoff_classifier == "on" else None
    coordinator = shared.coordinator if shared is not None else None
    insights = build_insights(settings, c)
    desk = SupportDesk(
        service, outbox, options, model=c.chat_model, classify=classify, coordinator=coordinator,
        insights=insights, faq=build_faq(settings, c, insights),
        # numpy loads only with a knowledge base (DESIGN.md): without one, `insights gaps`.
        gaps=build_gaps(settings, c, insights) if insights and c.knowledge else None,
        gaps_every=settings.insights_interval,
    )  # fmt: skip
    if c.conversation.tools is not None:  # tools see the conversation's desk state
        c.conversation.tools.desk_state = desk_state_of(service)
    return outbox, desk


def desk_state_of(service: DeskService) -> Callable[[int], Awaitable[str | None]]:
    """ToolContext.desk_state: the state of the user's newest support conversation."""

    async def desk_state(user_id: int) -> str | None:
        case = await service.latest_case(user_id)
        return None if case is None else case.status.value

    return desk_state


def build_faq(settings: Settings, c: Core, insights: InsightJobs | None) -> FaqDrafts | None:
    """FAQ drafts with DESK_INSIGHTS and a knowledge base to write them into."""
    if insights is None or c.knowledge is None or not settings.kb_path:
        return None
    from bot.insights.faq import FaqDrafts

    knowledge = c.knowledge

    async def similar(text: str) -> float:
        return (await knowledge.search(text, 1, kind="draft")).best_score

    async def embed(text: str) -> Any:
        return (await knowledge.embedder.query(text)).values

    return FaqDrafts(
        insights, c.db.sessionmaker, similar=similar, embed=embed,
        threshold=settings.kb_drafts_similarity,
        kb_file=settings.kb_path[0].expanduser() / settings.kb_drafts_file,
    )  # fmt: skip


def build_insights(settings: Settings, c: Core) -> InsightJobs | None:
    """Deferred model jobs when DESK_INSIGHTS is on."""
    if not settings.desk_insights_on:
        return None
    from bot.insights import InsightJobs

    return InsightJobs(
        c.db.sessionmaker, c.client, model_name=settings.insights_model,
        owner=settings.replica_id, sync_model=c.chat_model,
    )  # fmt: skip


def build_gaps(settings: Settings, c: Core, insights: InsightJobs | None) -> GapAnalysis:
    """Content gaps: the knowledge base's query embeddings when there is one."""
    from bot.insights.gaps import GapAnalysis
    from bot.knowledge.embedder import Embedder

    knowledge = c.knowledge
    embedder = knowledge.embedder if knowledge is not None else Embedder(
        c.client, doc_model=settings.embedding_doc_model,
        query_model=settings.embedding_query_model, rps=settings.embedding_rps,
    )  # fmt: skip

    async def similar(text: str) -> float:
        if knowledge is None:
            return 0.0
        return (await knowledge.search(text, 1, kind="gap")).best_score

    async def embed(text: str) -> Any:
        return (await embedder.query(text)).values

    return GapAnalysis(
        c.db.sessionmaker, embed=embed, similar=similar, jobs=insights,
        covered_at=settings.kb_drafts_similarity,
    )  # fmt: skip
