"""Users and chats: upserts keep settings, role and block flags."""

from __future__ import annotations

from bot.storage.database import Database
from bot.storage.models import UserRole
from bot.storage.repositories import ChatRepository, UserRepository


async def test_user_upsert_creates_then_refreshes_names(database: Database) -> None:
    async with database.session() as session:
        users = UserRepository(session)
        created = await users.upsert(7_000_000_001, "Анна", "Иванова", "anna", "ru")
        assert created.role is UserRole.USER
        assert created.blocked is False
        first_seen = created.created_at
    async with database.session() as session:
        users = UserRepository(session)
        assert await users.set_role(7_000_000_001, UserRole.ADMIN)
        assert await users.set_blocked(7_000_000_001, True)
    async with database.session() as session:
        updated = await UserRepository(session).upsert(7_000_000_001, "Anna", None, "anna2", None)
        assert updated.first_name == "Anna"
        assert updated.last_name is None
        assert updated.username == "anna2"
        assert updated.language == "ru"  # Telegram omitted it: keep the known one
        assert updated.role is UserRole.ADMIN
        assert updated.blocked is True
        assert updated.created_at == first_seen
        assert updated.updated_at >= first_seen


async def test_user_setters_report_missing_users(database: Database) -> None:
    async with database.session() as session:
        users = UserRepository(session)
        assert not await users.set_blocked(1, True)
        assert not await users.set_role(1, UserRole.ADMIN)
        assert await users.get(1) is None


async def test_with_role(database: Database) -> None:
    async with database.session() as session:
        users = UserRepository(session)
        for uid in (3, 1, 2):
            await users.upsert(uid, f"u{uid}")
        await users.set_role(3, UserRole.ADMIN)
        await users.set_role(1, UserRole.ADMIN)
    async with database.session() as session:
        admins = await UserRepository(session).with_role(UserRole.ADMIN)
    assert [u.id for u in admins] == [1, 3]


async def test_chat_upsert_keeps_per_chat_settings(database: Database) -> None:
    chat_id = -1001234567890
    async with database.session() as session:
        chats = ChatRepository(session)
        await chats.upsert(chat_id, "group", "Support")
        assert await chats.set_model(chat_id, "yandexgpt/rc")
        assert await chats.set_system_prompt(chat_id, "Be brief.")
    async with database.session() as session:
        chat = await ChatRepository(session).upsert(chat_id, "supergroup", "Support desk")
        assert (chat.type, chat.title) == ("supergroup", "Support desk")
        assert (chat.model, chat.system_prompt) == ("yandexgpt/rc", "Be brief.")
    async with database.session() as session:
        chats = ChatRepository(session)
        assert await chats.set_model(chat_id, None)
        assert not await chats.set_model(42, "x")
    async with database.session() as session:
        chat2 = await ChatRepository(session).get(chat_id)
        assert chat2 is not None
        assert chat2.model is None
        assert chat2.system_prompt == "Be brief."
