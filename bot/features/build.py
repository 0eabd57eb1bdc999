"""The features built from Settings, for the composition root (bot/wiring) to ask without
naming any: each feature's own `build.py` builds its parts, and this list calls them in the
order the bot needs them. Three steps: before the database is touched (`before_start`: a bad
TOOLS_FILE stops there), on the core both front ends share (`core_features`: the turn's
features, the services they run on), and on the Telegram front (`telegram_features`: the
desk, voice, guest mode, chat automation, rich messages and the parts built on the front's
own: /image, the tool cards, /kb, documents sent in chat); and the App's lifecycle hooks, run
by the extensions feature (`lifecycle`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.features import turn_features
from bot.features.asker import Asker
from bot.features.desk.build import build_desk, build_desk_service, desk_state_of
from bot.features.documents.build import build_documents
from bot.features.extensions.build import build_runner, lifecycle
from bot.features.images.build import build_images
from bot.features.knowledge.build import start_knowledge, start_store_sync
from bot.features.tools.build import build_tool_loop, build_toolbox, start_toolbox_of
from bot.features.tools.toolbox import Toolbox
from bot.features.vision.build import build_vision
from bot.features.websearch.build import build_hosted

__all__ = ["BeforeStart", "CoreFeatures", "TelegramFeatures", "before_start", "core_features",
           "lifecycle", "telegram_features"]

if TYPE_CHECKING:
    from bot.app.parts import AppParts
    from bot.conversation.features import TurnFeature
    from bot.coordination import Coordinator
    from bot.extending.events import HandoffEvent
    from bot.extending.tools import ToolSource
    from bot.features.desk.domain import DeskService
    from bot.features.documents.chat import ChatDocuments
    from bot.features.extensions import ExtensionRunner
    from bot.features.images.service import ImageService
    from bot.features.knowledge.base import KnowledgeBase
    from bot.features.settings import Settings
    from bot.features.tools.loop import ToolLoop
    from bot.features.vision.images import Vision
    from bot.features.websearch.hosted import HostedSearch
    from bot.telegram.answer_parts import FinalForm
    from bot.telegram.downloads import TelegramFiles
    from bot.telegram.featureparts import TelegramFeature
    from bot.telegram.media.photos import PhotoPreparer
    from bot.telegram.outbox import Outbox
    from bot.wiring.groundwork import Groundwork
    from bot.wiring.operations import Shared


@dataclass(frozen=True, slots=True)
class BeforeStart:
    """What the features build before the database is migrated: the toolbox (TOOLS_FILE and
    the App's tools), connected by `start` once the resources' stack is open."""

    toolbox: Toolbox

    async def start(self, stack: AsyncExitStack) -> None:
        """Connect the MCP servers; the toolbox is closed with `stack` (last of all)."""
        stack.push_async_callback(self.toolbox.close)
        await start_toolbox_of(self.toolbox)


def before_start(
    settings: Settings,
    app: AppParts | None,
    wrap_tools: Callable[[ToolSource], ToolSource] | None = None,
) -> BeforeStart:
    """A bad TOOLS_FILE stops here, before anything starts; the App's own tools join it.
    `wrap_tools`: each source replaced by what it returns (`fmbot eval` answers the calls
    with its cases' stubs)."""
    toolbox = build_toolbox(settings.tools, app.tool_sources if app is not None else ())
    if wrap_tools is not None:
        toolbox = Toolbox([wrap_tools(source) for source in toolbox.sources],
                          observer=toolbox.observer)
    return BeforeStart(toolbox)


@dataclass(frozen=True, slots=True)
class CoreFeatures:
    """The features built on the shared core: the turn's (`turn`, in the order a turn asks
    them), and the services the front ends and the commands reach them by."""

    images: ImageService
    turn: Sequence[TurnFeature] = ()
    toolbox: Toolbox | None = None
    tools: ToolLoop | None = None  # the tool loop: cards, presses, limits, expiry
    knowledge: KnowledgeBase | None = None
    desk: DeskService | None = None  # the support desk's records (SUPPORT_CHAT_ID, Telegram)
    extras: ExtensionRunner | None = None  # the App's context providers, hooks and routers
    documents: ChatDocuments | None = None  # documents sent in chat (Telegram)
    vision: Vision | None = None
    hosted: HostedSearch | None = None  # web and file search (the Responses API)

    @property
    def image_tokens(self) -> int | None:
        """What an image costs in the model's context (None without the vision model)."""
        return self.vision.image_tokens if self.vision is not None else None


async def core_features(
    ground: Groundwork, before: BeforeStart, app: AppParts | None
) -> CoreFeatures:
    """Every feature of the shared core, built on `ground` (its resources closed with
    `ground.stack`) and started: the knowledge base loaded (and with `kb_background`, synced
    in the background, as the Vector Store is)."""
    settings, db, stack, front = ground.settings, ground.db, ground.stack, ground.front
    extras = build_runner(app, settings.extension_timeout)
    if extras is not None:
        stack.push_async_callback(extras.aclose)  # hooks still running get a grace period
    kb = settings.knowledge
    knowledge = await start_knowledge(kb, db, ground.client, stack,
                                      background=ground.kb_background)
    desk = build_desk_service(ground)
    file_search = kb.backend == "yandex" and kb.on  # the knowledge base kept by Yandex
    hosted = build_hosted(  # web and file search, if offered
        settings.websearch, db, text_api=settings.text_api, file_search=file_search,
        store_id=kb.store_id, file_results=kb.top_k, strict=kb.mode == "strict")
    # Without TOOLS_FILE (or the App's tools) the toolbox is empty: no tools, every
    # turn as before. Tools see the state of the user's support conversation.
    desk_state = desk_state_of(desk) if desk is not None else None
    tools = build_tool_loop(
        settings.tools, db, ground.chat_model, before.toolbox,
        admins=frozenset(settings.admin_user_ids), daily_tokens=settings.daily_token_limit,
        desk_state=desk_state, on_superseded=front.superseded,
    )
    vision = build_vision(ground, front.fetch_image)
    documents = None
    if front.telegram:
        from bot.features.documents.chat import ChatDocuments

        documents = ChatDocuments(db.sessionmaker)
    turn = turn_features(
        extras=extras, documents=documents, knowledge=knowledge, vision=vision,
        hosted=hosted, tools=tools,
        asker=Asker(frozenset(settings.admin_user_ids), desk_state),
        business=front.telegram and settings.business.on,
    )
    if ground.kb_background and hosted is not None and hosted.store_id is not None:
        from bot.wiring.clients import build_store_client

        store = build_store_client(settings, ground.auth)  # KB_BACKEND=yandex
        await start_store_sync(kb, db, store, stack)
    return CoreFeatures(
        images=build_images(ground), turn=turn, toolbox=before.toolbox, tools=tools,
        knowledge=knowledge, desk=desk, extras=extras, documents=documents, vision=vision,
        hosted=hosted,
    )


@dataclass(frozen=True, slots=True)
class TelegramFeatures:
    """The features on the Telegram front, as `build_telegram` (bot/wiring/telegram.py)
    takes them: `parts` built on the front's own parts (TelegramFeature), in the order they
    see updates; `support_chat_id`: the support desk's chat (0: no desk)."""

    final_forms: Sequence[FinalForm] = ()
    parts: Sequence[TelegramFeature] = field(default_factory=list)
    support_chat_id: int = 0


def telegram_features(
    ground: Groundwork,
    core: CoreFeatures,
    *,
    outbox: Outbox,
    shared: Shared | None,
    files: TelegramFiles,
    photos: PhotoPreparer | None,
    system_prompt: str,
    coordinator: Coordinator | None = None,
    menu: dict[str, dict[str, str]] | None = None,
    on_handoff: Callable[[HandoffEvent], None] | None = None,
    guest_edit_interval: float = 1.0,
) -> TelegramFeatures:
    """Every feature's part on the Telegram front, built on `ground` (its resources closed
    with `ground.stack`) and the core's features. `shared` (replicas): the coordination the
    desk's jobs run on; `coordinator` (several webhook replicas): each spoken reply under its
    lease; `menu`: the App's menu commands the desk lists to operators; `on_handoff`: told of
    each handoff (the App's hooks); `guest_edit_interval`: guest answers edited at most once
    per so many seconds."""
    from bot.features.business.build import build_business, business_on_telegram
    from bot.features.desk.build import desk_on_telegram
    from bot.features.documents.telegram import documents_on_telegram
    from bot.features.guest.build import build_guest, guest_on_telegram
    from bot.features.images.telegram import images_on_telegram
    from bot.features.knowledge.telegram import knowledge_on_telegram
    from bot.features.rich.build import build_final_forms
    from bot.features.tools.telegram import tools_on_telegram
    from bot.features.vision.photos import PhotoSupport, photos_on_telegram
    from bot.features.voice.build import build_voice, build_voice_input, voice_on_telegram

    settings, stack = ground.settings, ground.stack
    kb = settings.knowledge
    strict = kb.mode == "strict"  # 👍/👎 under every answer in KB_MODE=strict deployments
    desk = build_desk(ground, core.desk, core.knowledge, outbox, shared, menu=menu,
                      on_handoff=on_handoff, feedback_buttons=strict,
                      kb_folder=kb.paths[0] if kb.paths else None)
    superseded = ground.front.superseded
    return TelegramFeatures(
        # Tables, headings, math and nested lists as rich messages (RICH_MESSAGES).
        final_forms=build_final_forms(settings.rich),
        parts=[
            # Chat automation (BUSINESS_REPLIES): customers of connected accounts answered.
            business_on_telegram(build_business(
                settings.business, customer_daily_tokens=settings.daily_token_limit)),
            # Guest queries (GUEST_MODE): the bot @mentioned in chats it is not in.
            guest_on_telegram(build_guest(ground, system_prompt),
                              edit_interval=guest_edit_interval),
            # The support desk; without one, 👍/👎 under every answer in KB_MODE=strict.
            desk_on_telegram(desk, feedback_buttons=strict),
            # Photos and albums (VISION_MODEL).
            photos_on_telegram(None if photos is None
                               else PhotoSupport(photos,
                                                 max_image_mb=settings.vision.max_image_mb)),
            # Voice notes heard (SPEECH_RECOGNITION; over 30 s too: MAX_VOICE_SECONDS);
            # answers spoken (VOICE_REPLIES), with replicas each reply under its lease.
            voice_on_telegram(build_voice(ground, outbox, stack, coordinator),
                              build_voice_input(ground, files, stack)),
            # /image and its jobs; the tool loop's cards, presses and expiry, and /toolcalls;
            # /kb; documents sent in chat.
            images_on_telegram(core.images), tools_on_telegram(core.tools, superseded),
            knowledge_on_telegram(core.knowledge),
            documents_on_telegram(build_documents(settings.documents, files, stack,
                                                  core.documents)),
        ],
        support_chat_id=desk.chat_id if desk is not None else 0,
    )
