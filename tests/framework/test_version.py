"""The version is written once (bot/__init__.py) and the installed package reports it."""

from __future__ import annotations

import tomllib
from importlib.metadata import version

import bot
from tests.conftest import REPO_ROOT


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert version("fmbot") == bot.__version__
