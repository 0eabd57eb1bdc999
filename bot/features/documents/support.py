"""Documents sent in chat: what the handler needs, and its texts (en, ru)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.features.documents.chat import ChatDocuments
from bot.plugin.reading import DocumentReader
from bot.plugin.telegram import TelegramFiles
from bot.plugin.texts import register_texts


@dataclass(frozen=True, slots=True)
class DocumentSupport:
    files: TelegramFiles
    reader: DocumentReader
    chats: ChatDocuments  # the passages kept per conversation
    max_mb: float = 20.0

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


DOCUMENT_TEXTS: dict[str, dict[str, str]] = {
    "document_read": {
        "en": "I have read {name} ({size}). Ask me anything about it: I will answer from it and "
        "say where in it the answer is. /reset forgets it.",
        "ru": "Я прочитал {name} ({size}). Спрашивайте о нём: я отвечу по документу и скажу, "
        "где в нём ответ. /reset забудет его.",
    },
    "document_pages": {
        "en": "{pages} {pages|page|pages}",
        "ru": "{pages} {pages|страница|страницы|страниц}",
    },
    "document_passages": {
        "en": "{passages} {passages|passage|passages}",
        "ru": "{passages} {passages|фрагмент|фрагмента|фрагментов}",
    },
    "document_truncated": {
        "en": "{name} is long: I kept only its first part ({passages} "
        "{passages|passage|passages}) for our conversation.",
        "ru": "{name} слишком длинный: для нашего разговора я сохранил только его начало "
        "({passages} {passages|фрагмент|фрагмента|фрагментов}).",
    },
    "document_too_big": {
        "en": "This file is too big for me: I read documents up to {limit} MB. Please send a "
        "smaller file or only the pages you need.",
        "ru": "Этот файл слишком большой: я читаю документы до {limit} МБ. Пришлите файл "
        "поменьше или только нужные страницы.",
    },
    "document_unsupported": {
        "en": "I cannot open this type of file ({kind}). I read PDF, DOCX and text files (.txt, "
        ".md, .csv): please send it in one of those formats.",
        "ru": "Файлы {kind} я не открываю. Я читаю PDF, DOCX и текстовые файлы (.txt, .md, "
        ".csv): пришлите, пожалуйста, в одном из этих форматов.",
    },
    "document_no_text": {
        "en": "There is no text in this document: it looks like a scan. Please send a PDF with "
        "a text layer, or photos of the pages.",
        "ru": "В этом документе нет текста: похоже, это скан. Пришлите PDF с текстовым слоем "
        "или фотографии страниц.",
    },
    "document_locked": {
        "en": "This document is protected by a password, so I cannot read it. Please send a "
        "copy without the password.",
        "ru": "Документ защищён паролем, и я не могу его прочитать. Пришлите копию без пароля.",
    },
    "document_corrupt": {
        "en": "I could not read this document: the file seems damaged. Please save it again "
        "and send it, or send it in another format.",
        "ru": "Не получилось прочитать документ: файл, похоже, повреждён. Сохраните его заново "
        "и пришлите ещё раз или пришлите в другом формате.",
    },
    "document_too_complex": {
        "en": "This document is too complex for me to read: its structure would take too long "
        "to process. Please save it as a simpler file (for example, PDF or plain text) or send "
        "only the part you need.",
        "ru": "Этот документ слишком сложно устроен, чтобы я мог его прочитать: его разбор занял "
        "бы слишком много времени. Сохраните его в более простом формате (например, PDF или "
        "обычный текст) или пришлите только нужную часть.",
    },
    "document_busy": {
        "en": "I am still reading your other files. Please send this one again once I have "
        "answered about them.",
        "ru": "Я ещё читаю ваши другие файлы. Пришлите этот ещё раз, когда я отвечу о них.",
    },
    "document_download_failed": {
        "en": "I could not get your file from Telegram. Please send it again in a minute.",
        "ru": "Не получилось загрузить ваш файл из Telegram. Пришлите его ещё раз через минуту.",
    },
    "help_takes_documents": {
        "en": "PDF, DOCX and text files: I read them and answer from them",
        "ru": "файлы PDF, DOCX и текстовые: я прочитаю их и отвечу по ним",
    },
}

register_texts(DOCUMENT_TEXTS)
