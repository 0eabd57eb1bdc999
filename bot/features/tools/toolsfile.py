"""`TOOLS_FILE`: the deployment's tools in TOML, read with tomllib and checked with pydantic.

Every problem is one line naming the file, the tool (or MCP server) and the fix; nothing is
started before the whole file is known good. `${VAR}` in URLs, headers, commands and `env` is
taken from the environment given (the process's, with `.env` beneath it), and an unset variable
is named.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.features.tools.schema import SchemaError, check_parameters
from bot.features.tools.urlpath import placeholders_outside_path
from bot.plugin.extending import NAME_PATTERN, NAME_RULE, approvers_of

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Headers fmbot sets itself: a file cannot set them (the identity must come from Telegram).
RESERVED_HEADER = re.compile(r"^(x-fmbot-.*|idempotency-key)$", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z0-9_-]{1,64})\}")


class ToolsFileError(ValueError):
    """One line naming the file, the tool and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Seconds = Annotated[float, Field(gt=0, le=600)]


class HttpAction(_Strict):
    """One `[[http]]` table: an HTTP endpoint the model may call."""

    name: Name
    description: Annotated[str, Field(min_length=1)]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    confirm: bool = False
    timeout_s: Seconds = 10.0
    headers: dict[str, str] = Field(default_factory=dict)
    admins_only: bool = False
    # Offered in the chats of accounts connected to the bot (business chats) too: read-only
    # actions only (GET without confirm). Outside the deployment's own chats a tool is closed
    # unless named safe there (docs/tools.md, "Security").
    business: bool = False
    # The action named on the confirmation card, in English and Russian (default: the name).
    title: Annotated[str, Field(max_length=100)] = ""
    title_ru: Annotated[str, Field(max_length=100)] = ""
    # Offered to, and run for, the signed-in members of these company groups alone (issue 81).
    groups: list[str] = Field(default_factory=list)
    # Who decides each call instead of the asker: "group:NAME" or a chat id (docs/helpdesk.md).
    approvers: str | int | None = None

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def placeholders(self) -> list[str]:
        """The `{arg}` names of the URL, in order."""
        return _PLACEHOLDER.findall(self.url)


class McpServer(_Strict):
    """One `[mcp.<name>]` table: an MCP server over Streamable HTTP (`url`) or stdio
    (`command`)."""

    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    # Allow-list: None offers every tool the server lists.
    tools: list[Name] | None = None
    confirm: list[Name] = Field(default_factory=list)
    # true: every tool of this server; a list: those tools.
    admins_only: bool | list[Name] = False
    # Tools also offered in business chats (accounts connected to the bot): read-only tools
    # only (not in confirm). The server's annotations can still withhold one there.
    business: list[Name] = Field(default_factory=list)
    timeout_s: Seconds = 10.0
    # Over HTTP: sign every request with TOOLS_SIGNING_SECRET / TOOLS_SIGNING_KEY (RFC 9421).
    sign: bool = False
    # Every tool of this server is offered to, and run for, these groups' members alone.
    groups: list[str] = Field(default_factory=list)
    # Who decides the calls of the tools in confirm instead of the asker.
    approvers: str | int | None = None


class ToolsFile(_Strict):
    http: list[HttpAction] = Field(default_factory=list)
    mcp: dict[str, McpServer] = Field(default_factory=dict)


def read_tools_file(path: Path, environ: Mapping[str, str]) -> ToolsFile:
    """Parse and check `path`; `${VAR}` is expanded from `environ`. Raises ToolsFileError."""
    label = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolsFileError(
            f"TOOLS_FILE {path}: no such file: point TOOLS_FILE at your tools file or unset it"
        ) from None
    except OSError as exc:
        raise ToolsFileError(f"TOOLS_FILE {path}: cannot read it: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ToolsFileError(
            f"{label}: not valid TOML ({exc}): fix the syntax (strings in double quotes, "
            "tables as [[http]] or [mcp.<name>])"
        ) from None
    try:
        parsed = ToolsFile.model_validate(raw)
    except ValidationError as exc:
        raise ToolsFileError(_one_line(label, raw, exc)) from None
    _check_http(label, parsed.http)
    _check_mcp(label, parsed.mcp)
    _check_unique_names(label, parsed)
    return _expanded(label, parsed, environ)


def referenced_variables(path: Path) -> set[str]:
    """The `${VAR}` names the file uses (for the log scrubber); none when it cannot be read."""
    try:
        return set(_VARIABLE.findall(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return set()


def _one_line(label: str, raw: Mapping[str, Any], exc: ValidationError) -> str:
    """pydantic's first error as `file: tool 'x': what: fix`."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    where, key_path = _where(raw, loc)
    key = ".".join(str(part) for part in key_path) or "the table"
    kind = error["type"]
    if kind == "extra_forbidden":
        section = "an [[http]] action" if loc and loc[0] == "http" else "an [mcp.<name>] server"
        model = HttpAction if loc and loc[0] == "http" else McpServer
        if loc and loc[0] not in ("http", "mcp"):
            return (f"{label}: unknown table {loc[0]!r}: the file holds [[http]] actions and "
                    "[mcp.<name>] servers")
        allowed = ", ".join(model.model_fields)
        return f"{label}: {where}unknown key {key!r}: the keys of {section} are {allowed}"
    if kind == "missing":
        return f"{label}: {where}{key!r} is missing: add it"
    if kind == "string_pattern_mismatch":
        return f"{label}: {where}{key} {error['input']!r} is not a valid name: use {NAME_RULE}"
    if kind == "literal_error" and key_path and key_path[-1] == "method":
        return f"{label}: {where}method {error['input']!r}: use one of {', '.join(METHODS)}"
    message = str(error["msg"])
    # TOML words: pydantic's "dictionary" is a table there.
    message = (message[:1].lower() + message[1:]).replace("dictionary", "table")
    return f"{label}: {where}{key}: {message}: fix {key} (docs/tools.md shows the format)"


def _where(raw: Mapping[str, Any], loc: list[int | str]) -> tuple[str, list[int | str]]:
    """("tool 'order_status': ", the rest of loc) for an error at loc."""
    if len(loc) >= 2 and loc[0] == "http" and isinstance(loc[1], int):
        actions = raw.get("http")
        name = None
        if isinstance(actions, list) and loc[1] < len(actions):
            item = actions[loc[1]]
            name = item.get("name") if isinstance(item, dict) else None
        label = f"tool {name!r}" if isinstance(name, str) else f"[[http]] number {loc[1] + 1}"
        return f"{label}: ", loc[2:]
    if len(loc) >= 2 and loc[0] == "mcp":
        return f"MCP server {loc[1]!r}: ", loc[2:]
    return "", loc


def _check_http(label: str, actions: list[HttpAction]) -> None:
    for action in actions:
        where = f"{label}: tool {action.name!r}"
        if not action.url.startswith(("http://", "https://")):
            raise ToolsFileError(f"{where}: url {action.url!r} must start with http:// or "
                                 "https://")
        if action.business and (action.confirm or action.method != "GET"):
            raise ToolsFileError(
                f"{where}: business = true is for read-only actions (GET, no confirm): "
                "business chats are answered read-only; remove business or make it a GET"
            )
        try:
            check_parameters(action.parameters)
        except SchemaError as exc:
            raise ToolsFileError(f"{where}: parameters: {exc}") from None
        outside = placeholders_outside_path(action.url)
        if outside:
            raise ToolsFileError(
                f"{where}: url puts {{{outside[0]}}} outside the path: placeholders fill path "
                "segments only (the model's values must not choose the host or the query; "
                "other arguments go in the query string or the body by themselves)"
            )
        properties = action.parameters.get("properties", {})
        required = action.parameters.get("required", [])
        for placeholder in action.placeholders:
            if placeholder not in properties:
                raise ToolsFileError(
                    f"{where}: url uses {{{placeholder}}} but parameters has no property "
                    f"{placeholder!r}: add it to parameters.properties (and to required)"
                )
            if placeholder not in required:
                raise ToolsFileError(
                    f"{where}: url uses {{{placeholder}}}, so {placeholder!r} must be listed "
                    "in parameters.required"
                )
        _check_headers(where, action.headers)
        _check_groups(where, action.groups)
        approvers = _check_approvers(where, action.approvers)
        if approvers and action.business:
            raise ToolsFileError(f"{where}: business = true is for read-only actions, and one "
                                 "with approvers waits for a press: remove one of them")


def _check_groups(where: str, groups: list[str]) -> None:
    for group in groups:
        if not group.strip():
            raise ToolsFileError(f"{where}: groups has an empty name: list the company "
                                 'groups by name, e.g. groups = ["it-admins"]')


def _check_approvers(where: str, approvers: str | int | None) -> str:
    try:
        return approvers_of(approvers)
    except ValueError as exc:
        raise ToolsFileError(f"{where}: {exc}") from None


def _check_headers(where: str, headers: Mapping[str, str]) -> None:
    for header in headers:
        if RESERVED_HEADER.match(header):
            raise ToolsFileError(
                f"{where}: header {header!r} is set by fmbot itself (the user's identity and "
                "the idempotency key): remove it from headers"
            )


def _check_mcp(label: str, servers: Mapping[str, McpServer]) -> None:
    for server_name, server in servers.items():
        where = f"{label}: MCP server {server_name!r}"
        if not re.match(NAME_PATTERN, server_name):
            raise ToolsFileError(f"{where}: not a valid name: use {NAME_RULE} in [mcp.<name>]")
        if (server.url is None) == (server.command is None):
            raise ToolsFileError(
                f"{where}: set exactly one of url (Streamable HTTP) and command (stdio)"
            )
        if server.url is not None and not server.url.startswith(("http://", "https://")):
            raise ToolsFileError(f"{where}: url {server.url!r} must start with http:// or "
                                 "https://")
        if server.command is not None and not server.command:
            raise ToolsFileError(f"{where}: command is empty: give the program and its "
                                 'arguments, e.g. ["python", "-m", "tracker_mcp"]')
        if server.url is not None and server.env:
            raise ToolsFileError(f"{where}: env is for a stdio server (command); a url "
                                 "server takes headers")
        if server.command is not None and server.sign:
            raise ToolsFileError(f"{where}: sign is for a url server (signed HTTP requests); "
                                 "a stdio server runs on this machine")
        if server.command is not None and server.headers:
            raise ToolsFileError(f"{where}: headers are for a url server; a stdio server "
                                 "(command) takes env")
        _check_groups(where, server.groups)
        if _check_approvers(where, server.approvers) and not server.confirm:
            raise ToolsFileError(f"{where}: approvers decide the calls of the tools in "
                                 "confirm, and confirm lists none: list those tools there")
        allowed = set(server.tools) if server.tools is not None else None
        listed = list(server.confirm) + list(server.business)
        if isinstance(server.admins_only, list):
            listed += server.admins_only
        for tool in listed:
            if allowed is not None and tool not in allowed:
                raise ToolsFileError(
                    f"{where}: tool {tool!r} is named in confirm, admins_only or business "
                    "but not in tools (the allow-list): add it to tools or remove it"
                )
        for tool in server.business:
            if tool in server.confirm:
                raise ToolsFileError(
                    f"{where}: tool {tool!r} is in both confirm and business: business chats "
                    "are answered read-only, so a tool that needs a press is never offered "
                    "there; remove it from business"
                )


def mcp_names(server: McpServer) -> set[str]:
    """Every tool name the server's table declares: its allow-list, confirm, admins_only and
    business lists (a name in confirm is declared even without an allow-list)."""
    names = set(server.tools or ()) | set(server.confirm) | set(server.business)
    if isinstance(server.admins_only, list):
        names |= set(server.admins_only)
    return names


def _check_unique_names(label: str, parsed: ToolsFile) -> None:
    seen: dict[str, str] = {}
    for action in parsed.http:
        if action.name in seen:
            raise ToolsFileError(
                f"{label}: tool name {action.name!r} is used by two [[http]] actions: rename "
                "one of them"
            )
        seen[action.name] = "[[http]]"
    # Whether a call needs a press and where it goes come from one source: a name two sources
    # declare (an allow-list, confirm, admins_only, business) would let the one that answers
    # run it under the other's rules.
    for server_name, server in parsed.mcp.items():
        for tool in sorted(mcp_names(server)):
            owner = seen.get(tool)
            if owner is not None:
                raise ToolsFileError(
                    f"{label}: tool name {tool!r} is used by both {owner} and "
                    f"[mcp.{server_name}]: one source per name; rename the action or leave "
                    "the tool out of one server's lists (and give that server an allow-list)"
                )
            seen[tool] = f"[mcp.{server_name}]"


def _expanded(label: str, parsed: ToolsFile, environ: Mapping[str, str]) -> ToolsFile:
    def expand(where: str, field: str, value: str) -> str:
        def one(match: re.Match[str]) -> str:
            variable = match.group(1)
            found = environ.get(variable)
            if found is None:
                raise ToolsFileError(
                    f"{label}: {where}: {field} uses ${{{variable}}}, which is not set: set "
                    f"{variable} in the environment or .env"
                )
            return found

        return _VARIABLE.sub(one, value)

    actions = []
    for action in parsed.http:
        where = f"tool {action.name!r}"
        actions.append(action.model_copy(update={
            "url": expand(where, "url", action.url),
            "headers": {k: expand(where, f"headers.{k}", v) for k, v in action.headers.items()},
        }))
    servers = {}
    for server_name, server in parsed.mcp.items():
        where = f"MCP server {server_name!r}"
        servers[server_name] = server.model_copy(update={
            "url": expand(where, "url", server.url) if server.url is not None else None,
            "headers": {k: expand(where, f"headers.{k}", v) for k, v in server.headers.items()},
            "command": [expand(where, "command", part) for part in server.command]
            if server.command is not None else None,
            "env": {k: expand(where, f"env.{k}", v) for k, v in server.env.items()},
        })
    return ToolsFile(http=actions, mcp=servers)
