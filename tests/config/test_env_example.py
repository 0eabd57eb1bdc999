""".env.example and the Settings defaults cannot drift apart (issue 27, item 12e): a copied
`.env.example` configures exactly what the code does without it, every setting is documented
there, and every value it shows as a default is the default."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from bot.features.settings import Settings
from tests.conftest import REPO_ROOT

ENV_EXAMPLE = REPO_ROOT / ".env.example"
FIELDS = Settings.variables()  # each variable, with where it lands (`("voice", "replies")`)
# Commented lines that show another way to set something, not the default.
EXAMPLES = {"YANDEX_SA_KEY_FILE", "YANDEX_USE_METADATA", "SYSTEM_PROMPT", "SYSTEM_PROMPT_FILE",
            "ALLOWED_TEXT_MODELS"}
_LINE = re.compile(
    r"^(?P<comment>#\s*(?:e\.g\.\s+|or\s+)?)?(?P<name>[A-Z][A-Z0-9_]+)=(?P<value>.*)$"
)


def lines() -> list[tuple[bool, str, str]]:
    """(commented, NAME, value) of every NAME=value line, set or shown in a comment."""
    found = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line.strip())
        if match is not None:
            found.append((bool(match["comment"]), match["name"], match["value"]))
    return found


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in FIELDS:
        monkeypatch.delenv(name, raising=False)


def defaults() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def read(settings: Settings, name: str) -> object:
    """The value of variable `name`: a core field's, or a field of a section's."""
    return functools.reduce(getattr, FIELDS[name], settings)


def test_every_setting_is_documented_and_every_name_is_a_setting() -> None:
    named = {name for _, name, _ in lines()}
    assert set(FIELDS) - named == set(), "settings missing from .env.example"
    assert named - set(FIELDS) == set(), ".env.example names what Settings does not read"


@pytest.mark.usefixtures("clean_env")
def test_the_values_set_in_env_example_are_the_defaults() -> None:
    copied = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    default = defaults()
    differing = {
        name: (read(copied, name), read(default, name))
        for name in FIELDS
        if read(copied, name) != read(default, name)
    }
    assert differing == {}


@pytest.mark.usefixtures("clean_env")
def test_commented_values_are_the_defaults_or_marked_examples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = defaults()
    wrong = []
    for commented, name, value in lines():
        if not commented or name in EXAMPLES:
            continue
        monkeypatch.setenv(name, value)
        if read(defaults(), name) != read(default, name):
            wrong.append(f"{name}={value}")
        monkeypatch.delenv(name)
    assert wrong == []


@pytest.mark.usefixtures("clean_env")
def test_fmbot_settings_lists_every_variable_with_its_default(tmp_path: Path) -> None:
    """`fmbot settings` prints every variable the composed settings read, as `.env` lines:
    a file of them configures exactly what no file does."""
    from bot.cli.settings import env_lines

    printed = "\n".join(env_lines(Settings, {}))
    named = [line.split("=", 1)[0] for line in printed.splitlines()
             if line and not line.startswith("#")]
    assert sorted(named) == sorted(FIELDS), "each variable once, none that is not read"
    written = tmp_path / "listed.env"
    written.write_text(printed, encoding="utf-8")
    listed = Settings(_env_file=written)  # type: ignore[call-arg]
    default = defaults()
    assert {name: (read(listed, name), read(default, name)) for name in FIELDS
            if read(listed, name) != read(default, name)} == {}
