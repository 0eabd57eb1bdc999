"""The settings of the Responses API's built-in tools: web search, and the knowledge base kept
in a Yandex Vector Store (`file_search`) instead of fmbot's database."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

from bot.config.parsing import ConfigError

#: Yandex's web_search tool takes at most five `allowed_domains`.
MAX_WEB_SEARCH_DOMAINS = 5


class AgentToolSettings(BaseSettings):
    """Web search and the Yandex-kept knowledge base (both need TEXT_API=responses)."""

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

    # --- Knowledge base kept by Yandex (KB_BACKEND=yandex) ----------------------------
    # local: passages and embeddings in fmbot's database; yandex: the files in a Vector Store,
    # searched by the model's `file_search` tool.
    kb_backend: Literal["local", "yandex"] = "local"
    # The store `kb sync` uploads to; empty: the one an earlier sync created, or a new one.
    kb_vector_store_id: str = ""
    # Days after its last use before Yandex lets a store expire (required when creating one).
    kb_vector_store_days: int = Field(default=365, ge=1, le=3650)

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

    @field_validator("web_search", "kb_backend", "web_search_context", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    def check_agent_tools(self, text_api: str) -> None:
        """WEB_SEARCH=on and KB_BACKEND=yandex are tools of the Responses API."""
        wrong = []
        if self.web_search == "on" and text_api != "responses":
            wrong.append(f"WEB_SEARCH=on needs TEXT_API=responses (it is {text_api}): web "
                         "search is a tool of Yandex's Responses API")
        if self.kb_backend == "yandex" and text_api != "responses":
            wrong.append(f"KB_BACKEND=yandex needs TEXT_API=responses (it is {text_api}): "
                         "file search is a tool of Yandex's Responses API")
        if wrong:
            raise ConfigError("\n".join(wrong))
