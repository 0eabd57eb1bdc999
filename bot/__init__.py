"""fmbot: Telegram chatbots powered by Yandex Cloud Foundation Models."""

__version__ = "0.1.0"
