"""Python function tools: async functions with type hints, registered with a decorator.

    tools = FunctionTools("mybot")

    @tools.tool(confirm=True)
    async def open_ticket(ctx: ToolContext, subject: str, priority: int = 3) -> str:
        \"\"\"Open a support ticket for the user.\"\"\"

The arguments' JSON Schema comes from the signature (pydantic `create_model`, no extra
dependency), the description from the docstring. A first parameter annotated `ToolContext` is
filled by fmbot (who asks, the idempotency key) and never shown to the model. Arguments are
validated in pydantic's lax mode before the function runs (`5.0` is the int 5); a validation
error goes back to the model as `error: invalid arguments: ...` so it can correct itself.
Where the public decorator lives (`@app.tool`) is the framework's API; this is the mechanism.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import (
    BaseModel,
    ConfigDict,
    PydanticUserError,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import to_jsonable_python

from bot.extending.tools import (
    NAME_PATTERN,
    NAME_RULE,
    ToolContext,
    ToolDefinition,
    ToolOutcome,
    ToolRunResult,
    approvers_of,
)

logger = logging.getLogger(__name__)

ToolFunction = Callable[..., Awaitable[Any]]


class ToolFunctionError(TypeError):
    """A function that cannot be a tool (not async, a parameter without a type hint, ...)."""


@dataclass(frozen=True, slots=True)
class _Registered:
    definition: ToolDefinition
    function: ToolFunction
    arguments: type[BaseModel]
    wants_context: bool


class FunctionTools:
    """A tool source holding Python functions."""

    def __init__(self, name: str = "python") -> None:
        self._name = name
        self._tools: dict[str, _Registered] = {}

    @property
    def name(self) -> str:
        return f"python:{self._name}"

    def add(
        self,
        function: ToolFunction,
        *,
        name: str | None = None,
        description: str | None = None,
        confirm: bool = False,
        admins_only: bool = False,
        writes: bool | None = None,
        timeout_s: float = 10.0,
        title: str = "",
        title_ru: str = "",
        business: bool = False,
        groups: Sequence[str] = (),
        approvers: str | int | None = None,
    ) -> ToolDefinition:
        tool_name = name or function.__name__
        if not re.match(NAME_PATTERN, tool_name):
            raise ToolFunctionError(f"tool name {tool_name!r} is not valid: use {NAME_RULE}")
        if tool_name in self._tools:
            raise ToolFunctionError(f"tool name {tool_name!r} is registered twice in "
                                    f"{self.name}: rename one of them")
        if not inspect.iscoroutinefunction(function):
            raise ToolFunctionError(f"tool {tool_name!r}: {function.__qualname__} must be "
                                    "an async function (async def)")
        arguments, wants_context = arguments_model(function, tool_name)
        if isinstance(groups, str):
            raise ToolFunctionError(f"tool {tool_name!r}: groups is a list of group names, "
                                    f"not one string: groups=[{groups!r}]")
        named = tuple(dict.fromkeys(g.strip() for g in groups))
        if any(not group for group in named):
            raise ToolFunctionError(f"tool {tool_name!r}: groups has an empty name")
        try:
            approved_by = approvers_of(approvers)
        except ValueError as exc:
            raise ToolFunctionError(f"tool {tool_name!r}: {exc}") from None
        # Approvers decide each call: it waits for a press (theirs), like a confirmed one.
        confirm = confirm or bool(approved_by)
        writing = confirm if writes is None else writes
        if business and (writing or confirm):
            raise ToolFunctionError(
                f"tool {tool_name!r}: business=True is for read-only tools: business chats are "
                "answered read-only, so a tool that writes or needs a press is never offered "
                "there"
            )
        text = description if description is not None else inspect.getdoc(function) or ""
        if not text.strip():
            raise ToolFunctionError(f"tool {tool_name!r}: give it a docstring saying when to "
                                    "use it (the model picks tools by their description)")
        definition = ToolDefinition(
            name=tool_name,
            description=text.strip(),
            parameters=parameters_schema(arguments),
            confirm=confirm,
            admins_only=admins_only,
            writes=writing,
            source=self.name,
            timeout_s=timeout_s,
            business=business,
            title=title.strip(),
            title_ru=title_ru.strip(),
            groups=named,
            approvers=approved_by,
        )
        self._tools[tool_name] = _Registered(definition, function, arguments, wants_context)
        return definition

    def definitions(self) -> Sequence[ToolDefinition]:
        return tuple(tool.definition for tool in self._tools.values())

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        tool = self._tools.get(name)
        if tool is None:
            return ToolRunResult(ToolOutcome.ERROR, f"error: no tool named {name!r}")
        try:
            parsed = tool.arguments.model_validate(dict(arguments))
        except ValidationError as exc:
            return ToolRunResult(
                ToolOutcome.ERROR, f"error: invalid arguments: {_errors(exc)}", "invalid"
            )
        values = {field: getattr(parsed, field) for field in type(parsed).model_fields}
        try:
            if tool.wants_context:
                result = await tool.function(ctx, **values)
            else:
                result = await tool.function(**values)
        except Exception as exc:
            # The deployer's own code failed: the log has the trace, the model a short line.
            logger.exception("tool %s (%s) raised", name, self.name)
            return ToolRunResult(
                ToolOutcome.ERROR, f"error: {type(exc).__name__}: {str(exc)[:200]}".rstrip(": "),
                type(exc).__name__,
            )
        return ToolRunResult(ToolOutcome.OK, as_text(result))


def arguments_model(function: ToolFunction, tool_name: str) -> tuple[type[BaseModel], bool]:
    """The pydantic model of `function`'s arguments, and whether it takes a ToolContext."""
    signature = inspect.signature(function)
    try:
        hints = get_type_hints(function)
    except NameError as exc:
        raise ToolFunctionError(
            f"tool {tool_name!r}: a type hint cannot be resolved ({exc})"
        ) from None
    fields: dict[str, Any] = {}
    wants_context = False
    for index, parameter in enumerate(signature.parameters.values()):
        hint = hints.get(parameter.name)
        if hint is ToolContext:
            if index != 0:
                raise ToolFunctionError(f"tool {tool_name!r}: the ToolContext parameter "
                                        "must come first")
            wants_context = True
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ToolFunctionError(f"tool {tool_name!r}: *args and **kwargs cannot be "
                                    "described to the model; name each argument")
        if hint is None:
            raise ToolFunctionError(f"tool {tool_name!r}: parameter {parameter.name!r} needs "
                                    "a type hint (it becomes the JSON Schema)")
        default = ... if parameter.default is parameter.empty else parameter.default
        _check_describable(tool_name, parameter.name, hint)
        fields[parameter.name] = (hint, default)
    model = create_model(
        f"{tool_name}_arguments",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )
    return model, wants_context


def _check_describable(tool_name: str, parameter: str, hint: Any) -> None:
    """A parameter type pydantic cannot turn into JSON Schema is refused in one line naming
    the tool and the parameter (pydantic's own report is several lines naming neither)."""
    try:
        TypeAdapter(hint).json_schema()
    except PydanticUserError:
        kind = getattr(hint, "__name__", None) or repr(hint)
        raise ToolFunctionError(
            f"tool {tool_name!r}: parameter {parameter!r} has a type with no JSON Schema "
            f"({kind}), so the model cannot be told what to pass; use str, int, float, bool, "
            "a Literal, an Enum, a list or dict of those, or a pydantic model"
        ) from None


def parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema without pydantic's generated titles (noise in the prompt)."""
    schema = model.model_json_schema()
    return _untitled(schema)  # type: ignore[no-any-return]


def _untitled(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _untitled(value)
            for key, value in node.items()
            # "title" as a key of properties is a property named title: keep it.
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    return node


def _errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def as_text(result: object) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(to_jsonable_python(result), ensure_ascii=False)
