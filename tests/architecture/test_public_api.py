"""The feature API a plugin builds on (`bot.plugin`, issue 79): every name it exports exists
and says what it is, and the examples' import contract (pyproject.toml) forbids every module
of bot/ but the public ones, so a module added to bot/ is not open to plugins by omission."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
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


# bot.plugin's submodules that re-export the core by area (docs/extending.md).
FACADES = ("config", "conversation", "coordination", "extending", "grounding",
           "helpers", "metrics", "models", "prompting", "reading", "settings", "storage",
           "telegram")
# Those a light module may import (a feature's feature.py or settings section, which
# `fmbot --help` and `from bot import Settings` load): light themselves, or their names
# imported on first use (PEP 562).
LIGHT = ("config", "extending", "grounding", "helpers", "models", "prompting",
         "reading", "settings", "telegram")
HEAVY = ("aiogram", "sqlalchemy", "httpx", "numpy", "jwt", "redis", "prometheus_client")


def test_every_name_of_each_area_module_resolves_and_is_listed() -> None:
    for area in FACADES:
        module = importlib.import_module(f"bot.plugin.{area}")
        assert (module.__doc__ or "").strip(), f"bot.plugin.{area} says not what it offers"
        for name in module.__all__:
            assert getattr(module, name) is not None, f"bot.plugin.{area}.{name}"
        assert sorted(module.__all__) == sorted(set(module.__all__))
        assert set(module.__all__) <= set(dir(module))


def test_the_light_area_modules_import_no_heavy_library() -> None:
    probe = (
        "import importlib, sys\n"
        f"for area in {LIGHT!r}: importlib.import_module('bot.plugin.' + area)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == ""
