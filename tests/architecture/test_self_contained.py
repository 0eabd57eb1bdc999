"""The suite runs in a clone with nothing beside it: no test, benchmark or fixture path may point
outside the repository (issue 27: a recorded fixture read from `../shared` failed four tests in a
lone clone)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import FIXTURES, REPO_ROOT

# Ways a path leaves the repository: the root's parent, a relative climb, an absolute path to
# the developers' shared folder.
ESCAPES = re.compile(
    r"""(?:ROOT|REPO_ROOT|root)\.parent\b(?!\s*/\s*["'](?:bot|tests|bench|migrations))"""
    r"""|["']\.\./|/work/shared|["']shared["']\s*/"""
    r"""|parent\.parent\.parent"""
)


def _sources() -> list[Path]:
    return [
        path
        for folder in ("tests", "bench", "examples", "scripts")
        if (REPO_ROOT / folder).is_dir()
        for path in sorted((REPO_ROOT / folder).rglob("*"))
        if path.suffix in {".py", ""} and path.is_file() and "fixtures" not in path.parts
    ]


def test_fixtures_live_in_the_repository() -> None:
    assert FIXTURES.resolve().is_relative_to(REPO_ROOT)
    assert (FIXTURES / "LICENSE").is_file(), "the recordings' Apache-2.0 licence travels with them"
    assert len(list((FIXTURES / "rest").rglob("*.json"))) >= 16
    assert len(list((FIXTURES / "openai-compatible").rglob("*.yaml"))) >= 1


def test_no_test_or_bench_path_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if ESCAPES.search(line) and path.name != "test_self_contained.py"
    ]
    assert offenders == []


def test_the_guard_catches_the_old_fixture_path() -> None:
    """The pattern above would have caught the path that broke a lone clone."""
    assert ESCAPES.search('SHARED = REPO_ROOT.parent / "shared"')
    assert ESCAPES.search('Path("../shared/fixtures")')
    assert not ESCAPES.search("ROOT = Path(__file__).resolve().parent.parent")
