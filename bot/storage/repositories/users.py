"""Users and chats: upserted on every update, so both upserts are single race-safe statements."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Chat, User, UserRole, utcnow
from bot.storage.repositories._upsert import excluded, insert_for


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self,
        telegram_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language: str | None = None,
    ) -> User:
        """Create the user or refresh their names; role and blocked are never touched here.

        A None language keeps the stored one (Telegram omits it on some updates).
        """
        stmt = insert_for(self.session, User).values(
            id=telegram_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language=language,
        )
        new = excluded(stmt)
        stmt = stmt.on_conflict_do_update(
            index_elements=[User.id],
            set_={
                "first_name": new.first_name,
                "last_name": new.last_name,
                "username": new.username,
                "language": func.coalesce(new.language, User.language),
                "updated_at": utcnow(),
            },
        ).returning(User)
        result = await self.session.scalars(stmt, execution_options={"populate_existing": True})
        row: User = result.one()
        return row

    async def get(self, telegram_id: int) -> User | None:
        return await self.session.get(User, telegram_id)

    async def set_blocked(self, telegram_id: int, blocked: bool) -> bool:
        """Returns False when there is no such user."""
        return await self._set(telegram_id, blocked=blocked)

    async def set_role(self, telegram_id: int, role: UserRole) -> bool:
        """Returns False when there is no such user."""
        return await self._set(telegram_id, role=role)

    async def with_role(self, role: UserRole) -> list[User]:
        rows = await self.session.scalars(select(User).where(User.role == role).order_by(User.id))
        return list(rows)

    async def _set(self, telegram_id: int, **values: object) -> bool:
        result = await self.session.execute(
            update(User)
            .where(User.id == telegram_id)
            .values(**values, updated_at=utcnow())
            .returning(User.id)
        )
        return result.first() is not None


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, chat_id: int, type: str, title: str | None = None) -> Chat:
        """Create the chat or refresh its type and title; per-chat settings are kept."""
        stmt = insert_for(self.session, Chat).values(id=chat_id, type=type, title=title)
        new = excluded(stmt)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Chat.id],
            set_={"type": new.type, "title": new.title, "updated_at": utcnow()},
        ).returning(Chat)
        result = await self.session.scalars(stmt, execution_options={"populate_existing": True})
        chat: Chat = result.one()
        return chat

    async def get(self, chat_id: int) -> Chat | None:
        return await self.session.get(Chat, chat_id)

    async def set_model(self, chat_id: int, model: str | None) -> bool:
        """None returns the chat to the deployment's default. False when there is no chat."""
        return await self._set(chat_id, model=model)

    async def set_system_prompt(self, chat_id: int, prompt: str | None) -> bool:
        """None returns the chat to the deployment's default. False when there is no chat."""
        return await self._set(chat_id, system_prompt=prompt)

    async def _set(self, chat_id: int, **values: object) -> bool:
        result = await self.session.execute(
            update(Chat)
            .where(Chat.id == chat_id)
            .values(**values, updated_at=utcnow())
            .returning(Chat.id)
        )
        return result.first() is not None
