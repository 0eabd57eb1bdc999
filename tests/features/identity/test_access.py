"""What an employee may read (issue 81): documents of three access sets (open, HR by a
folder's `.access` file, engineering by front matter). Retrieval leaves out what the asker
may not read before ranking, so it reaches neither the prompt nor the citations; an unsigned
user and a group chat read only the open pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.testing import Reply
from tests.features.identity.test_sign_in import Desk, helpdesk
from tests.features.knowledge.conftest import FIXTURE_MIN_SCORE

pytestmark = [pytest.mark.timeout(180)]

QUESTION = "How does the yearly salary review work?"
HR = "The yearly salary review happens in March: each manager proposes the new salary."
ENGINEERING = "The yearly salary review of engineers adds a technical review by the staff panel."
OPEN = "The yearly salary review is announced on the intranet; ask HR for the details."


def documents(root: Path) -> Path:
    (root / "hr").mkdir(parents=True)
    (root / "hr" / ".access").write_text("# only HR may read these\nhr\n")
    (root / "hr" / "salaries.md").write_text(f"# Salary review (HR)\n\n{HR}\n")
    (root / "engineering.md").write_text(
        f"---\naccess: [engineering]\n---\n# Salary review for engineers\n\n{ENGINEERING}\n")
    (root / "announcements.md").write_text(f"# Announcements\n\n{OPEN}\n")
    return root


def prompt_of(desk: Desk) -> str:
    request = desk.tester.model.asked[-1]
    return request.system + "\n".join(str(m) for m in request.messages)


def footer(reply: Reply) -> list[str]:
    """The documents a file-search answer's "Sources:" footer names."""
    sources = reply.text.replace("\\", "").split("Sources:**")[-1].splitlines()
    return [line.split("] ", 1)[1] for line in sources if "] " in line]


def cited(reply: Reply) -> set[str]:
    return {source.path for source in reply.sources}


async def test_each_reads_what_their_groups_may(tmp_path: Path) -> None:
    kb = documents(tmp_path / "kb")
    hr_chat = -1009000000001  # KB_GROUP_CHATS: its members alone are HR
    async with helpdesk(tmp_path, KB_PATH=str(kb), KB_MODE="assist", EMBEDDING_RPS="200",
                        KB_MIN_SCORE=str(FIXTURE_MIN_SCORE),
                        KB_GROUP_CHATS=f"{hr_chat}=hr") as desk:
        hanna, ed, nora = (desk.tester.user(n) for n in ("Hanna", "Ed", "Nora"))
        await desk.sign_in(hanna, "hanna")
        await desk.sign_in(ed, "ed")

        answer = await hanna.says(QUESTION)
        assert "hr/salaries.md" in cited(answer)
        assert HR in prompt_of(desk)
        assert "engineering.md" not in cited(answer)
        assert ENGINEERING not in prompt_of(desk)

        answer = await ed.says(QUESTION)
        assert HR not in prompt_of(desk)
        assert "hr/salaries.md" not in cited(answer)
        assert ENGINEERING in prompt_of(desk)

        team = desk.tester.group("HR team")  # everyone there reads it: the open pages alone
        asked = len(desk.tester.model.asked)
        answer = await team.says(hanna, f"@fmbot_test_bot {QUESTION}")
        assert len(desk.tester.model.asked) == asked + 1  # answered, from its own search
        assert cited(answer) <= {"announcements.md"}
        assert HR not in prompt_of(desk)

        hr_team = desk.tester.group("HR only", id=hr_chat)  # mapped: HR's pages too
        answer = await hr_team.says(nora, f"@fmbot_test_bot {QUESTION}")
        assert "hr/salaries.md" in cited(answer)
        assert ENGINEERING not in prompt_of(desk)

        answer = await nora.says(QUESTION)  # not signed in: the open pages alone
        assert cited(answer) <= {"announcements.md"}
        assert OPEN in prompt_of(desk)
        assert HR not in prompt_of(desk)
        assert ENGINEERING not in prompt_of(desk)

        # `kb eval`: a question asked as an employee of its "groups", else as nobody.
        from bot.features.knowledge.base import KnowledgeBase
        from bot.features.knowledge.evaluation import evaluate, read_cases

        lines = [{"question": QUESTION, "expected": ["hr/salaries.md"], "groups": ["hr"]},
                 {"question": QUESTION, "expected": ["hr/salaries.md"]},
                 {"question": QUESTION, "expected": ["engineering.md"],
                  "groups": ["engineering"]}]
        cases_file = tmp_path / "eval.jsonl"
        cases_file.write_text("\n".join(json.dumps(line) for line in lines))
        knowledge = desk.tester.built.core.built.find(KnowledgeBase)
        assert knowledge is not None
        report = await evaluate(knowledge, read_cases(cases_file))
        [missed] = report.misses
        assert missed.case.groups == frozenset()
        assert "hr/salaries.md" not in missed.paths


async def test_file_search_reads_only_what_the_asker_may(tmp_path: Path) -> None:
    """KB_BACKEND=yandex: each file goes to the Vector Store with who may read it as an
    attribute, and file search is given a filter keeping only those files, so the search
    itself never finds the others (the fake applies the filter as Yandex documents it)."""
    from bot.testing import ServiceModel
    from tests.features.sending import rows

    kb = documents(tmp_path / "kb")
    model = ServiceModel()
    fm = model.service
    hr_chat = -1009000000001
    async with helpdesk(tmp_path, model=model, TEXT_API="responses", KB_BACKEND="yandex",
                        KB_PATH=str(kb), KB_GROUP_CHATS=f"{hr_chat}=hr") as desk:
        [store] = fm.stores.values()
        stored = {row["path"]: row["access"]
                  for row in await rows(desk.tester, "SELECT path, access FROM kb_store_files")}
        assert stored == {"hr/salaries.md": "hr", "engineering.md": "engineering",
                          "announcements.md": ""}
        attributes = {a["path"]: a["fmbot_access"] for a in store.files.values()}
        assert attributes == {"hr/salaries.md": "hr", "engineering.md": "engineering",
                              "announcements.md": "*"}

        def only(*values: str) -> dict[str, object]:
            clauses = [{"type": "eq", "key": "fmbot_access", "value": v} for v in values]
            return clauses[0] if len(clauses) == 1 else {"type": "or", "filters": clauses}

        def last_filter() -> object:
            return fm.file_search_requests[-1].get("filters")

        hanna, ed, nora = (desk.tester.user(n) for n in ("Hanna", "Ed", "Nora"))
        await desk.sign_in(hanna, "hanna")
        await desk.sign_in(ed, "ed")

        answer = await hanna.says(QUESTION)
        assert last_filter() == only("*", "hr")
        assert footer(answer) == ["hr/salaries.md"]
        answer = await ed.says(QUESTION)
        assert last_filter() == only("*", "engineering")
        assert footer(answer) == ["engineering.md"]
        answer = await nora.says(QUESTION)
        assert last_filter() == only("*")
        assert footer(answer) == ["announcements.md"]
        await desk.tester.group("Team").says(hanna, f"@fmbot_test_bot {QUESTION}")
        assert last_filter() == only("*")  # everyone in the chat reads the answer
        await desk.tester.group("HR only", id=hr_chat).says(ed, f"@fmbot_test_bot {QUESTION}")
        assert last_filter() == only("*", "hr")


KB_SETTINGS = {"KB_MODE": "assist", "EMBEDDING_RPS": "200",
               "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE)}


async def test_the_test_kit_signs_employees_in_without_a_provider(tmp_path: Path) -> None:
    """`tester.user(name, groups=...)`: an employee as the identity feature would sign them
    in, on the virtual clock, with no provider: they read their groups' documents, the
    App's context providers see them, and a user without groups reads the open pages."""
    from bot import App, ToolContext
    from bot.testing import BotTester, ScriptedModel

    app = App(env_file=None)
    seen: list[tuple[str, tuple[str, ...]]] = []

    @app.context
    async def who(ctx: ToolContext) -> str | None:
        seen.append((ctx.email, ctx.groups))
        return None

    kb = documents(tmp_path / "kb")
    async with BotTester(app, model=ScriptedModel("Hello."),
                         settings={"KB_PATH": str(kb), **KB_SETTINGS}) as tester:
        hanna = tester.user("Hanna", groups=["hr"], email="Hanna@example.com")
        answer = await hanna.says(QUESTION)
        assert "hr/salaries.md" in cited(answer)
        assert HR in prompt_of_tester(tester)
        answer = await tester.user("Nora").says(QUESTION)
        assert "hr/salaries.md" not in cited(answer)
        assert HR not in prompt_of_tester(tester)
    assert seen == [("hanna@example.com", ("hr",)), ("", ())]


async def test_a_simulated_customer_of_a_case_naming_groups_reads_as_their_member(
        tmp_path: Path) -> None:
    """`fmbot eval`'s case `groups = ["hr"]`: the simulated customer is an employee of HR,
    so the answer may come from HR's pages; the same case without groups reads the open
    pages only (the recorded model requests show which passages the bot was given)."""
    from bot import App
    from bot.testing import BotTester, ModelRequest, ScriptedModel, read_cases

    def verdict(_: ModelRequest) -> str:
        return json.dumps({
            "criteria": [{"holds": True, "line": 2, "evidence": "the bot's answer"}],
            "must_not": [], "resolved": True, "resolved_line": 2, "handed_off": False,
            "handed_off_line": 0})

    customer = ScriptedModel()
    customer.when(lambda r: "chat is open" in r.question).answer(QUESTION)
    customer.otherwise = "Thanks! [GOAL MET]"
    judge = ScriptedModel()
    judge.when(lambda r: True).answer(verdict)
    file = tmp_path / "cases.toml"
    case = ('[[case]]\nname = "{name}"\npersona = "Hanna, writes in English"\n'
            'goal = "learn when the salary review is"\ncriteria = ["says when"]\n'
            'max_turns = 2\n{groups}\n')
    file.write_text(case.format(name="HR employee", groups='groups = ["hr"]')
                    + case.format(name="anyone", groups=""))
    cases = read_cases(file)
    kb = documents(tmp_path / "kb")
    async with BotTester(App(env_file=None), model=ScriptedModel("In March."),
                         settings={"KB_PATH": str(kb), **KB_SETTINGS}) as tester:
        await tester.simulate(cases.named("HR employee"), customer=customer, judge=judge)
        assert HR in prompt_of_tester(tester)
        await tester.simulate(cases.named("anyone"), customer=customer, judge=judge)
        assert HR not in prompt_of_tester(tester)
        assert OPEN in prompt_of_tester(tester)


def prompt_of_tester(tester: object) -> str:
    from bot.testing import BotTester

    assert isinstance(tester, BotTester)
    request = tester.model.asked[-1]
    return request.system + "\n".join(str(m) for m in request.messages)


async def test_an_answer_cut_short_is_answered_again_as_its_employee(tmp_path: Path) -> None:
    """A crash cut an HR employee's answer short: the start's backlog answers it again with
    the asker's sign-in looked up again, so the HR page grounds it as before (a turn resumed
    without an update used to read the open pages only)."""
    from sqlalchemy import text

    from bot import App
    from bot.testing import BotTester, ScriptedModel

    kb = documents(tmp_path / "kb")
    async with BotTester(App(env_file=None), model=ScriptedModel("In March."),
                         settings={"KB_PATH": str(kb), **KB_SETTINGS}) as tester:
        hanna = tester.user("Hanna", groups=["hr"])
        await hanna.says(QUESTION)
        asked = len(tester.model.asked)
        async with tester.built.core.db.sessionmaker() as session:  # as a crash leaves it
            await session.execute(text(
                "UPDATE messages SET status = 'streaming' WHERE id = "
                "(SELECT max(id) FROM messages WHERE role = 'assistant')"))
            await session.commit()
        await tester.built.telegram.backlog.resume()
        await tester.settle()
        assert len(tester.model.asked) == asked + 1
        assert HR in prompt_of_tester(tester)
