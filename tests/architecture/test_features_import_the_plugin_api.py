"""fmbot's own features build on the feature API as a plugin does (issue 79): a module of
`bot/features/<name>/` imports from fmbot only `bot.plugin` (its submodules included: what a
feature needs of the core, by area) and its own folder. Every import counts, those under
TYPE_CHECKING and inside functions included, so a name a feature annotates with is reached
through the API too. import-linter holds the same for run-time imports (pyproject.toml, "fmbot's
own features import from fmbot only bot.plugin and their own folder"); this check names each
offending import by module and line.

The imports still allowed are listed in `EXCEPTIONS`, each with why; the list only shrinks."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from tests.architecture.sources import GROUP, tree
from tests.architecture.test_core_names_no_feature import BOT, module_name
from tests.conftest import REPO_ROOT

pytestmark = GROUP

FEATURES = BOT / "features"

# (importing module, imported module) -> why. `fmbot eval` runs the deployment's bot against
# the test kit's in-memory Telegram, so that a simulated customer reaches no real chat: the
# kit is public, but above the feature API, which cannot re-export it.
EXCEPTIONS = {
    ("bot.features.evaluation.evalbot", "bot.testing.telegram"): "the in-memory Telegram",
}

CONTRACT = "fmbot's own features import from fmbot only bot.plugin and their own folder"


def feature_folders() -> list[Path]:
    return sorted(path for path in FEATURES.iterdir()
                  if path.is_dir() and (path / "__init__.py").is_file())


def imports_of(path: Path, source: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every import in `source` (the module at `path`), relative imports
    resolved, names imported from a package counted as that package's."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found = []
    for node in ast.walk(source):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def allowed(module: str, feature: str) -> bool:
    """Whether a module of feature `feature` may import `module`."""
    if module != "bot" and not module.startswith("bot."):
        return True  # the standard library and third-party packages: not this check's
    own = f"bot.features.{feature}"
    return any(module == root or module.startswith(root + ".") for root in ("bot.plugin", own))


def offending(folder: Path, source_of: dict[Path, ast.Module] | None = None) -> list[str]:
    """`module:line imported` for each import of fmbot's internals in the feature `folder`."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        source = source_of[path] if source_of and path in source_of else tree(path)
        importer = module_name(path)
        for line, module in imports_of(path, source):
            if not allowed(module, folder.name) and (importer, module) not in EXCEPTIONS:
                found.append(f"{importer}:{line} {module}")
    return found


def test_every_feature_imports_fmbot_only_through_the_feature_api() -> None:
    found = [line for folder in feature_folders() for line in offending(folder)]
    assert found == [], (
        "these imports reach fmbot's internals from a feature: import the name from "
        "bot.plugin's facade for its area (add it there if it is missing)\n" + "\n".join(found))


def test_each_exception_is_still_an_import() -> None:
    seen = {(module_name(path), module)
            for folder in feature_folders() for path in folder.rglob("*.py")
            for _, module in imports_of(path, tree(path))}
    assert set(EXCEPTIONS) - seen == set(), "no longer imported: take it off EXCEPTIONS"


def test_the_check_sees_what_it_looks_for() -> None:
    """A check that cannot fail is a defect."""
    folder = FEATURES / "voice"
    path = folder / "handlers.py"
    source = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import aiogram\n"
        "from bot.plugin.telegram import Deps\n"
        "from bot.features.voice.texts import VOICE_TEXTS\n"
        "from . import policy\n"
        "if TYPE_CHECKING:\n"
        "    from bot.telegram.deps import say\n"
        "def f():\n"
        "    import bot.storage.database\n"
        "    from bot import App\n"
        "    from bot.features.desk import domain\n"
        "    from ..desk import storage\n")
    found = offending(folder, {path: source})
    assert found == ["bot.features.voice.handlers:7 bot.telegram.deps",
                     "bot.features.voice.handlers:9 bot.storage.database",
                     "bot.features.voice.handlers:10 bot",
                     "bot.features.voice.handlers:11 bot.features.desk",
                     "bot.features.voice.handlers:12 bot.features.desk"]


def test_the_import_contract_names_every_feature_and_every_internal_module() -> None:
    """The import-linter contract covers a feature folder or a module of bot/ added later."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"]
                  if c["name"] == CONTRACT]
    assert set(contract["source_modules"]) == {
        f"bot.features.{folder.name}" for folder in feature_folders()}
    top = {f"bot.{path.stem}" for path in BOT.iterdir()
           if (path.suffix == ".py" and path.stem != "__init__")
           or (path.is_dir() and (path / "__init__.py").is_file())}
    assert top - {"bot.plugin", "bot.features"} == set(contract["forbidden_modules"]) - {
        "bot.features.installed", "bot.features.settings"}
    listed = {f"{a} -> {b}" for a, b in EXCEPTIONS}
    assert set(contract.get("ignore_imports", [])) == listed
