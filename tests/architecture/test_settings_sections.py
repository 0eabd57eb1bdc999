"""Each feature's section of the settings (bot/features/<name>/settings.py) is a leaf: it
imports pydantic, pydantic-settings, the standard library and at most the settings' parsing
helpers (bot/config/parsing.py, which a feature of fmbot's own reaches through the feature
API's `bot.plugin.config`), so the composed Settings (bot/features/settings.py) can name
them all without a circle. Only the command layer imports that composed Settings: the public
API and the package root, the command line, the composition root and bot.testing, besides the
modules directly in bot/features/ (import-linter keeps the layers below from reading it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.architecture.sources import GROUP, tree
from tests.architecture.test_core_names_no_feature import BOT, imported, module_name

pytestmark = GROUP

ALLOWED_ROOTS = {"__future__", "pydantic", "pydantic_settings", *sys.stdlib_module_names}
ALLOWED_OF_BOT = {"bot.config.parsing", "bot.plugin.config"}
# Who may import the composed Settings: the command layer, and the public names that carry
# it (bot.Settings, RunContext.settings in bot/extending/events.py, for annotations only).
SETTINGS_READERS = ("bot.app", "bot.cli", "bot.wiring", "bot.testing")
SETTINGS_CARRIERS = {"bot", "bot.extending.events"}


def sections() -> list[Path]:
    return sorted(BOT.glob("features/*/settings.py"))


def outside_the_leaf(path: Path, source: str) -> list[str]:
    """What `source` (the module at `path`) imports beyond a leaf's allowance."""
    found = []
    for name in imported(path, ast.parse(source)):
        if name.startswith("bot"):
            if name not in ALLOWED_OF_BOT:
                found.append(name)
        elif name.split(".")[0] not in ALLOWED_ROOTS:
            found.append(name)
    return found


def test_every_feature_owning_settings_has_its_section() -> None:
    names = {path.parent.name for path in sections()}
    assert names >= {"knowledge", "desk", "tools", "voice", "vision", "documents",
                     "websearch", "guest", "rich", "business"}


def test_each_section_is_a_leaf() -> None:
    found = {str(path.relative_to(BOT.parent)): outside_the_leaf(path, path.read_text())
             for path in sections()}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_leaf_check_sees_what_it_looks_for() -> None:
    """A check that cannot fail is a defect."""
    path = BOT / "features" / "voice" / "settings.py"
    assert outside_the_leaf(path, "import httpx\nfrom bot.features.voice import policy\n"
                                  "from bot.config import CoreSettings\n") == [
        "httpx", "bot.features.voice", "bot.config"]
    assert outside_the_leaf(path, "import re\nfrom pydantic import Field\n"
                                  "from bot.config.parsing import ConfigError\n") == []


def test_only_the_command_layer_imports_the_composed_settings() -> None:
    readers = {}
    for path in sorted(BOT.rglob("*.py")):
        module = module_name(path)
        if module.startswith(SETTINGS_READERS) or module in SETTINGS_CARRIERS:
            continue
        if path.parent == BOT / "features":
            continue  # the modules directly in bot/features/ list the features
        if module.startswith("bot.plugin") or path.name == "feature.py":
            continue  # the features' API and each feature's declaration pick its section
        if {"bot.features.settings", "bot.plugin.settings"} & set(imported(path, tree(path))):
            readers[str(path.relative_to(BOT.parent))] = module
    assert readers == {}


def test_composing_the_settings_imports_no_heavy_dependency() -> None:
    """`from bot import Settings` loads every section, and so each feature's package: a
    package's own names (bot.features.tools, bot.features.rich) are imported on first use."""
    heavy = ("aiogram", "sqlalchemy", "httpx", "numpy", "mcp")
    probe = (
        "import sys, bot.features.settings\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == ""


def test_the_packages_names_imported_on_first_use_resolve() -> None:
    import bot.features.rich
    import bot.features.tools

    for package in (bot.features.rich, bot.features.tools):
        for name in package.__all__:
            assert getattr(package, name).__name__ == name
        assert set(package.__all__) <= set(dir(package))
