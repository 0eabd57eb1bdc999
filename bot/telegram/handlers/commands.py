"""Commands: /start /help /reset /retry /stop /model /system /stats /forget /privacy."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import utc_today
from bot.storage.repositories import (
    ChatRepository,
    PrivacyRepository,
    UpdateReceipt,
    UsageRepository,
)
from bot.telegram.chatqueue import Ticket
from bot.telegram.deps import (
    Deps,
    help_text,
    in_turn,
    refuse,
    say,
    speaker,
    target,
    thread_of,
)
from bot.telegram.texts import Translator

CLEAR_WORDS = frozenset({"clear", "reset", "default", "-", "сброс", "очистить"})


async def cmd_start(message: Message, deps: Deps, t: Translator) -> None:
    name = message.from_user.first_name if message.from_user else ""
    await say(deps, message, t("start", name=name))


async def cmd_help(message: Message, deps: Deps, t: Translator) -> None:
    await say(deps, message, help_text(deps, t))


async def cmd_reset(
    message: Message,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...] = (),
) -> None:
    # Queued like a message, so "question, /reset, question" keeps its meaning.
    async def job() -> None:
        await deps.conversation.reset(message.chat.id, receipts=receipts)
        deps.answers.forget_trimmed_notice(message.chat.id)
        await say(deps, message, t("reset_done"))

    ticket.submit(job)


async def cmd_retry(
    message: Message,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...] = (),
    is_admin: bool = False,
) -> None:
    deps.answers.submit_retry(ticket, target(message), speaker(message, is_admin=is_admin), t,
                              receipts=receipts)


async def cmd_stop(message: Message, deps: Deps, t: Translator) -> None:
    # A stopped answer is finalised with a "stopped" mark; only say something otherwise.
    if not deps.queues.stop(message.chat.id):
        await say(deps, message, t("stop_nothing"))


def _model_keyboard(models: tuple[str, ...], current: str) -> InlineKeyboardMarkup:
    # callback_data is limited to 64 bytes: send the index, not the model's name.
    rows = [
        [InlineKeyboardButton(text=("• " if m == current else "") + m, callback_data=f"model:{i}")]
        for i, m in enumerate(models)
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def cmd_model(
    message: Message, command: CommandObject, session: AsyncSession, deps: Deps, t: Translator
) -> None:
    models = deps.options.text_models
    chats = ChatRepository(session)
    wanted = (command.args or "").strip()
    if wanted:
        if wanted not in models:
            await say(deps, message, t("model_unknown", model=wanted, models=", ".join(models)))
            return
        await chats.set_model(message.chat.id, None if wanted == models[0] else wanted)
        await session.commit()
        await say(deps, message, t("model_set", model=wanted))
        return
    chat = await chats.get(message.chat.id)
    await session.commit()  # never hold the database while talking to Telegram
    current = (chat.model if chat else None) or models[0]
    if len(models) == 1:
        await say(deps, message, t("model_only_one", model=current))
        return
    await in_turn(deps)
    await deps.outbox.call(
        message.chat.id,
        SendMessage(
            chat_id=message.chat.id,
            text=t("model_current", model=current),
            reply_markup=_model_keyboard(models, current),
            message_thread_id=thread_of(message),
        ),
    )


async def choose_model(
    query: CallbackQuery, session: AsyncSession, deps: Deps, t: Translator
) -> None:
    models = deps.options.text_models
    index = (query.data or "").removeprefix("model:")
    if not index.isdigit() or int(index) >= len(models) or query.message is None:
        await query.answer()
        return
    model = models[int(index)]
    await ChatRepository(session).set_model(query.message.chat.id, None if index == "0" else model)
    await session.commit()
    await query.answer(t("model_set", model=model))
    await _replace_text(deps, query, t("model_set", model=model))


async def cmd_system(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    deps: Deps,
    t: Translator,
    is_admin: bool,
) -> None:
    if not is_admin:
        await refuse(deps, message, t("admins_only"))
        return
    chats = ChatRepository(session)
    text = (command.args or "").strip()
    if not text:
        chat = await chats.get(message.chat.id)
        await session.commit()  # never hold the database while talking to Telegram
        if chat is not None and chat.system_prompt is not None:
            await say(deps, message, t("system_current", prompt=chat.system_prompt or "-"))
        else:
            default = deps.options.default_system_prompt or t("system_none")
            await say(deps, message, t("system_default", prompt=default))
        return
    clear = text.lower() in CLEAR_WORDS
    await chats.set_system_prompt(message.chat.id, None if clear else text)
    await session.commit()
    await say(deps, message, t("system_cleared" if clear else "system_set"))


async def cmd_stats(
    message: Message, session: AsyncSession, deps: Deps, t: Translator, is_admin: bool
) -> None:
    if message.from_user is None:
        return
    usage = UsageRepository(session)
    mine = await usage.for_user(message.from_user.id, utc_today())
    text = t("stats_user", tokens=mine.tokens,
             token_limit=deps.options.daily_token_limit or t("unlimited"))
    if mine.reasoning_tokens:
        text += "\n" + t("stats_reasoning", tokens=mine.reasoning_tokens)
    # The features' lines, in their order (photos, voice, images, web searches), if any.
    for lines in deps.lines:
        if line := await lines.stats_line(session, message.from_user.id, t):
            text += "\n" + line
    if is_admin:
        total = await usage.totals(utc_today())
        text += "\n\n" + t("stats_admin", tokens=total.tokens)
        for lines in deps.lines:
            if line := await lines.admin_line(session, t):
                text += "\n" + line
    await session.commit()
    await say(deps, message, text)


async def cmd_privacy(message: Message, deps: Deps, t: Translator) -> None:
    days = deps.options.retention_days
    retention = t("retention_days", days=days) if days else t("retention_forever")
    logging = "" if deps.options.data_logging else t("privacy_no_logging")
    await say(deps, message, t("privacy", retention=retention, logging=logging))


async def cmd_forget(message: Message, deps: Deps, t: Translator) -> None:
    if message.from_user is None:
        return
    uid = message.from_user.id
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=t("forget_yes"), callback_data=f"forget:yes:{uid}"),
                InlineKeyboardButton(text=t("forget_no"), callback_data=f"forget:no:{uid}"),
            ]
        ]
    )
    await in_turn(deps)
    await deps.outbox.call(
        message.chat.id,
        SendMessage(
            chat_id=message.chat.id,
            text=t("forget_confirm"),
            reply_markup=keyboard,
            message_thread_id=thread_of(message),
        ),
    )


async def confirm_forget(
    query: CallbackQuery, session: AsyncSession, deps: Deps, t: Translator
) -> None:
    # "forget:<yes|no>:<user id>"; anything else is an old or forged button.
    _, answer, uid = [*(query.data or "").split(":", 2), "", ""][:3]
    # Only the user who asked may confirm (the keyboard is visible to a whole group).
    if str(query.from_user.id) != uid:
        await query.answer()
        return
    if answer == "yes":
        await PrivacyRepository(session).forget_user(query.from_user.id)
        await session.commit()
        deps.seen.forget(query.from_user.id)
        text = t("forget_done")
    else:
        text = t("forget_cancelled")
    await query.answer(text)
    await _replace_text(deps, query, text)


async def _replace_text(deps: Deps, query: CallbackQuery, text: str) -> None:
    """Turn the message with the buttons into the outcome (buttons gone)."""
    if not isinstance(query.message, Message):
        return  # too old to edit
    chat_id = query.message.chat.id
    edit = EditMessageText(chat_id=chat_id, message_id=query.message.message_id, text=text)
    await deps.outbox.call(chat_id, edit)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_reset, Command("reset"))
    router.message.register(cmd_retry, Command("retry"), flags={"quota": "text"})
    # /stop must always work, however fast the user writes.
    router.message.register(cmd_stop, Command("stop"), flags={"quota": "free"})
    router.message.register(cmd_model, Command("model"))
    router.callback_query.register(choose_model, F.data.startswith("model:"))
    router.message.register(cmd_system, Command("system"))
    router.message.register(cmd_stats, Command("stats"))
    router.message.register(cmd_privacy, Command("privacy"))
    router.message.register(cmd_forget, Command("forget"))
    router.callback_query.register(confirm_forget, F.data.startswith("forget:"))
    return router
