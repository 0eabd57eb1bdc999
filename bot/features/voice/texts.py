"""Texts about voice replies and long voice notes, in English and Russian (added to
bot.telegram.texts)."""

from __future__ import annotations

from bot.plugin.texts import register_texts

VOICE_TEXTS: dict[str, dict[str, str]] = {
    "voice_code": {
        "en": "Code is in the message.",
        "ru": "Код — в сообщении.",
    },
    "voice_reply_failed": {
        "en": "I could not speak this answer; the text is above. (I say this at most once a "
        "day.)",
        "ru": "Не получилось озвучить ответ; текст — выше. (Сообщаю об этом не чаще раза в "
        "день.)",
    },
    "voice_reply_budget": {
        "en": "You have used today's voice replies ({chars} characters); answers stay text "
        "until tomorrow.",
        "ru": "Лимит голосовых ответов на сегодня исчерпан ({chars} символов); до завтра "
        "отвечаю текстом.",
    },
    "voice_on": {
        "en": "Voice replies are on: I will also speak my answers.",
        "ru": "Голосовые ответы включены: буду также озвучивать ответы.",
    },
    "voice_off": {
        "en": "Voice replies are off: I answer in text only.",
        "ru": "Голосовые ответы выключены: отвечаю только текстом.",
    },
    "voice_usage": {
        "en": "I do not know “{word}” here. Use /voice on to hear answers, /voice off to read "
        "them only, or /voice alone to see what is set.",
        "ru": "Не понимаю «{word}». /voice on — слушать ответы, /voice off — только читать, "
        "/voice без слов — узнать, что включено.",
    },
    "voice_status": {
        "en": "Voice replies: {state}. Use /voice on or /voice off to change.",
        "ru": "Голосовые ответы: {state}. Изменить: /voice on или /voice off.",
    },
    "help_voice": {
        "en": "/voice on|off - also speak my answers (voice replies)",
        "ru": "/voice on|off - также озвучивать ответы (голосовые ответы)",
    },
    "voice_state_on": {"en": "on", "ru": "включены"},
    "voice_state_off": {"en": "off", "ru": "выключены"},
    "voice_state_mirror": {
        "en": "when you speak",
        "ru": "когда вы спрашиваете голосом",
    },
    "voice_unavailable_here": {
        "en": "Voice replies are not available in this bot.",
        "ru": "Голосовые ответы в этом боте недоступны.",
    },
    "stats_voice": {
        "en": "Voice replies: {replies}; characters spoken: {chars} of {limit}.",
        "ru": "Голосовых ответов: {replies}; озвучено символов: {chars} из {limit}.",
    },
    "voice_listening": {
        "en": "🎧 Listening… ({seconds} s of audio)",
        "ru": "🎧 Слушаю… ({seconds} с аудио)",
    },
    "voice_too_long_limit": {
        "en": "This voice message is {seconds} s long; I take up to {limit} s. Please split it "
        "or type your question.",
        "ru": "Голосовое сообщение длится {seconds} с, а я принимаю до {limit} с. Разделите его "
        "или напишите вопрос текстом.",
    },
    "help_takes_voice": {
        "en": "voice notes: I recognise the speech and answer it",
        "ru": "голосовые сообщения: я распознаю речь и отвечу",
    },
    "stats_speech": {
        "en": "Voice recognised: {seconds} s.",
        "ru": "Распознано голоса: {seconds} с.",
    },
}

register_texts(VOICE_TEXTS)
