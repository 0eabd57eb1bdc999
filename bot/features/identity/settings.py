"""The identity feature's section of the settings: the company's OpenID Connect provider the
employees sign in with (OIDC_*), whether a private chat needs it (IDENTITY_REQUIRED), and how
long a sign-in lasts (IDENTITY_TTL). The callback is {PUBLIC_URL}/oidc/callback on the bot's
web server (WEB_LISTEN and PUBLIC_URL are the core's). A leaf: pydantic and the settings'
parsing helpers only."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from bot.plugin.config import Section, Switch, blank_to

#: Where the provider sends the browser back, under PUBLIC_URL.
CALLBACK_PATH = "/oidc/callback"


class IdentitySettings(Section):
    """Employees sign in with the company's identity provider (docs/helpdesk.md)."""

    # The provider's issuer URL (https://sso.example.com/realms/company); its
    # /.well-known/openid-configuration is read. Empty = off.
    issuer: str = Field(default="", validation_alias="OIDC_ISSUER")
    # The bot's client there; its redirect URI is PUBLIC_URL + /oidc/callback.
    client_id: str = Field(default="", validation_alias="OIDC_CLIENT_ID")
    # Empty: a public client (PKCE alone).
    client_secret: SecretStr | None = Field(default=None, validation_alias="OIDC_CLIENT_SECRET")
    scopes: str = Field(default="openid profile email", validation_alias="OIDC_SCOPES")
    # The ID token's claim listing the employee's groups.
    groups_claim: str = Field(default="groups", validation_alias="OIDC_GROUPS_CLAIM")
    # on: a private chat is answered only once its user has signed in.
    required: Switch = Field(default=False, validation_alias="IDENTITY_REQUIRED")
    # How long a sign-in lasts, in seconds (30 days); then the employee is asked again.
    ttl: int = Field(default=30 * 86400, ge=60, validation_alias="IDENTITY_TTL")

    @field_validator("client_secret", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        return blank_to(value, None)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("OIDC_ISSUER must be the provider's https:// URL")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: str) -> str:
        scopes = value.split()
        if "openid" not in scopes:
            raise ValueError("OIDC_SCOPES must include openid")
        return " ".join(scopes)

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)
