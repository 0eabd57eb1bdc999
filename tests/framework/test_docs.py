"""The documentation site builds with warnings as errors, offline, and a public name without
a docstring is one of those errors; the built site is what a reader should get."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.timeout(120)]


HOOK = REPO_ROOT / "docs" / "hooks" / "docstrings.py"


def docstring_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fmbot_docstring_hook", HOOK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text_of(page: Path) -> str:
    return re.sub(r"<[^>]+>", "", page.read_text())


@pytest.mark.build
def test_mkdocs_build_strict_passes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=100,
        # Material prints a banner about MkDocs 2 on every build; it is no warning of ours.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    reference = text_of(site / "reference" / "index.html")
    for name in ("App", "ToolContext", "AnswerEvent", "include_router", "idempotency_key"):
        assert name in reference, name
    # One signature per method: the typing @overload stubs of App.tool and App.context are not
    # shown beside the implementation.
    assert "function: F" not in reference
    assert "function: CP" not in reference
    # The docstring hook is build machinery, not a page.
    assert not (site / "hooks").exists()
    assert not list(site.rglob("*.py"))
    # A reader starts from an install page, and code is highlighted (Pygments spans).
    assert "pip install -e ." in text_of(site / "install" / "index.html")
    assert '<span class="' in (site / "tools" / "index.html").read_text()


@pytest.mark.slow
def test_every_public_name_has_a_docstring() -> None:
    assert docstring_hook().missing_docstrings() == []


@pytest.mark.build
def test_a_public_name_without_a_docstring_is_caught(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "bot", tmp_path / "bot",
                    ignore=shutil.ignore_patterns("__pycache__"))
    app = tmp_path / "bot" / "app" / "__init__.py"
    source = app.read_text()
    doc = '        """The plugins set up so far, by name."""\n'
    assert doc in source
    app.write_text(source.replace(doc, "        ...\n"))
    # In a process of its own: in this one griffe finds the `bot` already on the path.
    check = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('hook', {str(HOOK)!r})\n"
        "hook = importlib.util.module_from_spec(spec); spec.loader.exec_module(hook)\n"
        f"print(hook.missing_docstrings(__import__('pathlib').Path({str(tmp_path)!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "['bot.App.plugins']", result.stderr


def test_the_tools_guide_example_is_a_valid_tools_file(tmp_path: Path) -> None:
    from bot.features.tools.toolsfile import read_tools_file

    guide = (REPO_ROOT / "docs" / "tools.md").read_text()
    (example,) = re.findall(r"```toml\n(.*?)```", guide, re.S)
    path = tmp_path / "tools.toml"
    path.write_text(example)
    parsed = read_tools_file(path, {"SHOP_TOKEN": "t", "MCP_KEY": "k"})
    assert [action.name for action in parsed.http] == ["order_status", "open_ticket"]
    assert list(parsed.mcp) == ["tracker"]


def test_the_testing_guide_describes_every_field_of_model_request() -> None:
    from dataclasses import fields

    from bot.testing import ModelRequest

    guide = (REPO_ROOT / "docs" / "testing.md").read_text()
    table = guide.split("| `ModelRequest` field |", 1)[1].split("\n\n", 1)[0]
    described = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", table, re.M))
    assert set(described) == {field.name for field in fields(ModelRequest)}
    assert all(len(text.split()) >= 4 for text in described.values()), described


def test_the_readme_shows_the_example_as_it_is() -> None:
    """The README's 30-line example is examples/mybot.py, which examples/tests runs."""
    example = (REPO_ROOT / "examples" / "mybot.py").read_text(encoding="utf-8")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert example in readme
    assert len(example.splitlines()) <= 31
