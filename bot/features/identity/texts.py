"""The identity feature's texts, in English and Russian: the chat's in the user's Telegram
language, the browser page's in the language the user last wrote to the bot in."""

from __future__ import annotations

from bot.plugin.texts import register_texts

IDENTITY_TEXTS: dict[str, dict[str, str]] = {
    "identity.sign_in": {
        "en": "Sign in with your company account to continue (this button works once, for "
        "10 minutes).",
        "ru": "Войдите с рабочей учётной записью, чтобы продолжить (кнопка сработает один раз "
        "в течение 10 минут).",
    },
    "identity.button": {"en": "Sign in", "ru": "Войти"},
    "identity.required": {
        "en": "This bot answers employees only.",
        "ru": "Этот бот отвечает только сотрудникам.",
    },
    "identity.expired": {
        "en": "Your sign-in has expired.",
        "ru": "Срок вашего входа истёк.",
    },
    "identity.private_only": {
        "en": "Send /login to me in a private chat: the sign-in is personal.",
        "ru": "Отправьте /login мне в личном чате: вход личный.",
    },
    "identity.signed_in": {
        "en": "You are signed in as {who}.",
        "ru": "Вы вошли как {who}.",
    },
    "identity.groups": {"en": " Groups: {groups}.", "ru": " Группы: {groups}."},
    "identity.not_signed_in": {
        "en": "You are not signed in. Send /login to sign in with your company account.",
        "ru": "Вы не вошли. Отправьте /login, чтобы войти с рабочей учётной записью.",
    },
    "identity.signed_out": {
        "en": "You are signed out. Send /login to sign in again.",
        "ru": "Вы вышли. Отправьте /login, чтобы войти снова.",
    },
    "identity.forgotten": {
        "en": "Your sign-in is forgotten: nothing of it is kept.",
        "ru": "Ваш вход забыт: от него ничего не хранится.",
    },
    "identity.refused": {
        "en": "The sign-in did not work: {why}. Send /login to try again.",
        "ru": "Войти не удалось: {why}. Отправьте /login, чтобы попробовать снова.",
    },
    "identity.page_refused_title": {"en": "Sign-in refused", "ru": "Вход отклонён"},
    "identity.page_refused": {
        "en": "The sign-in did not work: {why}.",
        "ru": "Войти не удалось: {why}.",
    },
    "identity.page_done_title": {"en": "Signed in", "ru": "Вход выполнен"},
    "identity.page_back": {
        "en": "You can close this page and go back to Telegram.",
        "ru": "Эту страницу можно закрыть и вернуться в Telegram.",
    },
    "identity.unknown_state": {
        "en": "the sign-in link is unknown, already used or older than 10 minutes",
        "ru": "ссылка для входа неизвестна, уже использована или старше 10 минут",
    },
}

register_texts(IDENTITY_TEXTS)
