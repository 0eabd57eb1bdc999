"""Texts about photos and voice notes, in English and Russian (part of bot.telegram.texts's
table)."""

from __future__ import annotations

MEDIA_TEXTS: dict[str, dict[str, str]] = {
    "photo_question": {
        "en": "What is in this image? If it shows a problem or an error, explain it and say "
        "what to do.",
        "ru": "Что на этом изображении? Если на нём проблема или ошибка, объясни её и скажи, "
        "что делать.",
    },
    "media_too_big": {
        "en": "This file is too big for me: I take images up to {limit} MB. Please send a "
        "smaller one (a screenshot or a compressed photo).",
        "ru": "Этот файл слишком большой: я принимаю изображения до {limit} МБ. Пришлите, "
        "пожалуйста, файл поменьше (скриншот или сжатое фото).",
    },
    "image_unreadable": {
        "en": "I could not read this image: the file seems damaged or is not an image. Please "
        "send it again as a photo.",
        "ru": "Не получилось открыть это изображение: файл повреждён или это не картинка. "
        "Пришлите его ещё раз как фото.",
    },
    "media_download_failed": {
        "en": "I could not get your file from Telegram. Please send it again in a minute.",
        "ru": "Не получилось загрузить ваш файл из Telegram. Пришлите его ещё раз через минуту.",
    },
    "media_unsupported": {
        "en": "I read text, photos, screenshots, voice messages and documents (PDF, DOCX, text "
        "files); this kind of file I cannot open yet. Please describe it in words or send a "
        "screenshot.",
        "ru": "Я понимаю текст, фото, скриншоты, голосовые сообщения и документы (PDF, DOCX, "
        "текстовые файлы); такой файл я пока не открываю. Опишите его словами или пришлите "
        "скриншот.",
    },
    "voice_too_long": {
        "en": "I recognise voice messages of up to {seconds} seconds. Please send a shorter one "
        "or type your question.",
        "ru": "Я распознаю голосовые сообщения до {seconds} секунд. Запишите покороче или "
        "напишите вопрос текстом.",
    },
    "voice_failed": {
        "en": "Sorry, I could not recognise your voice message. Please try again or type it.",
        "ru": "Не удалось распознать голосовое сообщение. Попробуйте ещё раз или напишите "
        "текстом.",
    },
    "voice_unavailable": {
        "en": "Voice messages are not available right now. Please type your question.",
        "ru": "Голосовые сообщения сейчас недоступны. Напишите, пожалуйста, вопрос текстом.",
    },
    "voice_empty": {
        "en": "I could not make out any words in your voice message. Please try again.",
        "ru": "Не удалось разобрать слова в голосовом сообщении. Попробуйте ещё раз.",
    },
}
