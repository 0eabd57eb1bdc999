"""What chat automation says to the account's owner (never to the customers: the bot speaks
to them only with the model's answers, as the owner)."""

from __future__ import annotations

from bot.plugin.telegram import Translator

TEXTS: dict[str, dict[str, str]] = {
    "connected": {
        "en": "Connected to your account. I answer your customers' messages on your behalf "
              "({mode}). When you write in a chat yourself, I keep quiet there for {minutes} "
              "minutes. /business shows the connection and pauses me.",
        "ru": "Бот подключён к вашему аккаунту и отвечает клиентам от вашего имени ({mode}). "
              "Когда вы пишете в чат сами, я молчу там {minutes} мин. /business показывает "
              "подключение и ставит меня на паузу.",
    },
    "cannot_reply": {
        "en": "Connected, but I may not reply: allow replying to messages in the chatbot's "
              "settings (Settings → Business → Chatbots, or Chat automation).",
        "ru": "Подключено, но отвечать мне нельзя: разрешите ответы на сообщения в настройках "
              "чат-бота (Настройки → Telegram для бизнеса → Чат-боты или Автоматизация чатов).",
    },
    "disconnected": {
        "en": "Disconnected: I no longer answer your customers.",
        "ru": "Отключено: я больше не отвечаю вашим клиентам.",
    },
    "mode_auto": {"en": "at once", "ru": "сразу"},
    "mode_approve": {"en": "after your approval", "ru": "после вашего одобрения"},
    "none": {
        "en": "No account is connected to me. In Telegram: Settings → Business → Chatbots "
              "(or Chat automation), add me and allow replying to messages.",
        "ru": "К боту не подключён ни один аккаунт. В Telegram: Настройки → Telegram для "
              "бизнеса → Чат-боты (или Автоматизация чатов), добавьте меня и разрешите "
              "отвечать на сообщения.",
    },
    "status": {
        "en": "Account {owner}: {state}. Answers: {mode}. After you write in a chat I keep "
              "quiet there for {minutes} min.",
        "ru": "Аккаунт {owner}: {state}. Ответы: {mode}. После вашего сообщения в чате я "
              "молчу там {minutes} мин.",
    },
    "state_on": {"en": "answering", "ru": "отвечаю"},
    "state_paused": {"en": "paused", "ru": "на паузе"},
    "state_disabled": {"en": "switched off in Telegram", "ru": "выключено в Telegram"},
    "state_no_reply": {"en": "not allowed to reply", "ru": "нет права отвечать"},
    "chats": {"en": "Chats (press to pause or resume one):",
              "ru": "Чаты (нажмите, чтобы приостановить или возобновить):"},
    "pause_all": {"en": "⏸ Pause all", "ru": "⏸ Пауза везде"},
    "resume_all": {"en": "▶️ Resume all", "ru": "▶️ Возобновить везде"},
    "suggestion": {
        "en": "{customer} wrote:\n{question}\n\nSuggested answer:\n",
        "ru": "{customer} пишет:\n{question}\n\nПредлагаемый ответ:\n",
    },
    "send": {"en": "✅ Send", "ru": "✅ Отправить"},
    "discard": {"en": "🗑 Discard", "ru": "🗑 Отклонить"},
    "sent": {"en": "✅ Sent.", "ru": "✅ Отправлено."},
    "discarded": {"en": "🗑 Discarded.", "ru": "🗑 Отклонено."},
    "gone": {"en": "Already sent or discarded.", "ru": "Уже отправлено или отклонено."},
    "not_sent": {
        "en": "Could not send it: {reason}. Press again to retry.",
        "ru": "Не удалось отправить: {reason}. Нажмите ещё раз.",
    },
    "held_off": {
        "en": "Not sent: the connection is switched off or may not reply (Telegram's chatbot "
              "settings).",
        "ru": "Не отправлено: подключение выключено или ему нельзя отвечать (настройки "
              "чат-бота в Telegram).",
    },
    "held_paused": {
        "en": "Not sent: replies are paused here (/business). Resume them, then press again.",
        "ru": "Не отправлено: ответы здесь на паузе (/business). Возобновите их и нажмите ещё "
              "раз.",
    },
    "held_taken": {
        "en": "Not sent: you wrote in this chat since; it is yours for {minutes} min.",
        "ru": "Не отправлено: вы сами писали в этот чат; он за вами {minutes} мин.",
    },
    "not_yours": {"en": "Only the account's owner can do this.",
                  "ru": "Это может сделать только владелец аккаунта."},
    "budget_connection": {
        "en": "Today's token budget for your customers ({limit}) is used up: they get no "
              "answer from me until tomorrow (UTC). Answer them yourself meanwhile.",
        "ru": "Дневной лимит токенов на ваших клиентов ({limit}) исчерпан: до завтра (UTC) я "
              "им не отвечаю. Пока ответьте им сами.",
    },
    "budget_customer": {
        "en": "{customer} has used today's token budget ({limit}): I do not answer them until "
              "tomorrow (UTC); the chat is yours.",
        "ru": "{customer} исчерпал дневной лимит токенов ({limit}): до завтра (UTC) я ему не "
              "отвечаю; чат за вами.",
    },
    "failed": {
        "en": "I could not answer {customer} ({reason}); the chat is yours.",
        "ru": "Не удалось ответить {customer} ({reason}); чат за вами.",
    },
    "too_long": {"en": "(shortened here; sent in full)", "ru": "(здесь сокращено; уйдёт целиком)"},
    "cannot_answer": {
        "en": "{customer} sent {kind}: I answer text only, so answer it yourself.",
        "ru": "{customer} прислал(а) {kind}: я отвечаю только на текст, ответьте сами.",
    },
    "edited": {
        "en": "{customer} edited a message; I do not answer edits, so my earlier answer stands. "
              "Now it reads: {text}",
        "ru": "{customer} изменил(а) сообщение; на правки я не отвечаю, мой прежний ответ "
              "остаётся. Теперь там: {text}",
    },
    "taken_over": {
        "en": "{customer}: yours (you wrote there), I keep quiet until {until} UTC.",
        "ru": "{customer}: ведёте вы (вы написали там), я молчу до {until} UTC.",
    },
    "kind_voice": {"en": "a voice note", "ru": "голосовое сообщение"},
    "kind_video_note": {"en": "a video message", "ru": "видеосообщение"},
    "kind_sticker": {"en": "a sticker", "ru": "стикер"},
    "kind_photo": {"en": "a photo", "ru": "фото"},
    "kind_video": {"en": "a video", "ru": "видео"},
    "kind_animation": {"en": "a GIF", "ru": "GIF"},
    "kind_audio": {"en": "an audio file", "ru": "аудиофайл"},
    "kind_document": {"en": "a file", "ru": "файл"},
    "kind_location": {"en": "a location", "ru": "геопозицию"},
    "kind_contact": {"en": "a contact", "ru": "контакт"},
    "kind_poll": {"en": "a poll", "ru": "опрос"},
    "kind_other": {"en": "a message without text", "ru": "сообщение без текста"},
}

# What a message carries besides text, in the order they are looked for (a message has one).
KINDS = ("voice", "video_note", "sticker", "photo", "video", "animation", "audio", "document",
         "location", "contact", "poll")


def say(t: Translator, key: str, **values: object) -> str:
    variants = TEXTS[key]
    return variants.get(t.language, variants["en"]).format(**values)
