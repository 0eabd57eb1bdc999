"""What handlers get injected (as `deps`), helpers that turn a Message into core values, and
/help's text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import ChatRef, ConversationService, Speaker
from bot.conversation.types import Employee
from bot.telegram.access import AccessPolicy
from bot.telegram.answer_parts import Asked, Target
from bot.telegram.answers import Answerer
from bot.telegram.chatqueue import HANDLING, ChatQueues, Ticket
from bot.telegram.chatsignals import ReplicaRequests
from bot.telegram.middlewares import RecentlySeen
from bot.telegram.notices import PersonalNotices
from bot.telegram.notifier import Notifier
from bot.telegram.outbox import Outbox
from bot.telegram.pastes import PasteJoiner
from bot.telegram.texts import COMMANDS, Translator

if TYPE_CHECKING:
    from bot.coordination import Coordinator


class UsageLines(Protocol):
    """What /help and /stats say of a feature (spoken answers: how to switch them, and what
    was spoken today of the budget). An empty line is left out."""

    def help_line(self, t: Translator) -> str:
        """/help's line on the feature."""
        ...

    async def stats_line(self, session: AsyncSession, user_id: int, t: Translator) -> str:
        """/stats's line: what the user used of it today."""
        ...

    async def admin_line(self, session: AsyncSession, t: Translator) -> str:
        """/stats's line for admins, after the day's totals: what all users used of it."""
        ...


@dataclass(frozen=True, slots=True)
class Cluster:
    """This replica among several (REDIS_URL, webhook): the coordination store, the name it
    holds leases under, and how many replicas are alive (the census: they take turns at
    sweeping for chats left undone)."""

    coordinator: Coordinator
    owner: str
    live: Callable[[], int] = lambda: 1


@dataclass(frozen=True, slots=True)
class BotOptions:
    """Deployment values the handlers show or enforce (plain values, not Settings)."""

    text_models: tuple[str, ...]
    default_system_prompt: str = ""
    daily_token_limit: int = 0
    retention_days: int = 0
    data_logging: bool = False
    # See QUEUE_MAX_AGE and QUEUE_STALE_ACTION (bot/telegram/backlog.py); 0 = never too old.
    queue_max_age: float = 3600.0
    queue_stale_action: str = "apologize"
    rate_limit_per_minute: int = 0  # per user; 0: none
    # Seconds the answers under way get at shutdown, then seconds to finalise the cut ones.
    shutdown_grace: float = 6.0
    shutdown_settle: float = 3.0

    @property
    def default_model(self) -> str:
        return self.text_models[0]


@dataclass(frozen=True, slots=True)
class Deps:
    options: BotOptions
    policy: AccessPolicy
    sessionmaker: async_sessionmaker[AsyncSession]
    conversation: ConversationService
    answers: Answerer
    queues: ChatQueues
    notify: Notifier
    outbox: Outbox
    pastes: PasteJoiner
    seen: RecentlySeen
    # Several webhook replicas (chatleases.py): the stop button reaches the streaming
    # replica, and a tool turn carried on after a press runs at the chat's lease holder, as a
    # resumed turn (bot/features/tools/presses.py).
    replicas: ReplicaRequests | None = None
    # The texts' keys of what the features let the bot take besides text (/help lists them).
    takes: tuple[str, ...] = ()
    # What /help and /stats say of the features (spoken answers), in the parts' order.
    lines: tuple[UsageLines, ...] = ()
    # Every feature's registered menu commands (name -> description by language: fmbot's
    # /image, the App's, the plugins'), listed by /help too.
    menu: dict[str, dict[str, str]] = field(default_factory=dict)
    # What concerns one member of a group (a refusal, a press not theirs), to them alone.
    notices: PersonalNotices | None = None


def chat_ref(message: Message) -> ChatRef:
    chat = message.chat
    return ChatRef(chat.id, chat.type, chat.title if chat.type != "private" else None)


def speaker(message: Message, *, is_admin: bool, employee: Employee | None = None) -> Speaker:
    """Who asks in `message`; `is_admin`: the update's decision (`data["is_admin"]`, the
    Principal's), never re-derived here."""
    user = message.from_user
    if user is None:  # a channel post or an anonymous admin: speak as the chat
        return Speaker(message.chat.id, message.chat.title or "someone")
    return Speaker(user.id, user.full_name, user.language_code, is_admin=is_admin,
                   employee=employee)


def thread_of(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


def target(message: Message) -> Target:
    """Answers in groups reply to the question (several people talk there); private ones
    don't need to."""
    private = message.chat.type == "private"
    user = message.from_user
    return Target(
        chat=chat_ref(message),
        reply_to=None if private else message.message_id,
        thread_id=thread_of(message),
        asked=None if user is None else Asked(user.id, user.language_code, message.message_id),
    )


def help_text(deps: Deps, t: Translator) -> str:
    """fmbot's commands, then the ones the features and the App added (routers,
    `app.command`), then the features' own lines, then what the bot takes besides text: the
    menu and /help never disagree. A command a feature's own line tells of ("/image [16:9]
    ...") is not listed again with its menu description. /help says it, the desk's /help
    too, and so does a bare mention of the bot in a group."""
    parts = [t("help")]
    own = [line for lines in deps.lines if (line := lines.help_line(t))]
    added = [f"/{name} - {descriptions.get(t.language) or descriptions['en']}"
             for name, descriptions in deps.menu.items() if name not in COMMANDS
             and not any(line.startswith(f"/{name} ") for line in own)]
    if added:
        parts.append("\n".join(added))
    parts += own
    takes = [t(key) for key in deps.takes]
    if takes:
        parts.append(t("help_takes") + "\n" + "\n".join(f"• {line}" for line in takes))
    return "\n\n".join(parts)


async def refuse(deps: Deps, message: Message, text: str) -> None:
    """A refusal that concerns the sender alone (a command only admins may use): in a group
    shown to them alone (notices.py); elsewhere, as every reply, to their message in groups,
    plainly in private chats."""
    if deps.notices is not None:
        await in_turn(deps)
        await deps.notices.tell_sender(message, text)
        return
    await say(deps, message, text)


async def say(deps: Deps, message: Message, text: str) -> None:
    """A short reply about the message itself (too big, unreadable, off): to the message in
    groups, plainly in private chats."""
    await in_turn(deps)
    private = message.chat.type == "private"
    await deps.notify(message.chat.id, text, reply_to=None if private else message.message_id,
                      thread_id=thread_of(message))


async def in_turn(deps: Deps) -> None:
    """In a message's handler, before a reply it sends itself: until the chat's earlier
    updates are through their handlers, so the replies keep the messages' order
    (`ChatQueues.in_turn`; `say` and `refuse` call it)."""
    ticket = HANDLING.get()
    if ticket is not None:
        await deps.queues.in_turn(ticket)


def answer_target(message: Message, ticket: Ticket, deps: Deps, replayed: bool) -> Target:
    """Where the message's answer goes: `target`, quoting the question when the answer comes
    late (replayed, or after other answers of the chat)."""
    where = target(message)
    if where.reply_to is None and (replayed or deps.answers.answered_later(ticket)):
        where = replace(where, reply_to=message.message_id)
    return where
