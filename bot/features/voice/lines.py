"""What /help and /stats say of voice: the seconds of voice notes recognised today, then
(with VOICE_REPLIES) /voice in /help and the answers spoken today, of the budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.voice.usage import seconds_of
from bot.plugin.storage import utc_today

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.features.voice.replies import VoiceReplies
    from bot.plugin.telegram import Translator


class VoiceLines:
    """Voice's lines: recognised seconds counted earlier still show when recognition is off
    now; `replies` (None: VOICE_REPLIES off) adds its own."""

    def __init__(self, replies: VoiceReplies | None = None) -> None:
        self.replies = replies

    def help_line(self, t: Translator) -> str:
        return self.replies.help_line(t) if self.replies is not None else ""

    async def stats_line(self, session: AsyncSession, user_id: int, t: Translator) -> str:
        seconds = await seconds_of(session, user_id, utc_today())
        lines = [t("stats_speech", seconds=seconds)] if seconds else []
        if self.replies is not None and (spoken := await self.replies.stats_line(
                session, user_id, t)):
            lines.append(spoken)
        return "\n".join(lines)

    async def admin_line(self, session: AsyncSession, t: Translator) -> str:
        return await self.replies.admin_line(session, t) if self.replies is not None else ""
