"""The support desk's parts built from its settings (`settings.desk`): its hours, its records
(`DeskService`, with the state of a user's conversation the tools see), the desk, the learning
loop's jobs, FAQ drafts and content gaps."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.features.desk.domain import DeskService, HoursFormatError, SupportHours
from bot.features.desk.settings import DeskSettings
from bot.plugin.config import ConfigError
from bot.plugin.extending import HandoffEvent

if TYPE_CHECKING:
    from bot.features.desk.insights import InsightJobs
    from bot.features.desk.insights.faq import FaqDrafts
    from bot.features.desk.insights.gaps import GapAnalysis
    from bot.features.desk.telegram import SupportDesk
    from bot.plugin.coordination import Coordinator
    from bot.plugin.ground import Groundwork
    from bot.plugin.models import ChatModel, Embedder, FoundationModelsClient
    from bot.plugin.offers import KnowledgeLookup
    from bot.plugin.storage import Database
    from bot.plugin.telegram import (
        FrontParts,
        Outbox,
        TelegramPart,
    )



log = logging.getLogger("bot")


def support_hours(desk: DeskSettings) -> SupportHours:
    """SUPPORT_HOURS in SUPPORT_TIMEZONE (ConfigError naming what is wrong)."""
    try:
        return SupportHours.parse(desk.hours, desk.timezone)
    except HoursFormatError as exc:
        raise ConfigError(str(exc)) from None


def build_desk_service(ground: Groundwork) -> DeskService | None:
    """The desk's records when SUPPORT_CHAT_ID is set and the front is Telegram's."""
    desk = ground.settings.section(DeskSettings)
    if not (desk.on and ground.front.telegram):
        return None
    return DeskService(ground.db.sessionmaker, support_chat_id=desk.chat_id,
                       shared=ground.front.shared)


def desk_state_of(service: DeskService) -> Callable[[int], Awaitable[str | None]]:
    """ToolContext.desk_state: the state of the user's newest support conversation."""

    async def desk_state(user_id: int) -> str | None:
        case = await service.cases.latest_case(user_id)
        return None if case is None else case.status.value

    return desk_state


def build_desk(
    ground: Groundwork,
    service: DeskService | None,
    knowledge: KnowledgeLookup | None,
    embedder: Embedder | None,
    outbox: Outbox,
    replicas: Coordinator | None = None,
    *,
    menu: dict[str, dict[str, str]] | None = None,
    on_handoff: Callable[[HandoffEvent], None] | None = None,
    call_lines: Callable[[int], Awaitable[list[str]]] | None = None,
    employee_of: Callable[[int], Awaitable[str]] | None = None,
    feedback_buttons: bool = False,
    kb_folder: Path | None = None,
) -> SupportDesk | None:
    """The support desk on its records `service` (None: no desk), sending through `outbox`
    (with replicas, `replicas` coordinates its jobs): it lists every feature's `menu`
    commands with /operator and tells `on_handoff` of each handoff; `call_lines`: the tools'
    lines of a user's chat, for the card, and `employee_of` who the user is at the company.
    `feedback_buttons` (KB_MODE=strict):
    👍/👎 under every answer; `kb_folder`: where approved FAQ drafts are written (the first
    KB_PATH folder)."""
    from bot.features.desk.telegram import DeskOptions, SupportDesk

    if service is None:
        return None
    settings, db, client = ground.settings, ground.db, ground.client
    area = settings.section(DeskSettings)
    options = DeskOptions(
        support_chat_id=area.chat_id,
        hours=support_hours(area),
        csat=area.csat,
        feedback_buttons=feedback_buttons,
        summary_model=settings.text_model,
        retention_days=settings.retention_days,
        admins=tuple(settings.admin_user_ids),
        idle=area.idle,
    )
    classify = client.classify_few_shot if area.handoff_classifier else None
    insights = build_insights(area, db, client, ground.chat_model, owner=settings.replica_id)
    desk = SupportDesk(
        service, outbox, options, model=ground.chat_model, classify=classify,
        coordinator=replicas, insights=insights,
        faq=build_faq(area, db, insights, knowledge, embedder, kb_folder),
        # Only with a knowledge base (numpy loads with one: DESIGN.md); without one, the
        # command `insights gaps`.
        gaps=build_gaps(area, db, insights, embedder, knowledge)
        if insights and knowledge and embedder else None,
        gaps_every=area.insights_interval, menu_extra=menu, on_handoff=on_handoff,
        call_lines=call_lines, employee_of=employee_of,
    )
    return desk


def build_faq(
    desk: DeskSettings, db: Database, insights: InsightJobs | None,
    knowledge: KnowledgeLookup | None, embedder: Embedder | None, kb_folder: Path | None,
) -> FaqDrafts | None:
    """FAQ drafts with DESK_INSIGHTS and a knowledge base to write them into (in the file
    KB_DRAFTS_FILE of `kb_folder`)."""
    if insights is None or knowledge is None or embedder is None or kb_folder is None:
        return None
    from bot.features.desk.insights.faq import FaqDrafts

    best_score = knowledge.best_score

    async def similar(text: str) -> float:
        return await best_score(text, "draft")

    return FaqDrafts(
        insights, db.sessionmaker, similar=similar, embed=_values_of(embedder),
        threshold=desk.drafts_similarity,
        kb_file=kb_folder.expanduser() / desk.drafts_file,
    )


def build_insights(
    desk: DeskSettings, db: Database, client: FoundationModelsClient, chat_model: ChatModel,
    *, owner: str,
) -> InsightJobs | None:
    """Deferred model jobs when DESK_INSIGHTS is on; `owner`: this replica (REPLICA_ID)."""
    if not desk.insights:
        return None
    from bot.features.desk.insights import InsightJobs

    return InsightJobs(
        db.sessionmaker, client, model_name=desk.insights_model, owner=owner,
        sync_model=chat_model,
    )


def build_gaps(
    desk: DeskSettings, db: Database, insights: InsightJobs | None, embedder: Embedder,
    knowledge: KnowledgeLookup | None,
) -> GapAnalysis:
    """Content gaps: questions embedded by `embedder` (the bot's: EMBEDDING_*), compared
    with the knowledge base (`knowledge`, None without one)."""
    from bot.features.desk.insights.gaps import GapAnalysis

    async def similar(text: str) -> float:
        if knowledge is None:
            return 0.0
        return await knowledge.best_score(text, "gap")

    return GapAnalysis(
        db.sessionmaker, embed=_values_of(embedder), similar=similar, jobs=insights,
        covered_at=desk.drafts_similarity,
    )


def _values_of(embedder: Embedder) -> Callable[[str], Awaitable[Any]]:
    """A text's query embedding, as the insights compare them."""

    async def embed(text: str) -> Any:
        return (await embedder.query(text)).values

    return embed


def desk_on_telegram(
    front: FrontParts,
    desk: SupportDesk | None, *, feedback_buttons: bool = False
) -> TelegramPart:
    """The desk's part on the Telegram front: its handlers (the support chat's topics, the
    users' /operator), its card after every delivered answer, its jobs started first and
    stopped last. Without a desk, `feedback_buttons` (KB_MODE=strict): 👍/👎 under every
    answer, recorded in the desk's tables."""

    from bot.plugin.telegram import TelegramPart

    if desk is not None:
        from bot.features.desk.telegram import handlers as desk_handlers

        return TelegramPart(front=[desk_handlers.build_router(desk.chat_id)],
                            data={"desk": desk}, after_delivery=desk, services=[desk])
    if not feedback_buttons:
        return TelegramPart()
    from bot.features.desk.telegram import feedback as feedback_handlers
    from bot.features.desk.telegram.feedback import AnswerFeedback

    feedback = AnswerFeedback(DeskService(front.sessionmaker, support_chat_id=0),
                              front.outbox)
    return TelegramPart(front=[feedback_handlers.build_router()],
                        data={"feedback": feedback}, after_delivery=feedback)
