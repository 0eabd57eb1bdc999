"""A feature's texts are loaded one way: the composition root imports the modules its
`Feature.texts` names (bot.features.installed.load_texts, from bot/wiring/core.py), whose
import registers them with the Translator (`register_texts`). No module of bot/ forces a texts
module's import with `assert SOME_TEXTS`, and none but `register_texts` writes the
Translator's table (`TEXTS.update`, `TEXTS[...] = `): the core's own texts are one table,
bot/telegram/texts.py."""

from __future__ import annotations

import re
from pathlib import Path

from tests.architecture.sources import GROUP

pytestmark = GROUP

BOT = Path(__file__).resolve().parents[2] / "bot"
FEATURES = BOT / "features"
# The one writer of the Translator's table.
REGISTER = BOT / "plugin" / "texts.py"

SECOND_WAY = re.compile(
    r"^\s*assert [A-Z][A-Z0-9_]*_TEXTS\b|^\s*TEXTS\.update\(|^\s*TEXTS\[.*\]\s*=", re.MULTILINE)


def second_ways(text: str) -> list[str]:
    return [match.group(0).strip() for match in SECOND_WAY.finditer(text)]


def test_no_module_forces_or_writes_texts_past_feature_texts() -> None:
    found = {str(path.relative_to(BOT.parent)): lines
             for path in sorted(BOT.rglob("*.py")) if path != REGISTER
             if (lines := second_ways(path.read_text(encoding="utf-8")))}
    assert not found, (
        "name the texts module in the Feature's `texts` and register with `register_texts` "
        f"there; the composition root imports it before any text is said: {found}")


def test_every_features_texts_modules_register_texts() -> None:
    """Each module a feature's `texts` names registers through `register_texts`."""
    from bot.features.installed import FEATURES as LIST

    for feature in LIST:
        for module in feature.texts:
            path = BOT.parent / (module.replace(".", "/") + ".py")
            assert "register_texts(" in path.read_text(encoding="utf-8"), module


def test_the_check_finds_each_second_way() -> None:
    """A check that cannot fail is a defect."""
    code = ("from bot.features.voice.texts import VOICE_TEXTS\n"
            "assert VOICE_TEXTS  # registers the texts with the Translator\n"
            "TEXTS.update(IMAGE_TEXTS)\n"
            'TEXTS["kb_usage"] = {"en": "..."}\n'
            "register_texts(KB_TEXTS)\n"
            "assert texts\n")
    assert second_ways(code) == ["assert VOICE_TEXTS", "TEXTS.update(", 'TEXTS["kb_usage"] =']
