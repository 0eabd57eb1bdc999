"""What the settings are read with: the error that names a variable, list and token parsing,
the default replica id and host:port values, and what a feature's section of the settings is
made of (`Section`, one pydantic model whose fields each name their variable, and `Switch`, an
on/off variable read as a bool)."""

from __future__ import annotations

import os
import re
import socket
from typing import Annotated, Any, Protocol, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticUseDefault

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///fmbot.db"


class ConfigError(Exception):
    """A missing or contradictory setting; the message names the variable to set."""


def _split_ids(value: object) -> object:
    if not isinstance(value, str):
        return value
    ids = []
    for part in (p.strip() for p in value.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            # Usernames are what a newcomer tries first; they change hands and Telegram's
            # updates carry the numeric id, so only ids are accepted.
            raise ValueError(
                f"{part!r} is not a numeric Telegram id; list ids (numbers such as 123456789, "
                "comma-separated), not usernames: a user sees their id by writing to "
                "@userinfobot (and the bot logs the ids of users it refuses)"
            ) from None
    return ids


def split_names(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# What @BotFather issues: the bot id, a colon, then the secret (letters, digits, _ and -).
_TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


def raise_all(problems: list[str]) -> None:
    """One ConfigError naming every problem found, a line each."""
    if problems:
        raise ConfigError("\n".join(problems))


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _host_port(name: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(f"{name} must be host:port, got {value!r}")
    return host or "0.0.0.0", number


def blank_to(value: object, unset: object) -> object:
    """`unset` for an empty or blank string (`.env.example` copied as is leaves `NAME=`)."""
    return unset if isinstance(value, str) and not value.strip() else value


def blank_is_default(value: object) -> object:
    """`value`, or the field's default for None or an empty or blank string (`NAME=`)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise PydanticUseDefault
    return value


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def url_problem(name: str, value: str) -> str | None:
    """A line naming `name` (a *_URL setting) when `value` lacks a scheme or a host, saying
    what to add (None: empty, or an http(s) URL with a host). The value may point at Yandex,
    Telegram, a proxy or a local server alike, so the line only says how to write it."""
    if not value or _is_http_url(value):
        return None
    name = name.upper()
    shown = _without_password(value)
    scheme, sep, rest = value.partition("://")
    if value.lower() in ("http:", "https:"):  # "https://" with its slash stripped
        scheme, sep, rest = value[:-1], "://", ""
    if not sep:  # "127.0.0.1:8081", "api.example.com/v1": the scheme was left out
        return (f"{name}: {shown!r} has no scheme: add https:// (or http:// for a server "
                f"without TLS), e.g. {name}=https://{_without_password(value)}")
    if scheme.lower() not in ("http", "https"):
        return (f"{name}: {shown!r} starts with {scheme}://: write an http:// or https:// "
                "URL")
    return (f"{name}: {shown!r} has no host: add it after {scheme}://, e.g. "
            f"{name}={scheme}://proxy.example.com{rest if rest.startswith(('/', ':')) else ''}")


def _without_password(value: str) -> str:
    # A proxy's URL may carry user:password@; the line lands in logs and issues.
    parts = urlsplit(value)
    if not parts.password:
        return value
    return value.replace(f":{parts.password}@", ":***@", 1)


def _on_off(value: object) -> object:
    if isinstance(value, bool):  # given in code
        return value
    if value in ("on", "off"):
        return value == "on"
    raise ValueError("Input should be 'on' or 'off'")


#: An on/off variable (`CSAT=on`), read as a bool; only "on" and "off" are taken (or a bool, in
#: code).
Switch = Annotated[bool, BeforeValidator(_on_off)]


def unresolved() -> Any:
    """The default of a field its section resolves once validated (`mode` from KB_PATH): None
    until the section's after-validator puts the value in place, never read."""
    return None


class Core(Protocol):
    """What a section may resolve its defaults against: the core's settings (bot/config's
    CoreSettings), as much of them as sections read."""

    text_model: str
    yandex_llm_url: str

    @property
    def has_credentials(self) -> bool: ...


class Section(BaseModel):
    """A feature's section of the settings (bot/features/<name>/settings.py): one model, each
    field declared once and naming its environment variable by validation alias
    (`replies: ... = Field(validation_alias="VOICE_REPLIES")`). The composed Settings
    (bot/features/settings.py) has a field per registered section, named as its feature
    (`settings.voice`; typed: `settings.section(VoiceSettings)`), and reads each section's
    variables flat, from the environment, `.env` and keywords
    (`Settings(voice_replies="always")`); in code a section is also built by its field names
    (`VoiceSettings(replies="always")`). Frozen: a value object its feature is given."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True,
                              validate_by_alias=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        unnamed = [name for name, field in cls.model_fields.items()
                   if not isinstance(field.validation_alias, str)]
        if unnamed:
            raise TypeError(f"{cls.__name__}: every field names its variable "
                            f"(Field(validation_alias=...)); not {', '.join(unnamed)}")

    @classmethod
    def variables(cls) -> dict[str, str]:
        """The environment variable of each field (upper case), by field name."""
        return {name: str(field.validation_alias) for name, field in cls.model_fields.items()}

    def resolved_with(self, core: Core) -> Self:
        """This section with the defaults that depend on the core's settings resolved (the
        models' credentials, TEXT_MODEL, YANDEX_LLM_URL), called once by the composed
        Settings after validation; itself when none does."""
        return self

    def endpoint_problems(self) -> list[str]:
        """Its *_URL settings that are not http(s) URLs with a host, a line each (part of
        `Settings.check_yandex`); none by default."""
        return []

    def _settle(self, **values: object) -> None:
        """Put resolved defaults in place (a section's own after-validator, or the composed
        Settings' on a copy): the section stays frozen to its readers, and `model_fields_set`
        keeps naming only what the deployment set."""
        for name, value in values.items():
            object.__setattr__(self, name, value)
