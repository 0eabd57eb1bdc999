"""The console for the support lead as one `Feature` (issue 80): its section (CONSOLE,
CONSOLE_PATH, CONSOLE_SESSION_TTL; WEB_LISTEN and PUBLIC_URL are the core's), its tables
(sign-in links, sessions, the audit), /console on Telegram and its pages on the bot's web
server (the core's: WEB_LISTEN in polling mode, the webhook's otherwise). The
answers' traces it shows are the core's (every answer has one, console or not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.console.settings import ConsoleSettings
from bot.plugin.feature import Feature, SettingsCheck, TelegramParts

if TYPE_CHECKING:
    from bot.plugin.built import Built
    from bot.plugin.ground import TelegramGround
    from bot.plugin.settings import Settings
    from bot.plugin.setup import FeatureSetup


def _setup(setup: FeatureSetup) -> None:
    # /console in the command menu and /help while the console is on.
    if setup.section(ConsoleSettings).enabled:
        setup.command("console", "the support lead's console (admins)",
                      ru="консоль для руководителя поддержки (админы)")


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts | None:
    if not front.ground.settings.section(ConsoleSettings).enabled:
        return None  # nothing of it imported: its pages bring Jinja2, its sign-in PyJWT
    from bot.features.console.build import console_on_telegram

    return console_on_telegram(front, built)


def _check(settings: Settings) -> None:
    from bot.plugin.config import ConfigError

    console = settings.section(ConsoleSettings)
    if not console.enabled:
        return
    problems = []
    if not settings.public_url:
        problems.append("CONSOLE=on needs PUBLIC_URL: how browsers reach the bot "
                        "(https://support.example.com), which its sign-in links start with")
    if settings.telegram_mode != "webhook" and not settings.web_listen:
        problems.append("CONSOLE=on in polling mode needs WEB_LISTEN, where the bot's web "
                        "server listens (127.0.0.1:8081)")
    if not settings.admin_user_ids and not console.oidc_admins:
        problems.append("CONSOLE=on needs ADMIN_USER_IDS (or CONSOLE_OIDC_ADMINS): only "
                        "admins may sign in")
    if console.oidc_issuer and not (console.oidc_client_id and console.oidc_admins):
        problems.append("CONSOLE_OIDC_ISSUER needs CONSOLE_OIDC_CLIENT_ID and "
                        "CONSOLE_OIDC_ADMINS (the e-mail addresses that may sign in)")
    if problems:
        raise ConfigError("\n".join(problems))


def _secrets(settings: Settings) -> list[str]:
    secret = settings.section(ConsoleSettings).oidc_client_secret
    return [secret.get_secret_value()] if secret is not None else []


FEATURE = Feature(
    name="console",
    settings=ConsoleSettings,
    tables=("bot.features.console.models",),
    settings_checks=(SettingsCheck(frozenset({"run"}), _check),),
    secrets=_secrets,
    setup=_setup,
    on_telegram=_on_telegram,
)
