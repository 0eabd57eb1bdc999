"""What the composition root builds before the features and gives each feature's `prepare`,
`build` and `on_telegram` to build its parts on: the settings, the database, the model clients
and their credentials, the exit stack their resources close on; and what the Telegram front
end gives the core (`FrontEnd`). Names no feature."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    import httpx

    from bot.config.composed import SettingsBase as Settings
    from bot.conversation.listeners import Listeners
    from bot.coordination import Coordinator
    from bot.extending.tools import ToolSource
    from bot.foundation_models.auth import Auth
    from bot.foundation_models.client import FoundationModelsClient
    from bot.foundation_models.limits import GenerationLimit
    from bot.foundation_models.types import ChatModel
    from bot.plugin.built import Built
    from bot.plugin.registry import Registry
    from bot.storage.database import Database
    from bot.telegram.downloads import TelegramFiles
    from bot.telegram.featureparts import FrontParts
    from bot.telegram.outbox import Outbox

@dataclass(frozen=True, slots=True)
class FrontEnd:
    """What the Telegram front end gives the core, built before it (the terminal chat gives
    none of it): Telegram's files (earlier photos fetched again for the vision model), the
    tool cards a new message took the buttons off, and with several replicas, answers tracked
    until delivered and one generation cap shared by all."""

    telegram: bool = False  # the support desk and documents in chat need Telegram
    files: TelegramFiles | None = None
    superseded: Listeners[[int, list[int]]] | None = None
    track_delivery: bool = False
    generation_limit: GenerationLimit | None = None
    shared: bool = False  # several replicas (REDIS_URL)


@dataclass(frozen=True, slots=True)
class Groundwork:
    """What the features build on. `stack`: where their resources are closed (in reverse
    order of creation); `http`: the HTTP client every model client uses instead of its own
    (bot.testing); `background`: what a feature keeps up to date runs in the background,
    at start and then periodically (`run`), rather than once before the first question (in
    process: the feature's `ready`); `registry`: what every feature registered (routers,
    menu commands, context providers, tools, hooks), in the list's order."""

    settings: Settings
    db: Database
    client: FoundationModelsClient
    chat_model: ChatModel
    auth: Auth
    stack: AsyncExitStack
    http: httpx.AsyncClient | None = None
    front: FrontEnd = field(default_factory=FrontEnd)
    background: bool = False
    registry: Registry | None = None


@dataclass(frozen=True, slots=True)
class Preparing:
    """What a feature's `prepare` gets, before the database is touched: the settings, what
    every feature registered (`registry`), and `wrap_tools`: each tool source replaced by
    what it returns (`fmbot eval` answers the calls with its cases' stubs)."""

    settings: Settings
    built: Built
    registry: Registry | None = None
    wrap_tools: Callable[[ToolSource], ToolSource] | None = None


@dataclass(frozen=True, slots=True)
class TelegramGround:
    """What a feature's part on the Telegram front builds on, besides the core's `ground`:
    the front's own `parts` (the aiogram Bot, the outbox, the conversation, the rate
    limiter, the replicas' coordinator); `replicas` (REDIS_URL): the coordination store the
    replicas share (jobs run once among them); `files`: Telegram's files; `system_prompt`:
    the deployment's; `leases` (several webhook replicas): a chat's work done under its
    lease; `menu`: every
    feature's menu commands (name -> description by language); `guest_edit_interval`: guest
    answers edited at most once per so many seconds."""

    ground: Groundwork
    parts: FrontParts
    files: TelegramFiles
    system_prompt: str
    replicas: Coordinator | None = None
    leases: Coordinator | None = None
    menu: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    guest_edit_interval: float = 1.0

    @property
    def outbox(self) -> Outbox:
        """The front's outbox (`parts.outbox`): every call to Telegram, paced."""
        return self.parts.outbox


def tool_environment(env_file: Path = Path(".env")) -> dict[str, str]:
    """Where TOOLS_FILE's `${VAR}` come from: the environment, over `.env` (as for Settings)."""
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    values.update(os.environ)
    return values
