"""Every user-facing text, in English and Russian.

The language follows the user's Telegram `language_code` ("ru", "ru-RU" -> Russian); anything
else gets English. Texts are plain (sent without parse_mode), so nothing here can fail to parse.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.grounding.prompt import NOT_FOUND_TEXT
from bot.plurals import inflect
from bot.telegram.media.texts import MEDIA_TEXTS

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "en": "Hi, {name}! I am an assistant powered by YandexGPT. Write me a message and I will "
        "answer. /image draws a picture; /help lists everything I can do.",
        "ru": "Привет, {name}! Я ассистент на YandexGPT. Напишите сообщение, и я отвечу. "
        "/image нарисует картинку; /help покажет всё, что я умею.",
    },
    "help": {
        "en": "Write any text and I will answer it.\n\n"
        "/reset - start a new conversation\n"
        "/retry - answer your last message again\n"
        "/stop - stop the answer being written\n"
        "/model - show or choose the model\n"
        "/stats - your usage today\n"
        "/privacy - what I store and for how long\n"
        "/forget - delete everything I store about you\n"
        "/system - the chat's system prompt (admins)\n\n"
        "In groups I answer when mentioned, when replied to, or by command.",
        "ru": "Напишите любой текст, и я отвечу.\n\n"
        "/reset - начать новый разговор\n"
        "/retry - ответить на последнее сообщение заново\n"
        "/stop - остановить ответ\n"
        "/model - показать или выбрать модель\n"
        "/stats - ваш расход за сегодня\n"
        "/privacy - что я храню и сколько\n"
        "/forget - удалить всё, что я храню о вас\n"
        "/system - системный промпт чата (для админов)\n\n"
        "В группах я отвечаю, когда меня упоминают, отвечают на моё сообщение или зовут командой.",
    },
    "reset_done": {
        "en": "Started a new conversation. Earlier messages are no longer in context.",
        "ru": "Начат новый разговор. Прежние сообщения больше не учитываются.",
    },
    "retry_nothing": {
        "en": "There is nothing to retry yet: send me a message first.",
        "ru": "Пока нечего повторять: сначала напишите сообщение.",
    },
    "stop_done": {"en": "Stopped.", "ru": "Остановлено."},
    "stop_nothing": {
        "en": "Nothing is being written right now.",
        "ru": "Сейчас ничего не пишется.",
    },
    "stopped_marker": {"en": "[stopped]", "ru": "[остановлено]"},
    "backlog_apology": {
        "en": "Sorry for the delay: I was unavailable for a while. Here are the answers to "
        "what you sent me meanwhile.",
        "ru": "Извините за задержку: я был недоступен. Вот ответы на то, что вы мне "
        "написали за это время.",
    },
    "database_unavailable": {
        "en": "I am unavailable for a moment (my storage is being switched over). Your "
        "messages are kept: I will answer them as soon as I am back.",
        "ru": "Я ненадолго недоступен (переключается хранилище). Ваши сообщения "
        "сохранены: я отвечу на них, как только вернусь.",
    },
    "backlog_dropped": {
        "en": "I was unavailable for a while. Messages you sent more than {age} before I was "
        "back ({count} {count|message|messages}) are left unanswered: please send again what "
        "still matters.",
        "ru": "Я был недоступен. На сообщения, отправленные более чем за {age} до моего "
        "возвращения ({count} {count|сообщение|сообщения|сообщений}), я не отвечаю: "
        "пожалуйста, пришлите снова то, что ещё актуально.",
    },
    "age_minutes": {"en": "{minutes} min", "ru": "{minutes} мин"},
    "age_hours": {"en": "{hours} h", "ru": "{hours} ч"},
    "truncated_marker": {
        "en": "[the answer reached the length limit]",
        "ru": "[ответ упёрся в ограничение длины]",
    },
    "trimmed_notice": {
        "en": "(Older messages were left out to fit the model's context. /reset starts afresh.)",
        "ru": "(Старые сообщения не поместились в контекст модели. /reset начнёт заново.)",
    },
    "model_current": {
        "en": "Model for this chat: {model}. Choose another:",
        "ru": "Модель этого чата: {model}. Выберите другую:",
    },
    "model_only_one": {
        "en": "Model for this chat: {model}. This deployment offers no other models.",
        "ru": "Модель этого чата: {model}. Других моделей здесь нет.",
    },
    "model_set": {"en": "Model for this chat: {model}.", "ru": "Модель этого чата: {model}."},
    "model_unknown": {
        "en": "Unknown model {model}. Available: {models}.",
        "ru": "Неизвестная модель {model}. Доступны: {models}.",
    },
    "admins_only": {
        "en": "Only the bot's administrators can do that.",
        "ru": "Это могут только администраторы бота.",
    },
    "system_current": {
        "en": "System prompt of this chat:\n\n{prompt}\n\n"
        "/system <text> sets a new one, /system clear restores the default.",
        "ru": "Системный промпт этого чата:\n\n{prompt}\n\n"
        "/system <текст> задаёт новый, /system clear возвращает стандартный.",
    },
    "system_default": {
        "en": "This chat uses the default system prompt:\n\n{prompt}\n\n"
        "/system <text> sets one for this chat.",
        "ru": "Этот чат использует стандартный системный промпт:\n\n{prompt}\n\n"
        "/system <текст> задаёт свой для этого чата.",
    },
    "system_none": {"en": "(none)", "ru": "(нет)"},
    "system_set": {
        "en": "System prompt of this chat updated.",
        "ru": "Системный промпт этого чата обновлён.",
    },
    "system_cleared": {
        "en": "This chat uses the default system prompt again.",
        "ru": "Этот чат снова использует стандартный системный промпт.",
    },
    # /stats: the tokens; each feature adds its own lines (the Telegram part's `lines`).
    "stats_user": {
        "en": "Today you used {tokens} {tokens|token|tokens} (limit: {token_limit}).",
        "ru": "Сегодня вы израсходовали {tokens} {tokens|токен|токена|токенов} (лимит: "
        "{token_limit}).",
    },
    "stats_reasoning": {
        "en": "Of these, {tokens} {tokens|token|tokens} went on the model's hidden reasoning.",
        "ru": "Из них {tokens} {tokens|токен|токена|токенов} ушло на скрытые рассуждения модели.",
    },
    "stats_admin": {
        "en": "The bot today: {tokens} {tokens|token|tokens} for all users.",
        "ru": "Бот за сегодня: {tokens} {tokens|токен|токена|токенов} на всех пользователей.",
    },
    "unlimited": {"en": "none", "ru": "нет"},
    "forget_confirm": {
        "en": "Delete everything I store about you: your messages, my answers to them, your "
        "image jobs and usage? This cannot be undone.",
        "ru": "Удалить всё, что я храню о вас: ваши сообщения, мои ответы на них, задания на "
        "картинки и расход? Это нельзя отменить.",
    },
    "forget_yes": {"en": "Yes, delete", "ru": "Да, удалить"},
    "forget_no": {"en": "Cancel", "ru": "Отмена"},
    "forget_done": {
        "en": "Done: your data is deleted.",
        "ru": "Готово: ваши данные удалены.",
    },
    "forget_cancelled": {"en": "Nothing was deleted.", "ru": "Ничего не удалено."},
    "privacy": {
        "en": "What I store: your Telegram id, name, username and language; the messages of "
        "conversations with me and my answers; the text of documents you send me, until "
        "/reset; image prompts; daily usage counts. "
        "Messages are sent to Yandex Cloud Foundation Models to be answered{logging}.\n\n"
        "How long: {retention}.\n\n/forget deletes your data at any time.",
        "ru": "Что я храню: ваш Telegram id, имя, username и язык; сообщения разговоров со "
        "мной и мои ответы; текст присланных документов, до /reset; описания картинок; "
        "счётчики расхода за день. Сообщения "
        "отправляются в Yandex Cloud Foundation Models для ответа{logging}.\n\n"
        "Сколько: {retention}.\n\n/forget удалит ваши данные в любой момент.",
    },
    "privacy_no_logging": {
        "en": " (with data logging at Yandex turned off)",
        "ru": " (с выключенным логированием данных на стороне Yandex)",
    },
    "retention_forever": {
        "en": "until you delete them with /forget",
        "ru": "пока вы не удалите их командой /forget",
    },
    "retention_days": {
        "en": "{days} {days|day|days}, then conversations are deleted automatically",
        "ru": "{days} {days|день|дня|дней}, затем разговоры удаляются автоматически",
    },
    # /help's header of what the features let the bot take (each gives its line's key).
    "help_takes": {
        "en": "Besides text, send me:",
        "ru": "Кроме текста, можно прислать:",
    },
    "no_desk": {
        "en": "There is no support desk here: this bot has no people to hand the conversation "
              "to. I will keep answering your questions myself.",
        "ru": "Здесь нет службы поддержки: этому боту некому передать разговор. "
              "Я продолжу отвечать на ваши вопросы сам.",
    },
    "unknown_command": {
        "en": "I don't know that command. /help lists the ones I know.",
        "ru": "Я не знаю такой команды. /help покажет те, что я знаю.",
    },
    "sticker": {
        "en": "That is a sticker: I answer questions in words. Please write yours as a "
        "message.",
        "ru": "Это стикер: я отвечаю на вопросы, написанные словами. Пожалуйста, напишите "
        "вопрос сообщением.",
    },
    "text_only": {
        "en": "I can read text only. Please write your question as a message.",
        "ru": "Я понимаю только текст. Пожалуйста, напишите вопрос сообщением.",
    },
    "access_refused": {
        "en": "Sorry, this bot is private and not available to you.",
        "ru": "Извините, это частный бот, и он вам недоступен.",
    },
    "rate_limited": {
        "en": "You are sending messages too fast. Please wait {seconds} s and try again.",
        "ru": "Вы пишете слишком часто. Подождите {seconds} с и попробуйте снова.",
    },
    "token_budget": {
        "en": "You have used today's limit of {limit} {limit|token|tokens}. It resets at "
        "midnight UTC.",
        "ru": "Вы израсходовали дневной лимит в {limit} {limit|токен|токена|токенов}. Он "
        "обновится в полночь UTC.",
    },
    "error_quota": {
        "en": "The model is overloaded right now (quota reached). Please try again in a minute.",
        "ru": "Модель сейчас перегружена (исчерпана квота). Попробуйте через минуту.",
    },
    "error_refused": {
        "en": "The model declined to answer this (content filter). Try rephrasing.",
        "ru": "Модель отказалась отвечать на это (фильтр содержимого). Попробуйте "
        "переформулировать.",
    },
    "error_timeout": {
        "en": "The model took too long to answer. Please try again.",
        "ru": "Модель слишком долго не отвечала. Попробуйте ещё раз.",
    },
    "error_generic": {
        "en": "Something went wrong while answering. Please try again.",
        "ru": "При ответе что-то пошло не так. Попробуйте ещё раз.",
    },
    "error_apology": {
        "en": "Sorry, something went wrong on my side. Please try again.",
        "ru": "Извините, у меня что-то сломалось. Попробуйте ещё раз.",
    },
    # --- a grounded answer (bot/grounding): "not found", and the header of its sources ---
    "answer_not_found": NOT_FOUND_TEXT,
    "answer_sources": {"en": "Sources:", "ru": "Источники:"},
    # Photos, albums and voice notes: the front's side of them (bot/telegram/media/).
    **MEDIA_TEXTS,
}

COMMANDS: dict[str, dict[str, str]] = {
    "start": {"en": "Start", "ru": "Начать"},
    "help": {"en": "What I can do", "ru": "Что я умею"},
    "reset": {"en": "New conversation", "ru": "Новый разговор"},
    "retry": {"en": "Answer the last message again", "ru": "Ответить заново"},
    "stop": {"en": "Stop the answer", "ru": "Остановить ответ"},
    "model": {"en": "Show or choose the model", "ru": "Показать или выбрать модель"},
    "stats": {"en": "Usage today", "ru": "Расход за сегодня"},
    "privacy": {"en": "What is stored", "ru": "Что хранится"},
    "forget": {"en": "Delete my data", "ru": "Удалить мои данные"},
    "system": {"en": "System prompt (admins)", "ru": "Системный промпт (админы)"},
}


def pick_language(language_code: str | None) -> str:
    """Map "ru", "ru-RU", "RU" to "ru"; anything else (or nothing) to English."""
    if language_code:
        base = language_code.split("-", 1)[0].split("_", 1)[0].lower()
        if base in LANGUAGES:
            return base
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """Texts in one language: `t("key", name=...)`."""

    language: str = DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **values: object) -> str:
        variants = TEXTS[key]
        language = self.language if self.language in variants else DEFAULT_LANGUAGE
        template = variants[language]
        if not values:
            return template
        # Words beside counts in their plural form: "{tokens|токен|токена|токенов}".
        return inflect(template, language, values).format(**values)

    @classmethod
    def for_code(cls, language_code: str | None) -> Translator:
        return cls(pick_language(language_code))
