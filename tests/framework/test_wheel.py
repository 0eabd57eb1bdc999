"""`pip install fmbot` from a built wheel, in a fresh virtual environment elsewhere.

Offline: the wheel is built from a copy of the sources with this environment's setuptools
(`--no-build-isolation`), and installed with `--no-deps` into a new venv made without pip.
fmbot's dependencies are not downloaded: a `.pth` file in the new venv points at this
environment's site-packages, after the venv's own (a folder a `.pth` adds is not a site
folder, so this environment's editable `bot` finder is not loaded: `bot` comes from the
wheel, which the test checks).
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.framework.sources import copy_sources

# One worker builds the wheel and the venv for all of them (--dist loadgroup).
pytestmark = [pytest.mark.build, pytest.mark.timeout(240), pytest.mark.xdist_group("wheel")]


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=150
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = copy_sources(tmp_path_factory.mktemp("source"))
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source,
        cwd=source)
    (found,) = dist.glob("fmbot-*.whl")
    return found


def test_the_wheel_declares_the_extras_and_bounded_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert {"postgres", "redis", "mcp"} <= set(metadata.get_all("Provides-Extra") or [])
    requires = metadata.get_all("Requires-Dist") or []
    for name in ("aiogram", "httpx", "sqlalchemy", "pydantic", "redis"):
        line = next(r for r in requires if r.lower().startswith(name))
        assert "<" in line, f"{line}: unbounded"
    assert "bot/py.typed" in names
    assert any(n.endswith("share/fmbot/migrations/env.py") for n in names)
    assert any(n.endswith("versions/0001_initial_schema.py") for n in names)
    # fmbot's features' own branches, in their folders.
    assert "bot/features/console/migrations/console_0001_console.py" in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)


def test_the_wheel_ships_the_test_kit_not_the_http_fakes(wheel: Path) -> None:
    """bot.testing's in-memory fakes are in the wheel; their loopback servers and control APIs
    (tests/fakes: fmbot's test infrastructure) are not, nor any module serving HTTP."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        kit = {n: archive.read(n).decode() for n in names
               if n.startswith("bot/testing/") and n.endswith(".py")}
    assert {"bot/testing/tester.py", "bot/testing/models.py", "bot/testing/pytest_plugin.py",
            "bot/testing/telegram/session.py", "bot/testing/telegram/users.py",
            "bot/testing/yandex/service.py", "bot/testing/yandex/transport.py"} <= names
    for gone in ("telegram/server.py", "telegram/control.py", "telegram/__main__.py",
                 "telegram/images.py", "yandex/server.py"):
        assert f"bot/testing/{gone}" not in names
    assert not any("fakes/" in n for n in names)
    assert [n for n, text in kit.items() if "from aiohttp import web" in text] == []


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the wheel installed (its dependencies from this environment); its
    folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
        "--disable-pip-version-check", "--no-deps", "--no-index", wheel,
        cwd=env_dir)
    new_site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                        cwd=env_dir).strip())
    (new_site / "zz_fmbot_test_dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    return env_dir


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}


def test_the_wheel_installs_and_runs_in_a_fresh_venv(fresh_venv: Path, tmp_path: Path) -> None:
    env_dir = fresh_venv
    python = env_dir / "bin" / "python"
    work = tmp_path / "work"  # no .env, no checkout on the path
    work.mkdir()
    clean = clean_env()
    where = run(python, "-c", "import bot; print(bot.__file__)", cwd=work, env=clean)
    assert Path(where.strip()).is_relative_to(env_dir), "bot comes from the wheel"
    assert "migrate" in run(python, "-m", "bot", "--help", cwd=work, env=clean)
    help_text = run(python, "-m", "bot", "run", "--help", cwd=work, env=clean)
    assert "--app MODULE:ATTR" in help_text
    database = f"sqlite+aiosqlite:///{work / 'bot.db'}"
    run(python, "-m", "bot", "migrate", cwd=work, env={**clean, "DATABASE_URL": database})
    assert (work / "bot.db").is_file(), "the migrations ship in the wheel"
    imported = run(
        python, "-c", "import shop_support; print(type(shop_support.app).__name__)",
        cwd=work, env={**clean, "PYTHONPATH": str(REPO_ROOT / "examples")},
    )
    assert imported.strip() == "App"


# Four fresh interpreters one after the other, each with its own hang guard (`run`: 150 s):
# the test's bound covers them all, not a speed (240 s cut six short beside a busy loop, the
# functional suite and a second test run, 2026-11-27).
@pytest.mark.timeout(4 * 150)
def test_new_projects_of_the_other_templates_pass_their_own_tests(
    fresh_venv: Path, tmp_path: Path
) -> None:
    """`fmbot new` with the chat and helpdesk templates, then each project's own test command
    (`pytest` in its folder, offline): fmbot and its pytest plugin come from the wheel. The
    support template is installed and tested the way its README says, from the package
    index, by test_new_project.py (here it cost a third of this test's 25 CPU-seconds)."""
    python = fresh_venv / "bin" / "python"
    clean = clean_env()
    projects = {"chat": "chat_bot", "helpdesk": "desk_bot"}
    for template, name in projects.items():
        said = run(python, "-m", "bot", "new", name, "--template", template, cwd=tmp_path,
                   env=clean)
        assert f"{name}/tests/test_app.py" in said, "it names what it created"
    assert (tmp_path / "desk_bot" / "desk_bot" / "tools.py").is_file()
    for name in projects.values():
        tested = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     cwd=tmp_path / name, env=clean)
        assert " passed" in tested, tested
        assert "failed" not in tested, tested
