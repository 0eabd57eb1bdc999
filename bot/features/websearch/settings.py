"""Web search's section of the settings (WEB_SEARCH*): the Responses API's `web_search` tool.
A leaf: pydantic and the settings' parsing helpers only (bot/features/settings.py composes it as
`settings.websearch`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from bot.plugin.config import Section, Switch

#: Yandex's web_search tool takes at most five `allowed_domains`.
MAX_WEB_SEARCH_DOMAINS = 5


class WebSearchSettings(Section):
    """Web search (needs TEXT_API=responses): `domains` empty means the whole web, `region`
    empty none, `per_user_day` 0 unlimited."""

    # --- Web search (the Responses API's `web_search` tool) ---------------------------
    on: Switch = Field(default=False, validation_alias="WEB_SEARCH")
    # Up to five sites to search in, comma-separated (example.com); empty: the whole web.
    domains: tuple[str, ...] = Field(default=(), validation_alias="WEB_SEARCH_DOMAINS")
    # A Yandex region code (213 = Moscow) to search as from; empty: no region.
    region: str = Field(default="", validation_alias="WEB_SEARCH_REGION")
    # How much of what was found goes to the model: low | medium | high (Yandex's default).
    context: Literal["low", "medium", "high"] = Field(default="medium",
                                                      validation_alias="WEB_SEARCH_CONTEXT")
    # Answers with web search per user per day (0 = unlimited); then the bot answers without.
    per_user_day: int = Field(default=50, ge=0, validation_alias="WEB_SEARCHES_PER_USER_DAY")

    @field_validator("domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("domains")
    @classmethod
    def _at_most_five(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > MAX_WEB_SEARCH_DOMAINS:
            raise ValueError(f"at most {MAX_WEB_SEARCH_DOMAINS} domains (Yandex's limit), "
                             f"got {len(value)}")
        for domain in value:
            if "/" in domain or " " in domain:
                raise ValueError(f"{domain!r} is not a domain (like example.com)")
        return value

    @field_validator("on", "context", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    def problems(self, text_api: str) -> list[str]:
        """WEB_SEARCH=on is a tool of the Responses API."""
        if self.on and text_api != "responses":
            return [f"WEB_SEARCH=on needs TEXT_API=responses (it is {text_api}): web search "
                    "is a tool of Yandex's Responses API"]
        return []
