"""The support desk's user-facing texts, in English and Russian (added to bot.telegram.texts)."""

from __future__ import annotations

from bot.plugin.texts import register_texts

DESK_TEXTS: dict[str, dict[str, str]] = {
    "desk_ask_button": {"en": "Ask a person", "ru": "Позвать оператора"},
    "desk_help_extra": {
        "en": "\n\n/operator - talk to a person from our support team",
        "ru": "\n\n/operator - поговорить с сотрудником поддержки",
    },
    "desk_handed_over": {
        "en": "I have passed your conversation to our support team. A person will answer you "
        "here; until then I stay quiet. Everything you write now goes to them.",
        "ru": "Я передал разговор нашей поддержке. Вам ответит сотрудник здесь, в этом чате; "
        "пока я молчу. Всё, что вы напишете, увидит сотрудник.",
    },
    "desk_handed_over_closed": {
        "en": "I have passed your conversation to our support team. The desk is closed now; a "
        "person will answer here when it opens ({when}). Everything you write goes to them.",
        "ru": "Я передал разговор нашей поддержке. Сейчас поддержка не работает; сотрудник "
        "ответит здесь, когда она откроется ({when}). Всё, что вы напишете, увидит сотрудник.",
    },
    "desk_already": {
        "en": "Your conversation is already with our support team; a person will answer here.",
        "ru": "Ваш разговор уже у поддержки; сотрудник ответит здесь.",
    },
    "desk_unavailable": {
        "en": "Sorry, I cannot reach our support team right now, so no person would see this "
        "conversation. I keep answering you here myself; please try /operator again later.",
        "ru": "Не получается связаться с поддержкой: сейчас этот разговор не увидит ни один "
        "сотрудник. Я продолжаю отвечать сам; попробуйте /operator позже.",
    },
    "desk_handoff_failed": {
        "en": "Sorry, passing your conversation to our support team failed: no person can see "
        "it. I keep answering you here myself; please repeat what you wrote since, and try "
        "/operator again later.",
        "ru": "Не получилось передать разговор поддержке: его не видит ни один сотрудник. Я "
        "продолжаю отвечать сам; повторите, пожалуйста, что вы написали после этого, и "
        "попробуйте /operator позже.",
    },
    "desk_admin_unusable": {
        "en": "⚠️ The support chat {chat} cannot take handoffs: {problem}. Users who ask for "
        "a person are told nobody can see them, and the bot keeps answering. Fix: {fix}; "
        "`python -m bot check` confirms it.",
        "ru": "⚠️ Чат поддержки {chat} не может принимать обращения: {problem}. Тем, кто зовёт "
        "оператора, бот отвечает, что их никто не увидит, и отвечает сам. Что сделать: "
        "{fix}; проверка: `python -m bot check`.",
    },
    "desk_fix_topics": {
        "en": "turn Topics on in the group's settings (the bot must be an admin allowed to "
              "manage topics)",
        "ru": "включите Темы (Topics) в настройках группы (бот должен быть админом с правом "
              "управлять темами)",
    },
    "desk_fix_chat_id": {
        "en": "check SUPPORT_CHAT_ID: it must be the support supergroup's id (-100...), and "
              "the bot must have been added to that group",
        "ru": "проверьте SUPPORT_CHAT_ID: это должен быть id супергруппы поддержки (-100...), "
              "и бот должен быть добавлен в эту группу",
    },
    "desk_fix_member": {
        "en": "add the bot to the support group again, as an admin allowed to manage topics",
        "ru": "снова добавьте бота в группу поддержки админом с правом управлять темами",
    },
    "desk_fix_upgraded": {
        "en": "the group became a supergroup with a new id: put that id in SUPPORT_CHAT_ID",
        "ru": "группа стала супергруппой с новым id: укажите его в SUPPORT_CHAT_ID",
    },
    "desk_closed_user": {
        "en": "Our support team has closed this conversation. Write again any time: I will "
        "answer, and a person is one /operator away.",
        "ru": "Поддержка закрыла этот разговор. Пишите в любое время: отвечу я, а сотрудника "
        "можно позвать командой /operator.",
    },
    "desk_back_to_bot": {
        "en": "The support team has handed the conversation back to me. Ask me anything.",
        "ru": "Поддержка вернула разговор мне. Спрашивайте.",
    },
    "desk_rate": {
        "en": "How did we do? Rate the help from 1 (bad) to 5 (excellent).",
        "ru": "Оцените, пожалуйста, помощь от 1 (плохо) до 5 (отлично).",
    },
    "desk_rated": {
        "en": "Thank you! You rated the help {score} of 5.",
        "ru": "Спасибо! Ваша оценка: {score} из 5.",
    },
    "desk_rated_once": {
        "en": "This conversation is rated already.",
        "ru": "Этот разговор уже оценён.",
    },
    "desk_comment_button": {"en": "Add a comment", "ru": "Добавить комментарий"},
    "desk_comment_ask": {
        "en": "Write your comment in one message.",
        "ru": "Напишите комментарий одним сообщением.",
    },
    "desk_comment_thanks": {
        "en": "Thank you for the comment: the team will read it.",
        "ru": "Спасибо за комментарий: команда его прочитает.",
    },
    "desk_feedback_thanks": {"en": "Thank you for the feedback!", "ru": "Спасибо за отзыв!"},
    "desk_report_elsewhere": {
        "en": "The support report quotes customers' messages, so it is shown only in the "
              "support chat or in your private chat with me: ask there.",
        "ru": "Отчёт поддержки цитирует сообщения клиентов, поэтому он показывается только в "
              "чате поддержки или в вашем личном чате со мной: спросите там.",
    },
}

register_texts(DESK_TEXTS)

# The command menu's entry (added when SUPPORT_CHAT_ID is set).
OPERATOR_COMMAND = {"en": "Talk to a person", "ru": "Позвать оператора"}
