"""The files `fmbot new` writes, by template (`{{name}}` is the project's package name)."""

# Lines holding `{{placeholders}}` are longer here than in the files written.
# ruff: noqa: E501

from __future__ import annotations

PYPROJECT = '''[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{{name}}"
version = "0.1.0"
description = "A Telegram bot on fmbot"
requires-python = ">=3.11"
# `fmbot new --fmbot SPEC`, else the fmbot it ran from: a release (a version range), or the
# checkout it was installed from (that machine only: README.md says how to change it).
dependencies = ["{{fmbot}}"]

[project.optional-dependencies]
# `pip install -e '.[test]'`: pytest, pytest-asyncio and fmbot's bot_tester fixture.
test = ["{{fmbot_testing}}"]

[tool.setuptools.packages.find]
include = ["{{name}}*"]

[tool.pytest.ini_options]
asyncio_mode = "auto"
# Set, so that pytest-asyncio does not warn on every run that it is unset.
asyncio_default_fixture_loop_scope = "function"
pythonpath = ["."]
testpaths = ["tests"]
# The App the bot_tester fixture runs.
fmbot_app = "{{name}}.app:app"
'''

ENV_EXAMPLE = '''# Copy to .env and fill in. Every setting: fmbot's .env.example and docs/configuration.md.
TELEGRAM_BOT_TOKEN=
YANDEX_API_KEY=
YANDEX_FOLDER_ID=
DATABASE_URL=sqlite+aiosqlite:///{{name}}.db
{{env_extra}}'''

README = '''# {{name}}

A Telegram bot built on fmbot (template: {{template}}), which this project depends on as
`{{fmbot}}` (see `pyproject.toml`).

```bash
python3 -m venv .venv && . .venv/bin/activate   # a virtual environment of its own
pip install -e '.[test]'                        # the bot, fmbot and the test kit
pytest                                          # the tests: no Telegram, no Yandex, no network
cp .env.example .env                            # then fill in the token and the keys
fmbot run --app {{name}}.app:app                # run the bot
```

`{{name}}/app.py` is the bot; `tests/test_app.py` tests it with `bot.testing`
(fmbot's docs/testing.md).{{readme_extra}}

To install the project on another machine, point the `fmbot` lines of `pyproject.toml` at an
fmbot it can reach, in one edit: a release (`fmbot>=0.3,<0.4`), a git URL
(`fmbot @ git+https://git.example.com/you/fmbot@v0.3.0`) or a folder there
(`fmbot @ file:///srv/fmbot`); or make the project with `fmbot new {{name}} --fmbot SPEC`.
'''

README_EVAL = '''

`eval/support.toml` holds simulated customers (an order status, a return, an angry customer, a
question the knowledge base does not cover, an injection attempt...): a model plays each one
against the bot, a judge model scores every conversation (fmbot's docs/evaluation.md). With
the keys in `.env`, one command runs them and writes a report to open in a browser:

```bash
fmbot eval eval/support.toml --app {{name}}.app:app --report eval.html
```'''

INIT = '''"""{{name}}: a Telegram bot built on fmbot."""
'''

CHAT_APP = '''"""{{name}}: fmbot's chat bot, with a command and what the model knows of the user."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import App, ToolContext

app = App.from_env()  # configured from the environment and .env when the bot starts

router = Router(name="{{name}}")


@router.message(Command("about"))
async def about(message: Message) -> None:
    """What this bot is"""
    await message.answer("I am {{name}}, a chat bot on fmbot.")


app.include_router(router)


@app.context  # text added to the system prompt of every turn
async def who_asks(ctx: ToolContext) -> str | None:
    return "Answer in English." if ctx.language == "en" else None
'''

CHAT_TEST = '''"""{{name}}'s tests: bot.testing runs the bot against a fake Telegram and a test model."""

from __future__ import annotations

from bot.testing import BotTester


async def test_about_answers(bot_tester: BotTester) -> None:
    reply = await bot_tester.user("Anna").says("/about")
    assert reply.text == "I am {{name}}, a chat bot on fmbot."


async def test_a_question_is_answered(bot_tester: BotTester) -> None:
    reply = await bot_tester.user("Anna").says("Hello!")
    assert reply.text == "Hello!"  # the default EchoModel repeats the question
    assert "Answer in English." in bot_tester.model.asked[0].system
'''

KB_APP = '''"""{{name}}: a {{template}} bot on fmbot: answers from the knowledge base in kb/ (KB_PATH),
and the model's tools in tools.py."""

from __future__ import annotations

from bot import App
from {{name}} import tools

app = App.from_env()  # configured from the environment and .env when the bot starts
tools.register(app)
'''

SUPPORT_TOOLS = '''"""The tools the model may call. A tool that changes something waits for the user's press
on a confirmation card (`confirm=True`), and runs once however often it is pressed."""

from __future__ import annotations

from bot import App, ToolContext

# Stand-ins for your systems: replace them with calls to your shop's API.
ORDERS = {"A-1": {"status": "shipped", "delivery": "2026-12-01"}}
TICKETS: dict[str, str] = {}  # by idempotency key: a repeated call opens no second ticket


def register(app: App) -> None:
    @app.tool
    async def order_status(ctx: ToolContext, order_id: str) -> dict[str, str]:
        """Look up the status and delivery date of an order by its number (like A-1)."""
        order = ORDERS.get(order_id.strip().upper())
        return {"order_id": order_id, **order} if order else {"error": f"no order {order_id}"}

    @app.tool(confirm=True, title="Open a support ticket", title_ru="Открыть обращение")
    async def open_ticket(ctx: ToolContext, subject: str) -> str:
        """Open a support ticket for a problem that cannot be solved in the chat."""
        number = TICKETS.setdefault(ctx.idempotency_key, f"T-{len(TICKETS) + 1}")
        return f"ticket {number} opened"
'''

HELPDESK_TOOLS = '''"""The tools the model may call. Who may call which is decided here, never by the model:
a change to the employee's own account waits for their press (`confirm=True`); access to a
system waits for an IT manager's (`approvers`); a tool for IT admins is offered to them alone
(`groups`). Every call runs once however often it is pressed."""

from __future__ import annotations

from bot import App, ToolContext

# Stand-ins for your systems: replace them with calls to your directory and ticket desk.
DEVICES = {"LT-100": {"owner": "Anna", "model": "ThinkPad T14", "warranty": "2027-03"}}
RESETS: dict[str, str] = {}  # by idempotency key: a repeated call resets once
GRANTS: dict[str, tuple[str, str]] = {}  # by idempotency key: (employee's e-mail, system)
UNLOCKED: dict[str, str] = {}


def register(app: App) -> None:
    @app.tool
    async def device_info(ctx: ToolContext, asset_tag: str) -> dict[str, str]:
        """Look up a company device by its asset tag (like LT-100)."""
        device = DEVICES.get(asset_tag.strip().upper())
        return {"asset_tag": asset_tag, **device} if device else {"error": "unknown tag"}

    @app.tool(confirm=True, title="Reset your password", title_ru="Сбросить пароль")
    async def reset_password(ctx: ToolContext, system: str) -> str:
        """Reset the employee's password in a company system (mail, VPN, CRM...)."""
        RESETS.setdefault(ctx.idempotency_key, system)
        return f"a reset link for {system} was sent to {ctx.email or 'the work e-mail'}"

    # Sent to every signed-in member of the group it-managers: the first to press decides.
    @app.tool(approvers="group:it-managers", title="Grant access", title_ru="Выдать доступ")
    async def grant_access(ctx: ToolContext, system: str) -> str:
        """Grant the employee access to a company system (an IT manager approves it)."""
        GRANTS.setdefault(ctx.idempotency_key, (ctx.email, system))
        return f"access to {system} granted to {ctx.email}"

    @app.tool(groups=["it-admins"])
    async def unlock_account(ctx: ToolContext, login: str) -> str:
        """Unlock a colleague's locked account (IT admins only)."""
        UNLOCKED.setdefault(ctx.idempotency_key, login)
        return f"the account {login} is unlocked"
'''

HELPDESK_ENV = '''
# Employees sign in with the company's OpenID Connect provider (fmbot's docs/helpdesk.md:
# Keycloak, Microsoft Entra ID). Set the issuer and the client, then IDENTITY_REQUIRED=on.
# OIDC_ISSUER=https://sso.example.com/realms/company
# OIDC_CLIENT_ID=helpdesk-bot
# OIDC_CLIENT_SECRET=
# PUBLIC_URL=https://helpdesk.example.com
# WEB_LISTEN=127.0.0.1:8081
# IDENTITY_REQUIRED=on
# How long a request waits for its approvers: reminded after 4 hours, expired after 3 days.
# APPROVAL_REMIND=14400
# APPROVAL_EXPIRE=259200
'''

HELPDESK_README = (
    "\n\nEmployees sign in with the company's provider (`/login`); `kb/hr/` is read by the "
    "group `hr` alone (its `.access` file), `unlock_account` is offered to `it-admins` alone, "
    "and `grant_access` waits for a member of `it-managers` to approve it. The tests sign "
    "employees in with `tester.user(name, groups=[...])`; fmbot's docs/helpdesk.md sets up "
    "the provider."
)

HELPDESK_TEST = '''

# -- the internal helpdesk: who reads what, who may call which tool, who approves ---------------


def helpdesk_model() -> ScriptedModel:
    scripted = model()
    scripted.when("vacation").answer("Vacation requests go through your manager.")
    scripted.when("access").call("grant_access", system="CRM").answer("Done: {result}.")
    scripted.when("unlock").call("unlock_account", login="bob").answer("Done: {result}.")
    return scripted


async def test_hr_pages_are_read_by_hr_alone() -> None:
    async with BotTester(app, model=helpdesk_model(), settings=SETTINGS) as tester:
        hanna = tester.user("Hanna", groups=["hr"], email="hanna@example.com")
        reply = await hanna.says("How do I ask for vacation?")
        assert any(s.path.endswith("hr/vacation.md") for s in reply.sources)
        reply = await tester.user("Ed", groups=["engineering"]).says("How do I ask for vacation?")
        assert not any(s.path.endswith("hr/vacation.md") for s in reply.sources)


async def test_an_it_manager_approves_an_access_request() -> None:
    async with BotTester(app, model=helpdesk_model(), settings=SETTINGS) as tester:
        anna = tester.user("Anna", groups=["sales"], email="anna@example.com")
        maria = tester.user("Maria", groups=["it-managers"], email="maria@example.com")
        await maria.says("/start")  # the bot can write to her once she has started it
        waiting = await anna.says("I need access to the CRM")
        assert waiting.status == "waiting"  # nothing runs before an approver decides
        done = await maria.presses("Approve")
        assert done.text  # the card says who decided
        await tester.settle()
        assert any("access to CRM granted to anna@example.com" in c.params.get("text", "")
                   for c in tester.sent if c.chat_id == anna.id)


async def test_only_it_admins_unlock_accounts() -> None:
    async with BotTester(app, model=helpdesk_model(), settings=SETTINGS) as tester:
        reply = await tester.user("Nora").says("Please unlock bob")  # not an IT admin
        assert "is unlocked" not in reply.text
        ed = tester.user("Ed", groups=["it-admins"])
        reply = await ed.says("Please unlock bob")
        assert reply.text == "Done: the account bob is unlocked."
'''

KB_TEST = '''"""{{name}}'s tests: bot.testing runs the bot against a fake Telegram and a scripted model."""

from __future__ import annotations

from pathlib import Path

from bot.testing import BotTester, ScriptedModel
from {{name}}.app import app

KB = Path(__file__).resolve().parent.parent / "kb"
# As .env.example sets them: strict, so only the knowledge base and the tools answer.
SETTINGS = {"KB_PATH": str(KB), "KB_MODE": "strict"}


def model() -> ScriptedModel:
    scripted = ScriptedModel()
    scripted.when("{{read_words}}").call("{{read_tool}}", {{read_args}}).answer("{{read_answer}}")
    scripted.when("{{write_words}}").call("{{write_tool}}", {{write_args}}).answer("Done: {result}.")
    scripted.when("{{kb_words}}").answer("{{kb_answer}} [1]")
    return scripted


async def test_the_model_looks_it_up() -> None:
    async with BotTester(app, model=model(), settings=SETTINGS) as tester:
        reply = await tester.user("Anna").says("{{read_question}}")
    assert [call.name for call in reply.tool_calls] == ["{{read_tool}}"]
    assert reply.text == "{{read_answer}}"


async def test_a_change_waits_for_the_press() -> None:
    async with BotTester(app, model=model(), settings=SETTINGS) as tester:
        anna = tester.user("Anna")
        card = await anna.says("{{write_question}}")
        assert len(card.buttons) == 2  # Confirm / Cancel: nothing has run yet
        done = await anna.presses("Confirm")
    assert [call.outcome for call in done.tool_calls] == ["ok"]
    assert "Done:" in done.text


async def test_answers_cite_the_knowledge_base() -> None:
    async with BotTester(app, model=model(), settings=SETTINGS) as tester:
        reply = await tester.user("Anna").says("{{kb_question}}")
    assert reply.sources[0].path.endswith("{{kb_file}}")
    assert reply.sources[0].cited
'''

SUPPORT = {
    "tools": SUPPORT_TOOLS,
    "kb_file": "delivery.md",
    "kb_text": "# Delivery and returns\n\nOrders ship within one working day; delivery "
    "takes two to five working days.\n\nAny item may be returned within 30 days of "
    "delivery, unused and in its box.\n",
    "read_words": "A-1", "read_tool": "order_status", "read_args": 'order_id="A-1"',
    "read_question": "Where is my order A-1?",
    "read_answer": "Your order A-1 has shipped; it arrives on 1 December.",
    "write_words": "broken", "write_tool": "open_ticket", "write_args": 'subject="Broken item"',
    "write_question": "My kettle arrived broken",
    "kb_words": "return", "kb_question": "Can I return an item?",
    "kb_answer": "Any item may be returned within 30 days of delivery.",
}
# The helpdesk's knowledge base beside its open page: a folder only HR reads.
HELPDESK_KB = {
    "hr/.access": "# Only HR reads this folder (fmbot's docs/helpdesk.md).\nhr\n",
    "hr/vacation.md": "# Vacation\n\nVacation requests go to your manager at least two weeks "
    "ahead; HR records them in the vacation calendar.\n",
}
HELPDESK = {
    "tools": HELPDESK_TOOLS,
    "kb_file": "vpn.md",
    "kb_text": "# VPN\n\nThe VPN client is installed on every company laptop. Connect with "
    "your work e-mail and the code from the authenticator app.\n",
    "read_words": "LT-100", "read_tool": "device_info", "read_args": 'asset_tag="LT-100"',
    "read_question": "Whose laptop is LT-100?",
    "read_answer": "LT-100 is Anna's ThinkPad T14, under warranty until March 2027.",
    "write_words": "password", "write_tool": "reset_password", "write_args": 'system="VPN"',
    "write_question": "I forgot my VPN password",
    "kb_words": "VPN client", "kb_question": "How do I connect with the VPN client?",
    "kb_answer": "Connect with your work e-mail and the code from the authenticator app.",
}
