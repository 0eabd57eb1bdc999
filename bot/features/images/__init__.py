"""/image: YandexART pictures as durable jobs, delivered on Telegram with a status message."""
