"""A voice note in a conversation a person owns: the voice and its transcript reach the topic."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aiogram import Bot

from bot.features.voice.hearing import VoiceNotes
from bot.features.voice.notes import VoiceInput
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.speech import SpeechRecognizer
from bot.storage.database import Database
from bot.telegram.downloads import TelegramFiles
from bot.testing.ogg_opus import ogg_opus
from tests.conversation.conftest import API_KEY, FOLDER
from tests.features.desk.harness import MODEL_URL, desk_world
from tests.features.desk.test_desk_app import hand_over


@pytest.mark.slow
async def test_the_operator_gets_the_voice_and_its_transcript(sqlite_database: Database) -> None:
    recognizers: list[SpeechRecognizer] = []

    def media(bot: Bot, http: httpx.AsyncClient) -> dict[str, Any]:
        recognizer = SpeechRecognizer(base_url=MODEL_URL, auth=ApiKeyAuth(API_KEY),
                                      folder_id=FOLDER, http=http)
        recognizers.append(recognizer)
        return {"voice_input": VoiceInput(VoiceNotes(TelegramFiles(bot), recognizer))}

    async with desk_world(sqlite_database, parts=media) as w:
        (recognizer,) = recognizers
        try:
            user = 6801
            thread = await hand_over(w, user)
            w.fm.queue_transcript("my parcel arrived broken")
            w.tg.send_user_voice(user, ogg_opus(3), duration=3)
            note = await w.wait_for(
                lambda: [m for m in w.in_topic(thread) if (m.text or "").startswith("🎤")]
            )
            assert note[0].text == "🎤 my parcel arrived broken"
            copied = [m for m in w.in_topic(thread) if m.voice is not None]
            assert copied, "the voice is relayed"
            assert copied[0].message_id < note[0].message_id, "the voice comes first"
            assert not any("my parcel" in t for t in w.texts(user)), "the bot stays quiet"
        finally:
            await recognizer.aclose()
