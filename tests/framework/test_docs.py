"""The documentation site builds with warnings as errors, offline, and a public name without
a docstring is one of those errors."""

from __future__ import annotations

import importlib.util
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


def test_mkdocs_build_strict_passes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--site-dir", str(tmp_path / "site")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reference = (tmp_path / "site" / "reference" / "index.html").read_text()
    for name in ("App", "ToolContext", "AnswerEvent", "include_router", "idempotency_key"):
        assert name in reference, name


def test_every_public_name_has_a_docstring() -> None:
    assert docstring_hook().missing_docstrings() == []


def test_a_public_name_without_a_docstring_is_caught(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "bot", tmp_path / "bot",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    app = tmp_path / "bot" / "app.py"
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
                            text=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "['bot.App.plugins']", result.stderr
