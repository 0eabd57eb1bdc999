"""Whether Yandex takes this deployment's credentials, folder and text model: asked once
before `run`, `chat` or `record` take anything from a user.

A refusal is a setting to fix, so it stops the command the way a missing setting does (one
line naming the variable, exit 2): a wrong key (401), a folder the credentials may not use
(403, or a 400 naming the folder), a TEXT_MODEL the folder does not serve. Yandex not
answering (the network, a 5xx, a time-out) is not a refusal: the bot starts, one ERROR says
so and names `fmbot check`, and `probe` (a readiness probe) fails until Yandex answers.

The question is a tokenizer call: it needs the same credentials, folder and model as an
answer, and costs nothing. A model the tokenizer does not know is looked for in the folder's
listing and, failing that, asked for one token (model_catalog.py) before it is called unknown.
"""

from __future__ import annotations

import logging

from bot.config import ConfigError
from bot.features.settings import Settings
from bot.foundation_models import errors
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatModel
from bot.wiring.model_catalog import MODELS_PAGE, core_models, find_model, refusal

log = logging.getLogger("bot")

# Each way of signing in, by the setting that chose it.
_CREDENTIALS = (
    ("yandex_api_key", "YANDEX_API_KEY", "create a new API key for the service account"),
    ("yandex_iam_token", "YANDEX_IAM_TOKEN", "issue a fresh IAM token (they live 12 hours)"),
    ("yandex_sa_key_file", "YANDEX_SA_KEY_FILE", "create a new authorized key for the "
     "service account and point YANDEX_SA_KEY_FILE at its JSON"),
    ("yandex_use_metadata", "YANDEX_USE_METADATA", "attach a service account to the VM"),
)


def _credential(settings: Settings) -> tuple[str, str]:
    for attribute, name, fix in _CREDENTIALS:
        if getattr(settings, attribute):
            return name, fix
    return "YANDEX_API_KEY", "set the service account's API key"


class YandexAccess:
    def __init__(
        self, settings: Settings, client: FoundationModelsClient, chat: ChatModel
    ) -> None:
        self.settings = settings
        self.client = client
        self.chat = chat
        self.answered = False

    async def verify(self) -> bool:
        """True when Yandex takes the deployment; ConfigError (one line) when it refuses it;
        False, logged as an ERROR, when Yandex does not answer."""
        settings = self.settings
        folder = settings.yandex_folder_id
        try:
            await self.client.tokenize("fmbot", model=settings.text_model)
        except errors.AuthenticationError as exc:
            name, fix = _credential(settings)
            raise ConfigError(f"{name}: Yandex rejected the credentials (401: {exc.message}); "
                              f"{fix}") from None
        except errors.PermissionDeniedError as exc:
            raise ConfigError(
                f"YANDEX_FOLDER_ID: access denied in folder {folder} (403: {exc.message}); "
                "check the folder id, and give the service account the role "
                f"ai.languageModels.user in it") from None
        except (errors.NotFoundError, errors.BadRequestError) as exc:
            # "Specified folder ID '…' does not match with service account folder ID".
            if "folder id" in exc.message.lower() or "folder_id" in exc.message.lower():
                raise ConfigError(
                    f"YANDEX_FOLDER_ID: Yandex refused folder {folder!r} ({exc.message}); "
                    "set the id of the folder the service account belongs to") from None
            await self._check_text_model()
        except errors.FoundationModelsError as exc:
            log.error("Yandex does not answer (%s): the bot starts and answers once it does; "
                      "`fmbot check` tells what is wrong", exc)
            return False
        self.answered = True
        return True

    async def _check_text_model(self) -> None:
        [text] = [m for m in core_models(self.settings) if m.setting == "TEXT_MODEL"]
        finding = await find_model(text, self.client, self.chat)
        if finding.state == "unknown":
            raise ConfigError(f"{refusal(finding)}; set TEXT_MODEL to a model the folder "
                              f"serves ({MODELS_PAGE})")

    async def probe(self) -> None:
        """For /readyz: returns once Yandex has answered (then never asks again), raises
        while it does not."""
        if self.answered:
            return
        try:
            await self.client.tokenize("fmbot", model=self.settings.text_model)
        except errors.APIStatusError as exc:
            if exc.status_code >= 500 or isinstance(exc, errors.RateLimitError):
                raise
            # A refusal is an answer: Yandex is there (start-up judged the settings).
        self.answered = True
        log.info("Yandex answers now")
