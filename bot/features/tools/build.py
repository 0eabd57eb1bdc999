"""The tools built from their settings (`settings.tools`): TOOLS_FILE's HTTP actions and MCP
servers with the App's Python-function tools (the toolbox), and the tool loop that runs the
model's calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.features.tools.settings import ToolsSettings
from bot.features.tools.toolbox import Toolbox
from bot.plugin.config import ConfigError

if TYPE_CHECKING:
    from bot.features.tools.loop import ToolLoop
    from bot.plugin.extending import ToolSource
    from bot.plugin.models import ChatModel
    from bot.plugin.offers import EmployeeDirectory
    from bot.plugin.storage import Database


def build_toolbox(area: ToolsSettings, extra_sources: Sequence[ToolSource] = ()) -> Toolbox:
    """TOOLS_FILE's HTTP actions and MCP servers (not yet connected), and `extra_sources`
    (Python function tools); a bad file is one ConfigError line. Without either, an empty
    toolbox, or one of the Python tools: the file's parser, the schema checks and the signer
    (jsonschema, http-message-signatures, cryptography) are not even imported."""
    if area.file is None:
        # The App's Python functions alone: no file to parse, nothing to sign (the signer's
        # cryptography import was most of a first BotTester's start).
        from bot.features.tools.toolbox import ToolNameClashError

        try:
            return Toolbox(extra_sources, observer=_tool_metrics)
        except ToolNameClashError as exc:
            raise ConfigError(f"tools: {exc}") from None
    from bot.features.tools import ToolsFileError, load_toolbox
    from bot.features.tools.signing import RequestSigner, SigningKeyError
    from bot.plugin.ground import tool_environment

    secret = area.signing_secret
    try:
        signer = None
        if secret is not None:
            signer = RequestSigner.with_secret(secret.get_secret_value(), area.signing_key_id)
        elif area.signing_key is not None:
            signer = RequestSigner.with_key_file(area.signing_key, area.signing_key_id)
        toolbox = load_toolbox(
            area.file,
            environ=tool_environment(),
            signer=signer,
            extra_sources=extra_sources,
            observer=_tool_metrics,
        )
        return toolbox
    except (ToolsFileError, SigningKeyError) as exc:
        raise ConfigError(str(exc)) from None


def _tool_metrics(name: str, outcome: str, seconds: float) -> None:
    from bot.features.tools import metrics

    metrics.tool_call(name, outcome, seconds)


async def start_toolbox_of(toolbox: Toolbox) -> None:
    """Connect the MCP servers (one unreachable is retried in the background)."""
    if not toolbox:
        return
    from bot.features.tools import ToolsFileError, start_toolbox

    try:
        await start_toolbox(toolbox)
    except ToolsFileError as exc:
        raise ConfigError(str(exc)) from None


def build_tool_loop(
    area: ToolsSettings,
    db: Database,
    chat_model: ChatModel,
    toolbox: Toolbox,
    *,
    daily_tokens: int = 0,
    desk_state: Callable[[int], Awaitable[str | None]] | None = None,
    on_superseded: Callable[[int, list[int]], None] | None = None,
    directory: EmployeeDirectory | None = None,
) -> ToolLoop:
    """The tool loop (TOOLS_* settings); models not in TOOLS_MODELS answer without tools.
    Admins (the speaker's `is_admin`) are exempt from the limits; `daily_tokens`:
    DAILY_TOKEN_LIMIT; `desk_state`: the state of a user's support conversation, for the tools
    to see;
    `on_superseded`: told which cards a new message took the buttons off; `directory`: who
    the employees are (the tools' groups and approvers)."""
    from bot.features.tools.loop import ToolLoop
    from bot.features.tools.turns import ToolLoopSettings

    return ToolLoop(
        toolbox=toolbox,
        settings=ToolLoopSettings(
            max_rounds=area.max_rounds,
            confirm_ttl=area.confirm_ttl,
            result_chars=area.result_chars,
            parallel=area.parallel,
            models=area.models,
            daily_tokens=daily_tokens,
            calls_per_user_hour=area.calls_per_user_hour,
            writes_per_user_day=area.writes_per_user_day,
            approval_remind=area.approval_remind,
            approval_expire=area.approval_expire,
        ),
        sessionmaker=db.sessionmaker,
        model=chat_model,
        desk_state=desk_state,
        on_superseded=on_superseded,
        directory=directory,
    )
