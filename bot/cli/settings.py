"""`fmbot settings`: every variable the deployment reads, as `.env` lines with their defaults:
fmbot's core, each feature's section and each installed plugin's (FMBOT_PLUGINS), from the
settings composed of the registered sections. `fmbot settings > .env.example` writes one."""

from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import textwrap
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.cli.factory import Factory
from bot.config.sections import sections
from bot.plugin.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    return [commands.add_parser(
        "settings", help="print every variable read, as .env lines with their defaults "
        "(fmbot's, its features' and the installed plugins')")]


async def run(factory: Factory, args: argparse.Namespace) -> int:
    print("\n".join(env_lines(type(factory.settings), _owners(factory))))
    return 0


def _owners(factory: Factory) -> dict[str, str]:
    # The section's name as the header says it: a plugin's feature is marked as one.
    own = {feature.name for feature in factory.features[:len(factory.features)
                                                      - len(factory.app.features)]}
    return {feature.name: feature.name if feature.name in own else f"{feature.name} (plugin)"
            for feature in factory.features}


def env_lines(settings_cls: type[BaseModel], owners: dict[str, str]) -> Iterator[str]:
    """The `.env` lines of every variable `settings_cls` reads: a header per section, each
    variable's description (a field's docstring) as a comment, `NAME=default`."""
    parts = sections(settings_cls)
    yield "# fmbot's settings: every variable read, with its default (`fmbot settings`)."
    yield ""
    yield "# ---- core ----"
    for name, field in settings_cls.model_fields.items():
        if name not in parts:
            yield from _variable(name.upper(), field)
    for name, section in parts.items():
        yield ""
        yield f"# ---- {owners.get(name, name)} ----"
        docs = field_docstrings(section)
        for field_name, field in section.model_fields.items():
            yield from _variable(str(field.validation_alias), field, docs.get(field_name, ""))


def field_docstrings(model: type) -> dict[str, str]:
    """Each field's docstring (the string right below it in the class body), by field name.
    Read from the class's own source: pydantic's `use_attribute_docstrings` finds it by
    walking frames on Python 3.11 and misses it when the file is imported under two module
    names (a plugin's package and `examples.helpdesk_plugin...`)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    except (OSError, TypeError, SyntaxError):  # no source (a class built in code)
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    found: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            found[node.target.id] = inspect.cleandoc(after.value.value)
    return found


def _variable(variable: str, field: FieldInfo, doc: str = "") -> Iterator[str]:
    required = field.is_required()
    about = " ".join((field.description or doc).split())
    if required:
        about = f"{about} (required)".strip()
    if about:
        yield f"# {about}"
    yield f"{variable}={'' if required else _shown(field)}"


def _shown(field: FieldInfo) -> str:
    """A default as `.env` writes it: empty for none (or one computed at start), on/off,
    comma-separated lists."""
    value = field.default
    if value is PydanticUndefined:
        return ""  # a default made at start (the replica's id), or none
    if value is None or isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (tuple, list, set, frozenset)):
        return ",".join(str(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


command = Command("settings", add_parser, run)
