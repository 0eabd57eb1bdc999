"""Who the employee is, as one `Feature` (issue 81): its section (OIDC_*, IDENTITY_REQUIRED,
IDENTITY_TTL), its tables (the sign-ins under way, the bindings), /login, /whoami, /logout
and /forget on Telegram, and the provider's callback on the bot's web server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.identity.settings import IdentitySettings
from bot.plugin.feature import Feature, FeatureCheck, SettingsCheck, TelegramParts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.plugin.built import Built
    from bot.plugin.ground import Groundwork, TelegramGround
    from bot.plugin.outcome import Outcome
    from bot.plugin.settings import Settings
    from bot.plugin.setup import FeatureSetup


def _setup(setup: FeatureSetup) -> None:
    if setup.section(IdentitySettings).enabled:
        setup.command("login", "sign in with your company account",
                      ru="войти с рабочей учётной записью")
        setup.command("whoami", "who you are signed in as", ru="под каким именем вы вошли")
        setup.command("logout", "sign out", ru="выйти")
        setup.command("forget", "forget your sign-in", ru="забыть ваш вход")


def _on_telegram(front: TelegramGround, built: Built) -> TelegramParts | None:
    if not front.ground.settings.section(IdentitySettings).enabled:
        return None
    from bot.features.identity.build import identity_on_telegram

    return identity_on_telegram(front)


async def _build(ground: Groundwork, built: Built) -> None:
    """Offers who the employees are (`EmployeeDirectory`): the tools' groups and approvers."""
    section = ground.settings.section(IdentitySettings)
    if not section.enabled:
        return
    import datetime as dt

    from bot.features.identity.store import Identities
    from bot.plugin.offers import EmployeeDirectory

    identities = Identities(ground.db.sessionmaker, dt.timedelta(seconds=section.ttl))
    built.add("identity", EmployeeDirectory(identities.employee, identities.shown,
                                            identities.members))


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


def _checks(settings: Settings, environ: Mapping[str, str]) -> list[FeatureCheck]:
    section = settings.section(IdentitySettings)
    if not section.enabled:
        return []

    async def provider() -> list[Outcome]:
        from bot.features.identity.checks import check_provider

        return await check_provider(section, settings.public_url)

    return [FeatureCheck("identity provider", provider, credentials=False,
                         imports=("bot.features.identity.checks",))]


def _secrets(settings: Settings) -> list[str]:
    secret = settings.section(IdentitySettings).client_secret
    return [secret.get_secret_value()] if secret is not None else []


FEATURE = Feature(
    name="identity",
    settings=IdentitySettings,
    tables=("bot.features.identity.models",),
    texts=("bot.features.identity.texts",),
    settings_checks=(SettingsCheck(frozenset({"run"}), _check),),
    checks=_checks,
    secrets=_secrets,
    setup=_setup,
    build=_build,
    on_telegram=_on_telegram,
)
