"""The console's section of the settings: CONSOLE, CONSOLE_PATH, CONSOLE_SESSION_TTL. The
bot's web server it is served from (WEB_LISTEN, PUBLIC_URL) is the core's, shared with the
employee sign-in. A leaf: pydantic and the settings' parsing helpers only."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from bot.plugin.config import Section, Switch, blank_to, split_names


class ConsoleSettings(Section):
    """The web console for the support lead (docs/console.md)."""

    # The console: conversations, each answer's trace, for the admins (ADMIN_USER_IDS), who
    # sign in by sending /console to the bot in a private chat.
    enabled: Switch = Field(default=False, validation_alias="CONSOLE")
    # Where the console's pages are, under PUBLIC_URL.
    path: str = Field(default="/console", validation_alias="CONSOLE_PATH")
    # How long a signed-in session lasts, in seconds (8 hours by default).
    session_ttl: int = Field(default=8 * 3600, ge=60, validation_alias="CONSOLE_SESSION_TTL")
    # Where the console's "make an eval case" appends the cases it makes (TOML, as
    # `fmbot eval FILE` reads them); empty = each case is downloaded instead.
    eval_cases_file: str = Field(default="", validation_alias="EVAL_CASES_FILE")

    # Signing in with the company's OpenID Connect provider instead of /console: its issuer
    # URL (https://accounts.example.com; its /.well-known/openid-configuration is read),
    # the client registered there for the console (its redirect URI:
    # PUBLIC_URL + CONSOLE_PATH + /oidc/callback), and the e-mail addresses that may sign in
    # with it (the provider must say each is verified). Empty issuer = off.
    oidc_issuer: str = Field(default="", validation_alias="CONSOLE_OIDC_ISSUER")
    oidc_client_id: str = Field(default="", validation_alias="CONSOLE_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(
        default=None, validation_alias="CONSOLE_OIDC_CLIENT_SECRET")
    oidc_admins: frozenset[str] = Field(default=frozenset(),
                                        validation_alias="CONSOLE_OIDC_ADMINS")
    _split_admins = field_validator("oidc_admins", mode="before")(split_names)

    @field_validator("oidc_client_secret", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        return blank_to(value, None)

    @field_validator("oidc_admins")
    @classmethod
    def _emails(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(email.strip().lower() for email in value if email.strip())

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("CONSOLE_OIDC_ISSUER must be the provider's https:// URL")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        path = "/" + value.strip().strip("/")
        if path == "/" or any(c in path for c in "?#\"'<> "):
            raise ValueError("CONSOLE_PATH must be a path such as /console")
        return path
