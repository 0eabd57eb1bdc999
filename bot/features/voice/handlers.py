"""/voice on|off: each user's choice of spoken answers (VOICE_REPLIES), and what it is now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.plugin.telegram import Deps, Translator, say

if TYPE_CHECKING:
    from bot.features.voice.replies import VoiceReplies

ON_WORDS = frozenset({"on", "yes", "1", "вкл", "да", "включить"})
OFF_WORDS = frozenset({"off", "no", "0", "выкл", "нет", "выключить"})


async def cmd_voice(
    message: Message, command: CommandObject, deps: Deps, t: Translator,
    voice: VoiceReplies | None,
) -> None:
    user = message.from_user
    if user is None:
        return
    if voice is None:
        await say(deps, message, t("voice_unavailable_here"))
        return
    word = (command.args or "").strip().lower()
    if word in ON_WORDS or word in OFF_WORDS:
        enabled = word in ON_WORDS
        await voice.choose(user.id, enabled)
        await say(deps, message, t("voice_on" if enabled else "voice_off"))
        return
    if word:  # "/voice maybe": say what it takes rather than answer as if nothing was given
        await say(deps, message, t("voice_usage", word=(command.args or "").strip()[:40]))
        return
    choice = await voice.choice(user.id)
    if choice is None:
        mode = voice.config.policy.mode.value
        state = {"always": "voice_state_on", "mirror": "voice_state_mirror"}.get(
            mode, "voice_state_off"
        )
    else:
        state = "voice_state_on" if choice else "voice_state_off"
    await say(deps, message, t("voice_status", state=t(state)))


def build_router(voice: VoiceReplies | None = None) -> Router:
    """/voice; `voice`: the spoken answers (None: VOICE_REPLIES is off here)."""
    router = Router(name=__name__)

    async def on_voice(
        message: Message, command: CommandObject, deps: Deps, t: Translator
    ) -> None:
        await cmd_voice(message, command, deps, t, voice)

    router.message.register(on_voice, Command("voice"))
    return router
