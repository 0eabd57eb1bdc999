"""Who the employee is, as one `Feature` (issue 81): its section (OIDC_*, IDENTITY_REQUIRED,
IDENTITY_TTL), its tables (the sign-ins under way, the bindings), /login, /whoami, /logout
and /forget on Telegram, and the provider's callback on the bot's web server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.identity.settings import IdentitySettings
from bot.plugin.feature import Feature, FeatureCheck, SettingsCheck

if TYPE_CHECKING:
    from bot.plugin.context import FeatureContext
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings


def _check(settings: Settings) -> None:
    from bot.plugin.config import ConfigError

    section = settings.section(IdentitySettings)
    problems = []
    if section.required and not section.enabled:
        problems.append("IDENTITY_REQUIRED=on needs OIDC_ISSUER: the company's provider "
                        "the employees sign in with")
    if section.enabled:
        if not section.client_id:
            problems.append("OIDC_ISSUER needs OIDC_CLIENT_ID: the bot's client there")
        if not settings.public_url:
            problems.append("OIDC_ISSUER needs PUBLIC_URL: the provider sends the browser "
                            "back to PUBLIC_URL/oidc/callback")
        if settings.telegram_mode != "webhook" and not settings.web_listen:
            problems.append("OIDC_ISSUER in polling mode needs WEB_LISTEN, where the bot's "
                            "web server listens for the provider's callback (127.0.0.1:8081)")
    if problems:
        raise ConfigError("\n".join(problems))


async def lifespan(ctx: FeatureContext) -> None:
    """Who the employee is: its settings checked before `run`, its provider in `fmbot
    check`; the employee directory offered (the tools' groups and approvers); on Telegram,
    /login, /whoami, /logout and /forget, and the provider's callback."""
    ctx.settings_check(SettingsCheck(frozenset({"run"}), _check))
    section, settings = ctx.section(IdentitySettings), ctx.settings
    if section.client_secret is not None:
        ctx.secret(section.client_secret.get_secret_value())
    if not section.enabled:
        return

    async def provider() -> list[Outcome]:
        from bot.features.identity.checks import check_provider

        return await check_provider(section, settings.public_url)

    ctx.check(FeatureCheck("identity provider", provider, credentials=False,
                           imports=("bot.features.identity.checks",)))
    ctx.command("login", "sign in with your company account",
                ru="войти с рабочей учётной записью")
    ctx.command("whoami", "who you are signed in as", ru="под каким именем вы вошли")
    ctx.command("logout", "sign out", ru="выйти")
    ctx.command("forget", "forget your sign-in", ru="забыть ваш вход")
    ground = await ctx.core()
    import datetime as dt

    from bot.features.identity.store import Identities
    from bot.plugin.offers import EmployeeDirectory

    identities = Identities(ground.db.sessionmaker, dt.timedelta(seconds=section.ttl))
    ctx.offer(EmployeeDirectory(identities.employee, identities.shown, identities.members))
    front = await ctx.telegram()
    if front is None:
        return
    from bot.features.identity.build import identity_on_telegram

    ctx.on_front(identity_on_telegram(front))


FEATURE = Feature(
    name="identity",
    settings=IdentitySettings,
    tables=("bot.features.identity.models",),
    texts=("bot.features.identity.texts",),
    lifespan=lifespan,
)
