"""No module outside a feature reads a feature by name: not only no import of it
(test_core_names_no_feature.py), but no feature's section of the settings or part of a
registry read by its name (`settings.desk`, `core.features.knowledge`) and no key of a
feature's texts (`"kb_synced"`). The core reaches the
features through the list of them (bot/features/installed.py) and the features' API.

What still reads one is listed in `NOT_YET_MOVED`, with why; the list only shrinks: a new read
fails, and so does an entry that no longer reads what it lists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
FEATURES = BOT / "features"

# Where features are named on purpose: the list of them and the composed settings (each
# section a field).
LISTS = {"bot/features/installed.py", "bot/features/settings.py", "bot/features/__init__.py"}

# module -> the reads it still makes (each the attribute or text key), and why: none since
# every feature declares what the core used to read of it. None may join.
NOT_YET_MOVED: dict[str, set[str]] = {}


def feature_names() -> set[str]:
    """The features' folder names (and so their settings attributes: `settings.voice`)."""
    return {path.name for path in FEATURES.iterdir()
            if path.is_dir() and (path / "feature.py").exists()}


def text_keys() -> set[str]:
    """The keys of the texts each feature registers (its Feature's `texts` modules)."""
    from bot.features.installed import FEATURES as LISTED

    keys: set[str] = set()
    for feature in LISTED:
        for module_name in feature.texts:
            module = importlib.import_module(module_name)
            for name, value in vars(module).items():
                if name.endswith("_TEXTS") and isinstance(value, dict):
                    keys |= set(value)  # {key: {language: text}}
    return keys


# What holds the features by name: the settings (a section each) and a registry of the built
# features (the former `core.features.knowledge`).
HOLDERS = {"settings", "features"}


def _holder(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def reads(source: str, names: set[str], keys: set[str]) -> set[str]:
    """What `source` reads of the features by name: `names` read off the settings or a
    registry of features (`settings.desk`, `core.features.knowledge`), and the string
    constants of `keys` (their texts' keys). A name read off anything else is Telegram's or
    Yandex's (`message.voice`, a request's `tools`), not a feature's."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Attribute) and node.attr in names
                and _holder(node.value) in HOLDERS):
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in keys:
            found.add(node.value)
    return found


def outside_the_features() -> list[Path]:
    return [path for path in sorted(BOT.rglob("*.py"))
            if not (path.is_relative_to(FEATURES) and path.parent != FEATURES)
            and str(path.relative_to(BOT.parent)) not in LISTS]


def test_no_module_outside_the_features_reads_one_by_name() -> None:
    names = feature_names()
    keys = text_keys()
    found = {}
    for path in outside_the_features():
        read = reads(path.read_text(), names, keys)
        if read:
            found[str(path.relative_to(BOT.parent))] = read
    new = {path: read - NOT_YET_MOVED.get(path, set()) for path, read in found.items()}
    assert {path: read for path, read in new.items() if read} == {}, (
        "these modules read a feature by name; give the feature a part of its Feature object "
        "(bot/plugin) instead")
    gone = {path: listed - found.get(path, set()) for path, listed in NOT_YET_MOVED.items()}
    assert {path: names for path, names in gone.items() if names} == {}, (
        "these no longer read what NOT_YET_MOVED lists: take them off the list")


def test_the_read_check_sees_what_it_looks_for() -> None:
    """A check that cannot fail is a defect."""
    assert feature_names() >= {"voice", "desk", "knowledge", "tools", "vision"}
    source = ("x = core.features.knowledge\ny = self.settings.voice.replies\n"
              "z = t('kb_synced')\nw = settings.text_model\nv = message.voice\n"
              "u = ground.settings.desk.chat_id\n")
    assert reads(source, feature_names(), {"kb_synced"}) == {"knowledge", "voice", "kb_synced",
                                                             "desk"}
    assert not any(path.is_relative_to(FEATURES / "voice") for path in outside_the_features())
    assert BOT / "plugin" / "feature.py" in outside_the_features()


# The words of the features' concepts a key of the core's texts may not hold: the core's
# texts say what every bot says, and each feature's texts live in its folder (its Feature's
# `texts`): /help's lines of photos, voice and documents, /image's menu entry and budget,
# the /stats lines of images, photos and voice.
FEATURE_WORDS = ("image", "photo", "voice", "document", "kb")
CORE_TEXTS = BOT / "telegram" / "texts.py"


def core_text_keys(source: str) -> set[str]:
    """The keys of the texts and menu entries `source` defines (`TEXTS`, `COMMANDS`)."""
    keys: set[str] = set()
    for node in ast.parse(source).body:
        target = (node.targets[0] if isinstance(node, ast.Assign)
                  else node.target if isinstance(node, ast.AnnAssign) else None)
        if (isinstance(target, ast.Name) and target.id in {"TEXTS", "COMMANDS"}
                and isinstance(node.value, ast.Dict)):
            keys |= {key.value for key in node.value.keys
                     if isinstance(key, ast.Constant) and isinstance(key.value, str)}
    return keys


def naming_a_feature(keys: set[str]) -> set[str]:
    return {key for key in keys if any(word in key for word in FEATURE_WORDS)}


def test_the_cores_texts_name_no_features_concept() -> None:
    keys = core_text_keys(CORE_TEXTS.read_text())
    assert {"start", "help", "stats_user", "help_takes", "reset"} <= keys  # the scan works
    assert naming_a_feature(keys) == set(), (
        "these texts are a feature's: register them from its folder (its Feature's `texts`)")
    assert keys & text_keys() == set(), "a feature's text defined again by the core"


def test_the_texts_check_sees_what_it_looks_for() -> None:
    source = ('TEXTS: dict[str, dict[str, str]] = {"help_takes_photos": {}, "start": {}}\n'
              'COMMANDS = {"image": {}, "help": {}}\nOTHER = {"voice": {}}\n')
    keys = core_text_keys(source)
    assert keys == {"help_takes_photos", "start", "image", "help"}
    assert naming_a_feature(keys) == {"help_takes_photos", "image"}
