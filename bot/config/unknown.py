"""Variables the deployment wrote that fmbot does not read: every key of `.env` that no
setting, no plugin's settings and no `${VAR}` of the tools file names, and in the environment
the names one letter or two away from a setting (the environment holds PATH, HOME and the
rest, so only a near miss is worth naming there). pydantic-settings ignores both silently,
so `SUPORT_CHAT_ID=-100...` used to start a bot with no support desk and no word of why.

`fmbot check` fails on a near miss and names the others; `run` logs each at WARNING."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

# How close a name must be to a setting's to be called its misspelling (SUPORT_CHAT_ID
# against SUPPORT_CHAT_ID is 0.97; KB_PATH against KB_MODE 0.71, TEXT_MODEL against
# TEST_MODE 0.84, which is why the environment's bar is higher).
_CLOSE_IN_FILE = 0.8
_CLOSE_IN_ENVIRONMENT = 0.9


@dataclass(frozen=True, slots=True)
class Unknown:
    """A variable fmbot does not read: where it was written, and the setting it is closest
    to, if any (then it is most likely a misspelling of that one)."""

    name: str
    where: str  # ".env" (the file's name) or "the environment"
    meant: str | None

    def line(self) -> str:
        if self.meant is not None:
            return (f"{self.where}: {self.name} is not a setting fmbot reads: did you mean "
                    f"{self.meant}?")
        return (f"{self.where}: {self.name} is not a setting fmbot reads (nor a plugin's, "
                "nor a ${VAR} of TOOLS_FILE); if your own code reads it, ignore this")


def unknown_variables(
    known: Collection[str],
    *,
    env_file: Path | None,
    environ: Mapping[str, str],
) -> list[Unknown]:
    """The `.env` keys and near-miss environment names that `known` (upper case) lacks."""
    from dotenv import dotenv_values

    names = {name.upper() for name in known}
    found: list[Unknown] = []
    if env_file is not None and env_file.is_file():
        for key in dotenv_values(env_file):
            if key.upper() not in names:
                found.append(Unknown(key, env_file.name, _closest(key, names, _CLOSE_IN_FILE)))
    written = {item.name.upper() for item in found}
    for key in environ:
        upper = key.upper()
        if upper in names or upper in written:
            continue
        meant = _closest(key, names, _CLOSE_IN_ENVIRONMENT)
        if meant is not None:
            found.append(Unknown(key, "the environment", meant))
    return found


def variables_of(model: type) -> set[str]:
    """The variables a pydantic(-settings) model reads, upper case: each field's alias when
    it has one (a settings section's), else its `env_prefix` and name."""
    fields = getattr(model, "model_fields", {})
    config = getattr(model, "model_config", {})
    prefix = str(config.get("env_prefix") or "")
    names = set()
    for name, field in fields.items():
        alias = field.validation_alias
        names.add(alias.upper() if isinstance(alias, str) else (prefix + name).upper())
    return names


def _closest(key: str, names: Collection[str], cutoff: float) -> str | None:
    close = difflib.get_close_matches(key.upper(), list(names), n=1, cutoff=cutoff)
    return close[0] if close else None
