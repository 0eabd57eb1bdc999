"""Texts of /image, in English and Russian (added to bot.telegram.texts): its usage, the
prompt's errors, the status while drawing and the failures, the daily budget
(DAILY_IMAGE_LIMIT), its /help line and its /stats lines."""

from __future__ import annotations

from bot.plugin.texts import register_texts

IMAGE_TEXTS: dict[str, dict[str, str]] = {
    "image_usage": {
        "en": "Usage: /image <prompt>, for example /image a lighthouse at dawn.\n"
        "Options: an aspect ratio first (/image 16:9 ...) and seed=<number>.",
        "ru": "Как пользоваться: /image <описание>, например /image маяк на рассвете.\n"
        "Параметры: соотношение сторон первым словом (/image 16:9 ...) и seed=<число>.",
    },
    "image_too_long": {
        "en": "The prompt is too long: {length} characters, at most {limit} are allowed.",
        "ru": "Описание слишком длинное: {length} символов, можно не больше {limit}.",
    },
    "image_bad_ratio": {
        "en": "Unsupported aspect ratio {ratio}. Allowed: {allowed}.",
        "ru": "Неподдерживаемое соотношение сторон {ratio}. Доступны: {allowed}.",
    },
    "image_bad_seed": {
        "en": "seed must be a whole number from 0 to {limit}, got {seed}.",
        "ru": "seed должен быть целым числом от 0 до {limit}, а не {seed}.",
    },
    "image_status": {
        "en": "Drawing your picture… {seconds} s",
        "ru": "Рисую картинку… {seconds} с",
    },
    "image_refused": {
        "en": "I can't draw this: the image service refused the prompt ({reason}). "
        "Try describing it differently.",
        "ru": "Не могу это нарисовать: сервис отклонил описание ({reason}). "
        "Попробуйте описать иначе.",
    },
    "image_failed": {
        "en": "The picture could not be drawn. Please try again later.",
        "ru": "Картинку нарисовать не удалось. Попробуйте позже.",
    },
    "image_budget": {
        "en": "You have used today's limit of {limit} {limit|image|images}. It resets at "
        "midnight UTC.",
        "ru": "Вы израсходовали дневной лимит в {limit} {limit|картинку|картинки|картинок}. "
        "Он обновится в полночь UTC.",
    },
    "help_image": {
        "en": "/image [16:9] [seed=N] <prompt> - draw a picture",
        "ru": "/image [16:9] [seed=N] <описание> - нарисовать картинку",
    },
    "stats_images": {
        "en": "Images: you used {images} {images|image|images} today (limit: {limit}).",
        "ru": "Картинки: сегодня вы израсходовали {images} {images|картинку|картинки|картинок} "
        "(лимит: {limit}).",
    },
    "stats_images_admin": {
        "en": "Images today: {images} {images|image|images} for all users.",
        "ru": "Картинки за сегодня: {images} {images|картинка|картинки|картинок} на всех "
        "пользователей.",
    },
}

register_texts(IMAGE_TEXTS)
