"""The feature API a plugin builds on (`bot.plugin`, issue 79): every name it exports exists
and says what it is, and the examples' import contract (pyproject.toml) forbids every module
of bot/ but the public ones, so a module added to bot/ is not open to plugins by omission."""

from __future__ import annotations

import inspect
import tomllib

import bot.plugin
from tests.conftest import REPO_ROOT

PUBLIC = {"bot.plugin", "bot.testing"}


def _examples_contract() -> dict[str, object]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"]
                  if c.get("source_modules") == ["examples"]]
    return dict(contract)


def test_the_examples_may_import_no_module_of_bot_but_the_public_ones() -> None:
    forbidden = set(_examples_contract()["forbidden_modules"])  # type: ignore[call-overload]
    top = {f"bot.{path.stem}" for path in (REPO_ROOT / "bot").iterdir()
           if (path.suffix == ".py" and path.stem != "__init__")
           or (path.is_dir() and (path / "__init__.py").is_file())}
    assert top >= PUBLIC
    assert top - PUBLIC - forbidden == set(), "a module of bot/ the examples may import"
    assert not forbidden & PUBLIC


def test_every_name_of_the_feature_api_is_there_and_documented() -> None:
    for name in bot.plugin.__all__:
        value = getattr(bot.plugin, name)
        if inspect.isclass(value) or inspect.isfunction(value):  # not a constant or alias
            assert (value.__doc__ or "").strip(), f"bot.plugin.{name} has no docstring"
    assert sorted(bot.plugin.__all__) == sorted(set(bot.plugin.__all__))
