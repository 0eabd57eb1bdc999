"""`fmbot new`: the files of each template, names refused with the reason, and nothing ever
overwritten. (Each template's project passing its own tests in a fresh venv is in
tests/framework/test_wheel.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.scaffold import ScaffoldError, create, release_range


def test_each_template_writes_its_files(tmp_path: Path) -> None:
    chat = {p.relative_to(tmp_path).as_posix() for p in create("chat_bot", "chat", tmp_path)}
    assert chat == {"chat_bot/pyproject.toml", "chat_bot/.env.example", "chat_bot/README.md",
                    "chat_bot/chat_bot/__init__.py", "chat_bot/chat_bot/app.py",
                    "chat_bot/tests/test_app.py"}
    support = {p.relative_to(tmp_path).as_posix()
               for p in create("shop_bot", "support", tmp_path)}
    assert {"shop_bot/kb/delivery.md", "shop_bot/shop_bot/tools.py"} <= support
    pyproject = (tmp_path / "shop_bot" / "pyproject.toml").read_text(encoding="utf-8")
    # Run from this checkout: the project depends on it, so a fresh venv can install it.
    checkout = Path(__file__).resolve().parents[2].as_uri()
    assert f'dependencies = ["fmbot @ {checkout}"]' in pyproject
    assert f'test = ["fmbot[testing] @ {checkout}"]' in pyproject
    assert 'fmbot_app = "shop_bot.app:app"' in pyproject
    readme = (tmp_path / "shop_bot" / "README.md").read_text(encoding="utf-8")
    assert "pytest" in readme
    assert "fmbot run --app shop_bot.app:app" in readme
    assert "python -m bot run" not in readme
    test = (tmp_path / "shop_bot" / "tests" / "test_app.py").read_text(encoding="utf-8")
    assert "from bot.testing import BotTester" in test
    assert "{{" not in test
    assert "KB_PATH=kb" in (tmp_path / "shop_bot" / ".env.example").read_text(encoding="utf-8")
    # The internal helpdesk: a folder only HR reads, the sign-in's settings, tools by group.
    desk = {p.relative_to(tmp_path).as_posix() for p in create("desk_bot", "helpdesk", tmp_path)}
    assert {"desk_bot/kb/hr/.access", "desk_bot/kb/hr/vacation.md"} <= desk
    assert "# OIDC_ISSUER=" in (tmp_path / "desk_bot" / ".env.example").read_text(encoding="utf-8")
    tools = (tmp_path / "desk_bot" / "desk_bot" / "tools.py").read_text(encoding="utf-8")
    assert 'approvers="group:it-managers"' in tools
    assert 'groups=["it-admins"]' in tools


def test_nothing_is_overwritten(tmp_path: Path) -> None:
    (tmp_path / "shop_bot").mkdir()
    (tmp_path / "shop_bot" / "mine.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="already exists: nothing was written"):
        create("shop_bot", "support", tmp_path)
    assert [p.name for p in (tmp_path / "shop_bot").iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("name", ["Shop", "shop-bot", "1bot", "bot", "class", "json"])
def test_names_that_cannot_be_a_package_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ScaffoldError):
        create(name, "chat", tmp_path)
    assert not any(tmp_path.iterdir())


def test_the_command_line_names_what_it_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "desk_bot", "--template", "helpdesk"]) == 0
    said = capsys.readouterr().out
    assert "desk_bot/desk_bot/tools.py" in said
    assert "desk_bot/kb/vpn.md" in said
    assert main(["new", "desk_bot"]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["new", "x_bot", "--template", "nope"])


# --- issue 64 item 5: a project that travels --------------------------------------------------
def _dependencies(project: Path) -> tuple[str, str]:
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    runtime = text.split('dependencies = ["', 1)[1].split('"]', 1)[0]
    test = text.split('test = ["', 1)[1].split('"]', 1)[0]
    return runtime, test


@pytest.mark.parametrize(
    ("spec", "runtime", "test"),
    [("fmbot>=0.3,<0.4", "fmbot>=0.3,<0.4", "fmbot[testing]>=0.3,<0.4"),
     ("git+https://git.example.com/team/fmbot@v0.3.0",
      "fmbot @ git+https://git.example.com/team/fmbot@v0.3.0",
      "fmbot[testing] @ git+https://git.example.com/team/fmbot@v0.3.0")],
)
def test_fmbot_spec_sets_what_the_project_depends_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, runtime: str, test: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "shop_bot", "--fmbot", spec]) == 0
    assert _dependencies(tmp_path / "shop_bot") == (runtime, test)
    readme = (tmp_path / "shop_bot" / "README.md").read_text(encoding="utf-8")
    assert f"depends on as\n`{runtime}`" in readme


def test_fmbot_spec_may_be_a_folder_elsewhere(tmp_path: Path) -> None:
    elsewhere = tmp_path / "vendor" / "fmbot"
    elsewhere.mkdir(parents=True)
    (elsewhere / "pyproject.toml").write_text('[project]\nname = "fmbot"\n', encoding="utf-8")
    create("shop_bot", "chat", tmp_path, fmbot=str(elsewhere))
    assert _dependencies(tmp_path / "shop_bot")[0] == f"fmbot @ {elsewhere.as_uri()}"
    with pytest.raises(ScaffoldError, match="--fmbot"):
        create("other_bot", "chat", tmp_path, fmbot=str(tmp_path / "nothing"))


def test_a_release_is_depended_on_as_a_range_of_its_series() -> None:
    assert release_range("0.3.0") == ">=0.3.0,<0.4"
    assert release_range("1.2.5") == ">=1.2.5,<2"


def test_the_readme_says_how_to_change_the_dependency_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "shop_bot"]) == 0  # from this checkout: a folder on this machine
    said = capsys.readouterr().out
    assert "a folder on this machine" in said
    assert "--fmbot SPEC" in said
    readme = (tmp_path / "shop_bot" / "README.md").read_text(encoding="utf-8")
    assert "To install the project on another machine" in readme
    assert "fmbot new shop_bot --fmbot SPEC" in readme


def test_the_projects_pytest_config_sets_the_fixture_loop_scope(tmp_path: Path) -> None:
    """pytest-asyncio 0.24-0.26 warns on every run while it is unset."""
    create("shop_bot", "chat", tmp_path)
    text = (tmp_path / "shop_bot" / "pyproject.toml").read_text(encoding="utf-8")
    assert 'asyncio_default_fixture_loop_scope = "function"' in text


def test_no_doc_installs_the_test_kit_from_an_index() -> None:
    """No release of fmbot is on a package index: `pip install 'fmbot[testing]'` fails."""
    root = Path(__file__).resolve().parents[2]
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert "pip install 'fmbot[testing]'" not in text, doc.name
        assert "pip install fmbot[testing]" not in text, doc.name


def test_the_support_template_brings_the_example_suite_and_the_command_that_runs_it(
    tmp_path: Path,
) -> None:
    from bot.features.evaluation.cases import read_cases

    repo = Path(__file__).resolve().parents[2]
    create("shop_bot", "support", tmp_path)
    suite = tmp_path / "shop_bot" / "eval" / "support.toml"
    example = (repo / "examples" / "eval" / "support.toml").read_text(encoding="utf-8")
    # The package's copy is the example's, paths as the new project has them.
    assert suite.read_text(encoding="utf-8") == example.replace("examples/eval/", "eval/")
    cases = read_cases(suite)
    assert len(cases.case) >= 10
    assert any(case.handoff for case in cases.case)
    # Every stub names one of the template's tools.
    tools = (tmp_path / "shop_bot" / "shop_bot" / "tools.py").read_text(encoding="utf-8")
    stubbed = set(cases.tools) | {name for case in cases.case for name in case.tools}
    assert stubbed
    assert all(f"async def {name}(" in tools for name in stubbed), stubbed
    readme = (tmp_path / "shop_bot" / "README.md").read_text(encoding="utf-8")
    assert "fmbot eval eval/support.toml --app shop_bot.app:app --report eval.html" in readme
    assert "{{" not in readme
    for template in ("chat", "helpdesk"):
        create(f"{template}_bot", template, tmp_path)
        assert not (tmp_path / f"{template}_bot" / "eval").exists()
        assert "fmbot eval" not in (tmp_path / f"{template}_bot" / "README.md").read_text(
            encoding="utf-8")


def _env_example(project: Path) -> dict[str, str]:
    """The settings the project's .env.example gives (KB_PATH made absolute), without the
    credentials and the database, which the tester brings."""
    settings = {}
    for line in (project / ".env.example").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if line.startswith("#") or not value or key in ("DATABASE_URL",):
            continue
        settings[key] = str(project / value) if key == "KB_PATH" else value
    return settings


def _judged(passes: bool) -> str:
    import json

    check = {"holds": passes, "line": 3, "evidence": "the bot's answer"}
    rule = {"holds": False, "line": 0, "evidence": ""}
    return json.dumps({"criteria": [check, check], "must_not": [rule, rule],
                       "resolved": passes, "resolved_line": 3 if passes else 0,
                       "handed_off": False, "handed_off_line": 0})


async def test_the_support_templates_order_case_passes_with_its_own_settings(
    tmp_path: Path,
) -> None:
    """The template writes KB_MODE=strict and ships order_status: its "order status" case is
    answered by the tool, with the template's own settings, tools and knowledge base."""
    import importlib.util

    from bot import App
    from bot.testing import BotTester, ModelRequest, ScriptedModel, read_cases

    create("shop_bot", "support", tmp_path)
    project = tmp_path / "shop_bot"
    settings = _env_example(project)
    assert settings["KB_MODE"] == "strict"
    spec = importlib.util.spec_from_file_location("shop_bot_tools_78",
                                                  project / "shop_bot" / "tools.py")
    assert spec is not None
    assert spec.loader is not None
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)
    app = App(env_file=None)
    tools.register(app)
    case = read_cases(project / "eval" / "support.toml").named("order status")

    bot = ScriptedModel(otherwise="How can I help?")
    bot.when("A-1042").call("order_status", order_id="A-1042").answer(
        "Your order A-1042: {result}")
    customer = ScriptedModel()

    def anna(request: ModelRequest) -> str:
        return "When does my order A-1042 arrive?" if "chat is open" in request.question \
            else "Thanks! [GOAL MET]"

    customer.when(lambda r: True).answer(anna)
    judge = ScriptedModel()
    # The judge passes the run only when the bot gave the delivery date the tool returned.
    judge.when(lambda r: "2026-06-12" in r.question).answer(_judged(True))
    judge.when(lambda r: True).answer(_judged(False))
    async with BotTester(app, model=bot, settings=settings) as tester:
        run = await tester.simulate(case, customer=customer, judge=judge)
    assert [line.speaker for line in run.transcript.lines][:3] == ["customer", "tool", "bot"]
    assert "not find" not in run.transcript.lines[2].text
    assert run.passed, run.failures()
