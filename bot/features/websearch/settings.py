"""Web search's section of the settings (WEB_SEARCH*): the Responses API's `web_search` tool.
A leaf: pydantic only (bot/features/settings.py composes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

#: Yandex's web_search tool takes at most five `allowed_domains`.
MAX_WEB_SEARCH_DOMAINS = 5


@dataclass(frozen=True, slots=True)
class WebSearchArea:
    """Web search's settings: `domains` empty means the whole web, `region` empty none,
    `per_user_day` 0 unlimited."""

    on: bool
    domains: tuple[str, ...]
    region: str
    context: Literal["low", "medium", "high"]
    per_user_day: int


class WebSearchSettings(BaseSettings):
    """Web search (needs TEXT_API=responses)."""

    # --- Web search (the Responses API's `web_search` tool) ---------------------------
    web_search: Literal["off", "on"] = "off"
    # Up to five sites to search in, comma-separated (example.com); empty: the whole web.
    web_search_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A Yandex region code (213 = Moscow) to search as from; empty: no region.
    web_search_region: str = ""
    # How much of what was found goes to the model: low | medium | high (Yandex's default).
    web_search_context: Literal["low", "medium", "high"] = "medium"
    # Answers with web search per user per day (0 = unlimited); then the bot answers without.
    web_searches_per_user_day: int = Field(default=50, ge=0)

    @field_validator("web_search_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("web_search_domains")
    @classmethod
    def _at_most_five(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_WEB_SEARCH_DOMAINS:
            raise ValueError(f"at most {MAX_WEB_SEARCH_DOMAINS} domains (Yandex's limit), "
                             f"got {len(value)}")
        for domain in value:
            if "/" in domain or " " in domain:
                raise ValueError(f"{domain!r} is not a domain (like example.com)")
        return value

    @field_validator("web_search", "web_search_context", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def websearch(self) -> WebSearchArea:
        """Web search's settings as one value."""
        return WebSearchArea(
            on=self.web_search == "on", domains=tuple(self.web_search_domains),
            region=self.web_search_region, context=self.web_search_context,
            per_user_day=self.web_searches_per_user_day,
        )

    def web_search_problems(self, text_api: str) -> list[str]:
        """WEB_SEARCH=on is a tool of the Responses API."""
        if self.web_search == "on" and text_api != "responses":
            return [f"WEB_SEARCH=on needs TEXT_API=responses (it is {text_api}): web search "
                    "is a tool of Yandex's Responses API"]
        return []
