"""What chat automation says to the account's owner (never to the customers: the bot speaks
to them only with the model's answers, as the owner)."""

from __future__ import annotations

from bot.plugin.telegram import Translator
from bot.plugin.texts import register_texts

BUSINESS_TEXTS: dict[str, dict[str, str]] = {
    "business_connected": {
        "en": "Connected to your account. I answer your customers' messages on your behalf "
              "({mode}). When you write in a chat yourself, I keep quiet there for {minutes} "
              "minutes. /business shows the connection and pauses me.",
        "ru": "Бот подключён к вашему аккаунту и отвечает клиентам от вашего имени ({mode}). "
              "Когда вы пишете в чат сами, я молчу там {minutes} мин. /business показывает "
              "подключение и ставит меня на паузу.",
    },
    "business_cannot_reply": {
        "en": "Connected, but I may not reply: allow replying to messages in the chatbot's "
              "settings (Settings → Business → Chatbots, or Chat automation).",
        "ru": "Подключено, но отвечать мне нельзя: разрешите ответы на сообщения в настройках "
              "чат-бота (Настройки → Telegram для бизнеса → Чат-боты или Автоматизация чатов).",
    },
    "business_disconnected": {
        "en": "Disconnected: I no longer answer your customers.",
        "ru": "Отключено: я больше не отвечаю вашим клиентам.",
    },
    "business_mode_auto": {"en": "at once", "ru": "сразу"},
    "business_mode_approve": {"en": "after your approval", "ru": "после вашего одобрения"},
    "business_none": {
        "en": "No account is connected to me. In Telegram: Settings → Business → Chatbots "
              "(or Chat automation), add me and allow replying to messages.",
        "ru": "К боту не подключён ни один аккаунт. В Telegram: Настройки → Telegram для "
              "бизнеса → Чат-боты (или Автоматизация чатов), добавьте меня и разрешите "
              "отвечать на сообщения.",
    },
    "business_status": {
        "en": "Account {owner}: {state}. Answers: {mode}. After you write in a chat I keep "
              "quiet there for {minutes} min.",
        "ru": "Аккаунт {owner}: {state}. Ответы: {mode}. После вашего сообщения в чате я "
              "молчу там {minutes} мин.",
    },
    "business_state_on": {"en": "answering", "ru": "отвечаю"},
    "business_state_paused": {"en": "paused", "ru": "на паузе"},
    "business_state_disabled": {"en": "switched off in Telegram", "ru": "выключено в Telegram"},
    "business_state_no_reply": {"en": "not allowed to reply", "ru": "нет права отвечать"},
    "business_chats": {"en": "Chats (press to pause or resume one):",
              "ru": "Чаты (нажмите, чтобы приостановить или возобновить):"},
    "business_pause_all": {"en": "⏸ Pause all", "ru": "⏸ Пауза везде"},
    "business_resume_all": {"en": "▶️ Resume all", "ru": "▶️ Возобновить везде"},
    "business_suggestion": {
        "en": "{customer} wrote:\n{question}\n\nSuggested answer:\n",
        "ru": "{customer} пишет:\n{question}\n\nПредлагаемый ответ:\n",
    },
    "business_send": {"en": "✅ Send", "ru": "✅ Отправить"},
    "business_discard": {"en": "🗑 Discard", "ru": "🗑 Отклонить"},
    "business_sent": {"en": "✅ Sent.", "ru": "✅ Отправлено."},
    "business_discarded": {"en": "🗑 Discarded.", "ru": "🗑 Отклонено."},
    "business_gone": {"en": "Already sent or discarded.", "ru": "Уже отправлено или отклонено."},
    "business_not_sent": {
        "en": "Could not send it: {reason}. Press again to retry.",
        "ru": "Не удалось отправить: {reason}. Нажмите ещё раз.",
    },
    "business_held_off": {
        "en": "Not sent: the connection is switched off or may not reply (Telegram's chatbot "
              "settings).",
        "ru": "Не отправлено: подключение выключено или ему нельзя отвечать (настройки "
              "чат-бота в Telegram).",
    },
    "business_held_paused": {
        "en": "Not sent: replies are paused here (/business). Resume them, then press again.",
        "ru": "Не отправлено: ответы здесь на паузе (/business). Возобновите их и нажмите ещё "
              "раз.",
    },
    "business_held_taken": {
        "en": "Not sent: you wrote in this chat since; it is yours for {minutes} min.",
        "ru": "Не отправлено: вы сами писали в этот чат; он за вами {minutes} мин.",
    },
    "business_not_yours": {"en": "Only the account's owner can do this.",
                  "ru": "Это может сделать только владелец аккаунта."},
    "business_budget_connection": {
        "en": "Today's token budget for your customers ({limit}) is used up: they get no "
              "answer from me until tomorrow (UTC). Answer them yourself meanwhile.",
        "ru": "Дневной лимит токенов на ваших клиентов ({limit}) исчерпан: до завтра (UTC) я "
              "им не отвечаю. Пока ответьте им сами.",
    },
    "business_budget_customer": {
        "en": "{customer} has used today's token budget ({limit}): I do not answer them until "
              "tomorrow (UTC); the chat is yours.",
        "ru": "{customer} исчерпал дневной лимит токенов ({limit}): до завтра (UTC) я ему не "
              "отвечаю; чат за вами.",
    },
    "business_failed": {
        "en": "I could not answer {customer} ({reason}); the chat is yours.",
        "ru": "Не удалось ответить {customer} ({reason}); чат за вами.",
    },
    "business_too_long": {"en": "(shortened here; sent in full)",
                          "ru": "(здесь сокращено; уйдёт целиком)"},
    "business_cannot_answer": {
        "en": "{customer} sent {kind}: I answer text only, so answer it yourself.",
        "ru": "{customer} прислал(а) {kind}: я отвечаю только на текст, ответьте сами.",
    },
    "business_edited": {
        "en": "{customer} edited a message; I do not answer edits, so my earlier answer stands. "
              "Now it reads: {text}",
        "ru": "{customer} изменил(а) сообщение; на правки я не отвечаю, мой прежний ответ "
              "остаётся. Теперь там: {text}",
    },
    "business_taken_over": {
        "en": "{customer}: yours (you wrote there), I keep quiet until {until} UTC.",
        "ru": "{customer}: ведёте вы (вы написали там), я молчу до {until} UTC.",
    },
    "business_kind_voice": {"en": "a voice note", "ru": "голосовое сообщение"},
    "business_kind_video_note": {"en": "a video message", "ru": "видеосообщение"},
    "business_kind_sticker": {"en": "a sticker", "ru": "стикер"},
    "business_kind_photo": {"en": "a photo", "ru": "фото"},
    "business_kind_video": {"en": "a video", "ru": "видео"},
    "business_kind_animation": {"en": "a GIF", "ru": "GIF"},
    "business_kind_audio": {"en": "an audio file", "ru": "аудиофайл"},
    "business_kind_document": {"en": "a file", "ru": "файл"},
    "business_kind_location": {"en": "a location", "ru": "геопозицию"},
    "business_kind_contact": {"en": "a contact", "ru": "контакт"},
    "business_kind_poll": {"en": "a poll", "ru": "опрос"},
    "business_kind_other": {"en": "a message without text", "ru": "сообщение без текста"},
}

# What a message carries besides text, in the order they are looked for (a message has one).
KINDS = ("voice", "video_note", "sticker", "photo", "video", "animation", "audio", "document",
         "location", "contact", "poll")


register_texts(BUSINESS_TEXTS)


def say(t: Translator, key: str, **values: object) -> str:
    """The business text `key` (without its `business_` prefix) in `t`'s language."""
    return t(f"business_{key}", **values)
