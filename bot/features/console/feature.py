"""The console for the support lead as one `Feature` (issue 80): its section (CONSOLE,
CONSOLE_PATH, CONSOLE_SESSION_TTL; WEB_LISTEN and PUBLIC_URL are the core's), its tables
(sign-in links, sessions, the audit), /console on Telegram and its pages on the bot's web
server (the core's: WEB_LISTEN in polling mode, the webhook's otherwise). The
answers' traces it shows are the core's (every answer has one, console or not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.console.settings import ConsoleSettings
from bot.plugin.feature import Feature, SettingsCheck

if TYPE_CHECKING:
    from bot.plugin.context import FeatureContext
    from bot.plugin.settings import Settings


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


async def lifespan(ctx: FeatureContext) -> None:
    """The support lead's console: its settings checked before `run`; on Telegram, /console
    and its pages on the bot's web server."""
    ctx.settings_check(SettingsCheck(frozenset({"run"}), _check))
    console = ctx.section(ConsoleSettings)
    if console.oidc_client_secret is not None:
        ctx.secret(console.oidc_client_secret.get_secret_value())
    if not console.enabled:
        return  # nothing of it imported: its pages bring Jinja2, its sign-in PyJWT
    # /console in the command menu and /help while the console is on.
    ctx.command("console", "the support lead's console (admins)",
                ru="консоль для руководителя поддержки (админы)")
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.console.build import console_on_telegram

    ctx.on_front(console_on_telegram(front, ctx.built))


FEATURE = Feature(
    name="console",
    settings=ConsoleSettings,
    tables=("bot.features.console.models",),
    lifespan=lifespan,
)
