"""A feature lives in one folder (`bot/features/<name>/`) and the rest of `bot/` names none:
no module outside a feature's folder imports one. The modules directly in `bot/features/`
are the exception: they list the features (the turn's, the command line's) for the core to
ask, and hold what several features share (who asks).

The modules of the core that still import a feature are listed in `NOT_YET_MOVED`, a list
that only shrinks: a new module naming a feature fails, and so does an
entry that no longer names one (take it off the list).

The test kit (bot/testing) sits above the features, as the command line does (the layers
contract in pyproject.toml): `ABOVE_THE_FEATURES` names the one feature it imports, and why."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.architecture.sources import GROUP, tree

pytestmark = GROUP

BOT = Path(__file__).resolve().parents[2] / "bot"


# The core's modules that still import a feature's (issue: features as components): none
# since the composition root asks bot/features/build.py. None may join it.
NOT_YET_MOVED: frozenset[str] = frozenset()

# (package above the features, the feature it imports) -> why. Not the core: it runs a whole
# App, features and all. The list only shrinks.
ABOVE_THE_FEATURES = {
    ("bot.testing", "bot.features.evaluation"): (
        "`BotTester.simulate` runs one case of `fmbot eval` on the evaluation feature's engine, "
        "and `bot.testing` re-exports its case file (`Case`, `CaseFile`, `read_cases`) and "
        "`Run` to plugin authors"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, tree: ast.AST) -> list[str]:
    """Every module `path` imports, relative imports resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.append(".".join([*base, *([node.module] if node.module else [])]))
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def is_feature(module: str) -> bool:
    """In a feature's folder: a package under bot/features/."""
    parts = module.split(".")
    return (parts[:2] == ["bot", "features"] and len(parts) > 2
            and (BOT / "features" / parts[2]).is_dir())


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def allowed_above(importer: str, module: str) -> bool:
    """Whether `importer`, above the features, may import the feature's `module`."""
    return any(within(importer, above) and within(module, feature)
               for above, feature in ABOVE_THE_FEATURES)


def naming_a_feature(*, allowed: bool = False) -> dict[str, list[str]]:
    """The modules of the core (outside the features' code) that import a feature; with
    `allowed`, only the imports `ABOVE_THE_FEATURES` allows."""
    found: dict[str, list[str]] = {}
    for path in sorted(BOT.rglob("*.py")):
        if is_feature(module_name(path)) or module_name(path).startswith("bot.features"):
            continue  # a feature's own code, or the list of them
        names = sorted({m for m in imported(path, tree(path))
                        if is_feature(m) and allowed_above(module_name(path), m) == allowed})
        if names:
            found[str(path.relative_to(BOT.parent))] = names
    return found


def test_no_module_outside_the_features_names_one_beyond_those_not_yet_moved() -> None:
    found = naming_a_feature()
    new = {path: names for path, names in found.items() if path not in NOT_YET_MOVED}
    assert not new, (
        "these modules name a feature; give the feature a hook (TurnFeature, TelegramFeature,"
        f" BotService, AfterDelivery) instead: {new}"
    )


def test_the_list_of_modules_not_yet_moved_only_shrinks() -> None:
    found = naming_a_feature()
    done = sorted(NOT_YET_MOVED - set(found))
    assert not done, f"these no longer name a feature: take them off NOT_YET_MOVED: {done}"


def test_each_package_above_the_features_still_imports_its_feature() -> None:
    seen = {(above, feature) for path, names in naming_a_feature(allowed=True).items()
            for above, feature in ABOVE_THE_FEATURES
            if within(module_name(BOT.parent / path), above)
            and any(within(m, feature) for m in names)}
    assert set(ABOVE_THE_FEATURES) - seen == set(), "no longer imported: take it off the list"


def test_the_scan_sees_what_it_looks_for() -> None:
    """A check that cannot fail is a defect: the scan finds each way of naming a feature."""
    assert is_feature("bot.features.images.service")
    assert is_feature("bot.features.knowledge")
    assert is_feature("bot.features.knowledge.base")
    assert not is_feature("bot.features")
    assert not is_feature("bot.features.commands")
    assert not is_feature("bot.features.cli")
    assert not is_feature("bot.featuresque.voice")
    tree = ast.parse("from bot.features.images.delivery import ImageDelivery\n"
                     "import bot.features.knowledge.base\nfrom ..features.vision import feature\n"
                     "from bot.features import turn_features\n")
    names = [m for m in imported(BOT / "telegram" / "app.py", tree) if is_feature(m)]
    assert names == ["bot.features.images.delivery", "bot.features.knowledge.base",
                     "bot.features.vision"]
    assert allowed_above("bot.testing.simulation", "bot.features.evaluation.runner")
    assert not allowed_above("bot.testing.simulation", "bot.features.desk.domain")
    assert not allowed_above("bot.telegram.app", "bot.features.evaluation.cases")
    assert not allowed_above("bot.testingque", "bot.features.evaluation")
