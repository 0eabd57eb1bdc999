"""`fmbot new NAME [--template chat|support|helpdesk] [--fmbot SPEC]`: a new bot project in
the folder NAME.

It holds `pyproject.toml` (depending on fmbot: `--fmbot`, else the fmbot running it),
`NAME/app.py` on the public API, `.env.example`, `tests/test_app.py` testing the bot with
`bot.testing` (green as written), a README with the commands to test and run it, and for
`support` and `helpdesk` a knowledge-base folder (`kb/`) and the model's tools
(`NAME/tools.py`) with a worked example of a read and of a change confirmed by the user.
Nothing is ever overwritten: an existing folder is refused.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import keyword
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.scaffold import templates as t

TEMPLATES = ("chat", "support", "helpdesk")


class ScaffoldError(Exception):
    """The project cannot be created; the message says why."""


def fmbot_requirement(extra: str = "", spec: str = "") -> str:
    """What the new project depends on. `spec` (`fmbot new --fmbot SPEC`): a requirement
    (`fmbot>=0.3,<0.4`, `fmbot @ git+https://...`), or where fmbot is: a URL (`git+https://
    ...@v0.3.0`, a wheel's) or a folder. Otherwise the fmbot this command runs from: a release
    from an index as a version range (any later release of the same series installs); a clone
    or an editable install as a direct reference to its folder (`fmbot @ file:///...`: it
    exists on this machine only, the README says how to change it); an install from a URL
    (PEP 610's direct_url.json: a wheel, a git checkout) that URL."""
    name = f"fmbot[{extra}]" if extra else "fmbot"
    if spec:
        return _from_spec(name, spec)
    source = Path(__file__).resolve().parent.parent.parent
    pyproject = source / "pyproject.toml"
    if pyproject.is_file() and 'name = "fmbot"' in pyproject.read_text(encoding="utf-8"):
        return f"{name} @ {source.as_uri()}"
    for dist in importlib.metadata.distributions(name="fmbot"):
        direct = dist.read_text("direct_url.json")
        if not direct:
            continue
        info = json.loads(direct)
        url = str(info.get("url", ""))
        vcs = info.get("vcs_info")
        if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
            url = f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
        if url:
            return f"{name} @ {url}"
    from bot.version import __version__

    return name + release_range(__version__)


def release_range(version: str) -> str:
    """The versions a project made by `version` accepts: this one up to the next series
    that may break it (0.3.x -> <0.4 before 1.0, 1.2.x -> <2 after)."""
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")[:2]] + [0, 0]
    major, minor = parts[0], parts[1]
    upper = f"{major}.{minor + 1}" if major == 0 else str(major + 1)
    return f">={version},<{upper}"


def _from_spec(name: str, spec: str) -> str:
    spec = spec.strip()
    if spec.startswith("fmbot"):  # a requirement: give it the extra
        rest = spec.removeprefix("fmbot")
        if rest.startswith("["):
            rest = rest[rest.index("]") + 1:]
        return f"{name}{rest}"
    if "://" in spec:
        return f"{name} @ {spec}"
    folder = Path(spec).expanduser().resolve()
    if not (folder / "pyproject.toml").is_file():
        raise ScaffoldError(f"--fmbot {spec}: not a requirement (fmbot>=0.3), a URL "
                            "(git+https://...) or a folder holding fmbot's pyproject.toml")
    return f"{name} @ {folder.as_uri()}"


def support_suite() -> str:
    """The simulated customers of the support template (fmbot's examples/eval/support.toml,
    shipped in the package), its paths as the new project has them."""
    from importlib.resources import files

    text = files("bot.scaffold").joinpath("eval/support.toml").read_text(encoding="utf-8")
    return text.replace("examples/eval/", "eval/")


def project_files(name: str, template: str, fmbot: str = "") -> dict[str, str]:
    """Each file's path in the project and its text; `fmbot`: `--fmbot SPEC`."""
    from bot.version import __version__

    values = {"name": name, "template": template, "version": __version__,
              "fmbot": fmbot_requirement(spec=fmbot),
              "fmbot_testing": fmbot_requirement("testing", fmbot),
              "env_extra": "", "readme_extra": ""}
    files = {"pyproject.toml": t.PYPROJECT, ".env.example": t.ENV_EXAMPLE,
             "README.md": t.README, f"{name}/__init__.py": t.INIT}
    if template == "chat":
        files |= {f"{name}/app.py": t.CHAT_APP, "tests/test_app.py": t.CHAT_TEST}
    else:
        kit = t.SUPPORT if template == "support" else t.HELPDESK
        values |= kit
        values["env_extra"] = (
            "# The knowledge base: the documents the bot answers from (strict: only from them).\n"
            "KB_PATH=kb\nKB_MODE=strict\n"
            "# A support group (a forum) where people take conversations over: its chat id.\n"
            "# SUPPORT_CHAT_ID=\n"
        )
        values["readme_extra"] = (
            f"\n\nThe knowledge base is `kb/` (add Markdown, PDF or DOCX files); the model's "
            f"tools are in `{name}/tools.py`: replace the stand-in data with calls to your "
            f"systems."
        )
        files |= {f"{name}/app.py": t.KB_APP, f"{name}/tools.py": kit["tools"],
                  f"kb/{kit['kb_file']}": kit["kb_text"], "tests/test_app.py": t.KB_TEST}
        if template == "helpdesk":
            files |= {f"kb/{path}": text for path, text in t.HELPDESK_KB.items()}
            files["tests/test_app.py"] += t.HELPDESK_TEST
            values["env_extra"] += t.HELPDESK_ENV
            values["readme_extra"] += t.HELPDESK_README
        if template == "support":
            files["eval/support.toml"] = support_suite()
            values["readme_extra"] += t.README_EVAL.replace("{{name}}", name)
    rendered = {}
    for path, text in files.items():
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        rendered[path] = text
    return rendered


def check_name(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or name != name.lower():
        raise ScaffoldError(
            f"{name!r} is not a project name: use lower-case letters, digits and _, starting "
            "with a letter (it is the Python package's name too), e.g. shop_bot"
        )
    if name in ("bot", "tests", "test", "kb") or name in sys.stdlib_module_names:
        raise ScaffoldError(f"{name!r} is taken (by fmbot, Python or the project's folders): "
                            "choose another name")


def create(name: str, template: str, where: Path, fmbot: str = "") -> list[Path]:
    """Write the project `where/name`; the files created, in order. `fmbot`: what it
    depends on (`--fmbot SPEC`; empty: the fmbot running this)."""
    check_name(name)
    if template not in TEMPLATES:
        raise ScaffoldError(f"unknown template {template!r} (choose {', '.join(TEMPLATES)})")
    root = where / name
    if root.exists():
        raise ScaffoldError(f"{root} already exists: nothing was written (choose another name "
                            "or remove it)")
    files = project_files(name, template, fmbot)
    created = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:  # "x": never overwrite
            file.write(text)
        created.append(path)
    return created


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="fmbot new", description="Create a new bot project in the folder NAME."
    )
    parser.add_argument("name", metavar="NAME", help="the project's (and its package's) name")
    parser.add_argument("--template", choices=TEMPLATES, default="chat",
                        help="chat (default), support or helpdesk (with a knowledge base and "
                        "tools)")
    parser.add_argument("--fmbot", metavar="SPEC", default="",
                        help="what the project depends on: a requirement (fmbot>=0.3,<0.4), a "
                        "URL (git+https://...@v0.3.0) or a folder; default: this fmbot")
    args = parser.parse_args(list(argv))
    try:
        created = create(args.name, args.template, Path.cwd(), args.fmbot)
    except (ScaffoldError, OSError) as exc:
        print(f"fmbot new: {exc}", file=sys.stderr)
        return 2
    print(f"Created {args.name}/ ({args.template}):")
    for path in created:
        print(f"  {path.relative_to(Path.cwd())}")
    requirement = fmbot_requirement(spec=args.fmbot)
    if "file://" in requirement:
        # It installs here, not on a colleague's machine or a server: say so now.
        print(f"\nIt depends on {requirement}, a folder on this machine: to install it "
              "elsewhere, change that line of pyproject.toml (README.md says how) or run "
              "`fmbot new` with --fmbot SPEC.")
    print(f"\nNext (in a virtual environment):\n  cd {args.name}\n"
          f"  pip install -e '.[test]'\n  pytest\n  fmbot run --app {args.name}.app:app")
    return 0
