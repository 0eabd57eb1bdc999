"""`fmbot new` makes a project a fresh virtual environment can install and test on its own:
its dependency is the fmbot it was made by (here: this checkout, by a PEP 508 direct
reference), resolved with everything else from the package index, with nothing borrowed from
this environment. Its README's commands, as printed, then pass its tests. A project made with
`--fmbot <folder>` elsewhere (a copy of fmbot's sources, not this checkout) installs fmbot
from that folder, and passes too.

It installs with uv when uv is there (`scripts/test` installs it: about 25 s, most of it
building fmbot's wheel from this checkout), else with pip as the README prints it (about 95 s
on a 2-core machine). Both resolve the same `pyproject.toml`."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.framework.sources import copy_sources

# Downloads from the package index (fmbot's dependencies) unless cached: slow, and in CI. Not
# in the wheel tests' xdist group: it builds its own venv, and beside them it would lengthen
# the suite's longest worker.
pytestmark = [pytest.mark.build, pytest.mark.timeout(600)]


def run(*args: str | Path, cwd: Path) -> str:
    # Nothing of this environment leaks in: no PYTHONPATH, no VIRTUAL_ENV.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=540)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def install(project: Path, env_dir: Path) -> Path:
    """A fresh venv in `env_dir` with `project` installed (editable, with its test extra) and
    everything it depends on resolved from the package index; the venv's python."""
    uv = importlib.util.find_spec("uv") is not None
    venv.EnvBuilder(with_pip=not uv).create(env_dir)
    python = env_dir / "bin" / "python"
    if uv:
        run(sys.executable, "-m", "uv", "pip", "install", "-q", "--python", python, "-e",
            ".[test]", cwd=project)
    else:
        run(python, "-m", "pip", "install", "-q", "-e", ".[test]", cwd=project)
    return python


def passes_its_tests(python: Path, project: Path) -> None:
    said = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert " passed" in said, said
    assert "failed" not in said, said


def test_a_new_project_installs_and_passes_its_tests_in_a_fresh_venv(tmp_path: Path) -> None:
    said = run(sys.executable, "-m", "bot", "new", "shop_bot", "--template", "support",
               cwd=tmp_path)
    assert "shop_bot/tests/test_app.py" in said, "it names what it created"
    project = tmp_path / "shop_bot"
    assert (project / "kb" / "delivery.md").is_file()
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"fmbot @ {REPO_ROOT.resolve().as_uri()}"' in pyproject
    env_dir = tmp_path / "venv"
    python = install(project, env_dir)
    # fmbot came from this checkout's wheel, not from this environment's editable install.
    where = run(python, "-c", "import bot; print(bot.__file__)", cwd=tmp_path)
    assert where.strip().startswith(str(env_dir)), where
    passes_its_tests(python, project)


def test_a_project_made_with_fmbot_elsewhere_installs_from_there(tmp_path: Path) -> None:
    """`fmbot new --fmbot <folder>`, the folder a copy of fmbot's sources away from this
    checkout (as a colleague's clone, or a server's): the project depends on that folder,
    and a fresh venv installs fmbot from it, not from this checkout, and passes the
    project's tests."""
    elsewhere = copy_sources(tmp_path / "elsewhere" / "fmbot")
    run(sys.executable, "-m", "bot", "new", "shop_bot", "--fmbot", elsewhere, cwd=tmp_path)
    project = tmp_path / "shop_bot"
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"fmbot @ {elsewhere.resolve().as_uri()}"' in pyproject
    assert REPO_ROOT.resolve().as_uri() not in pyproject
    env_dir = tmp_path / "venv"
    python = install(project, env_dir)
    # Installed (not editable) from the copy: PEP 610's record of where it came from.
    origin = run(python, "-c", "import importlib.metadata as m; "
                 "print(m.distribution('fmbot').read_text('direct_url.json'))", cwd=tmp_path)
    assert json.loads(origin)["url"] == elsewhere.resolve().as_uri(), origin
    where = run(python, "-c", "import bot; print(bot.__file__)", cwd=tmp_path)
    assert where.strip().startswith(str(env_dir)), where
    passes_its_tests(python, project)
