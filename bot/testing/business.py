"""Chat automation in a `BotTester`: an account connected to the bot, its customers writing,
the owner writing in their chats (Bot API business connections).

    shop = await tester.business(owner)             # owner: a TestUser
    reply = await shop.customer(bob).says("Do you deliver?")   # what Bob's chat shows
    await shop.all_say([bob, carol], "Do you deliver?")  # at once, answered side by side
    await shop.customer(bob).sends("voice")         # a voice note or a sticker
    await shop.customer(bob).edits(1, "Do you deliver today?")  # an edited message
    await shop.customer(bob).presses("biz:chat:1:0")  # a button on the bot's message there
    await shop.owner_says(bob, "Yes, tomorrow")     # history; the bot keeps quiet there
    await owner.says("/business")                   # the owner's private chat with the bot
    await owner.presses("Send", on=shop.cards[-1])  # approve mode's suggestion
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aiogram.types import (
    BusinessBotRights,
    BusinessConnection,
    CallbackQuery,
    Chat,
    Message,
    Sticker,
    Update,
    Voice,
)

if TYPE_CHECKING:
    from bot.testing.people import Tester, TestUser
    from bot.testing.reply import Reply
    from bot.testing.telegram import Shown


@dataclass(slots=True)
class TestBusiness:
    """An account connected to the bot (see the module docstring)."""

    __test__ = False
    tester: Tester
    owner: TestUser
    connection_id: str

    async def change(self, *, can_reply: bool = True, enabled: bool = True) -> Reply:
        """The owner changes the connection (its right to reply, switched on or off); the
        `Reply` is what the owner's private chat with the bot shows in answer."""
        connection = BusinessConnection(
            id=self.connection_id, user=self.owner.telegram_user(),
            user_chat_id=self.owner.id, date=dt.datetime.now(dt.UTC), is_enabled=enabled,
            rights=BusinessBotRights(can_reply=can_reply, can_read_messages=True),
        )
        update = Update(update_id=self.tester.next_update_id(), business_connection=connection)
        return await self.tester.exchange(self.owner.id, update)

    def customer(self, user: TestUser) -> TestCustomer:
        """`user` as a customer writing to the account."""
        return TestCustomer(self, user)

    async def owner_says(self, customer: TestUser, text: str) -> Reply:
        """The owner writes `text` in their chat with `customer` (themselves, not the bot)."""
        return await self._message(customer, self.owner, text)

    @property
    def cards(self) -> list[Shown]:
        """What the bot sent to the owner's private chat, oldest first (approve mode's
        suggestions carry "Send" and "Discard")."""
        telegram = self.tester.telegram
        return [telegram.shown[key] for key in telegram.created if key[0] == self.owner.id]

    def chat_id(self, customer: TestUser) -> int:
        """The id the tester's Telegram keeps the chat with `customer` under."""
        return self.tester.telegram.business_chat(self.connection_id, customer.id)

    async def all_say(self, customers: Sequence[TestUser], text: str) -> None:
        """Each of `customers` writes `text`, all in one delivery, so their answers run side
        by side (each chat has its own queue), as customers writing at the same moment are;
        what each chat shows is in `customer(user).messages`."""
        if not customers:
            return
        updates = [self._update(customer, customer, text) for customer in customers]
        await self.tester.exchange(self.chat_id(customers[0]), *updates)

    async def _message(self, customer: TestUser, sender: TestUser, text: str | None,
                       *, edit_of: int | None = None, **content: Any) -> Reply:
        update = self._update(customer, sender, text, edit_of=edit_of, **content)
        return await self.tester.exchange(self.chat_id(customer), update)

    def _update(self, customer: TestUser, sender: TestUser, text: str | None,
                *, edit_of: int | None = None, **content: Any) -> Update:
        chat_id = self.chat_id(customer)
        chat = Chat(id=customer.id, type="private", first_name=customer.name)
        message_id = edit_of or self.tester.telegram.next_message_id(chat_id)
        message = Message(
            message_id=message_id, date=dt.datetime.now(dt.UTC), chat=chat,
            from_user=sender.telegram_user(), text=text,
            business_connection_id=self.connection_id,
            edit_date=int(dt.datetime.now(dt.UTC).timestamp()) if edit_of else None,
            **content,
        )
        if edit_of is None:
            return Update(update_id=self.tester.next_update_id(), business_message=message)
        return Update(update_id=self.tester.next_update_id(), edited_business_message=message)


@dataclass(frozen=True, slots=True)
class TestCustomer:
    """A customer of a connected account: their chat with the owner."""

    __test__ = False
    business: TestBusiness
    user: TestUser

    async def says(self, text: str) -> Reply:
        """The customer writes `text`; the `Reply` is what the bot sent in that chat, as the
        owner (nothing in approve mode: see `TestBusiness.cards`)."""
        return await self.business._message(self.user, self.user, text)

    async def sends(self, kind: Literal["voice", "sticker"]) -> Reply:
        """The customer sends a voice note or a sticker (no text)."""
        file_id, unique = f"{kind}-1", f"{kind}-u1"
        content: dict[str, Any] = (
            {"voice": Voice(file_id=file_id, file_unique_id=unique, duration=3)}
            if kind == "voice" else
            {"sticker": Sticker(file_id=file_id, file_unique_id=unique, type="regular",
                                width=512, height=512, is_animated=False, is_video=False,
                                emoji="👍")})
        return await self.business._message(self.user, self.user, None, **content)

    async def edits(self, message_id: int, text: str) -> Reply:
        """The customer edits their message `message_id` to read `text`."""
        return await self.business._message(self.user, self.user, text, edit_of=message_id)

    async def presses(self, data: str) -> Reply:
        """The customer presses an inline button carrying `data` on the bot's newest message
        in their chat (any message when it sent none yet): the press's message carries the
        connection's id, as Telegram sends it."""
        chat = Chat(id=self.user.id, type="private", first_name=self.user.name)
        shown = self.messages
        message = Message(
            message_id=shown[-1].message_id if shown else 1, date=dt.datetime.now(dt.UTC),
            chat=chat, business_connection_id=self.business.connection_id,
        )
        tester = self.business.tester
        query = CallbackQuery(id=str(tester.next_update_id()),
                              from_user=self.user.telegram_user(),
                              chat_instance=str(chat.id), data=data, message=message)
        update = Update(update_id=tester.next_update_id(), callback_query=query)
        return await tester.exchange(self.business.chat_id(self.user), update)

    @property
    def messages(self) -> list[Shown]:
        """What the bot has sent in the chat so far, oldest first."""
        telegram = self.business.tester.telegram
        chat_id = self.business.chat_id(self.user)
        return [telegram.shown[key] for key in telegram.created if key[0] == chat_id]


