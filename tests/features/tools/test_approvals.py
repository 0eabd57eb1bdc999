"""Tools for an internal helpdesk (issue 81): a tool limited to company groups is offered and
run for their signed-in members alone; a request someone else approves waits, durably, for
an approver's press (never the asker's), the card goes to the approvers' private chats, the
first decision wins once, reminders and expiry run on the tester's clock, and the asker is
told. Employees are bound through the identity feature's store, as a sign-in leaves them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, update

from bot import App, ToolContext
from bot.features.identity.store import Identities
from bot.features.tools.audit import call_line
from bot.features.tools.storage.models import ToolCall, ToolCallState
from bot.oidc import Identity
from bot.testing import BotTester, ScriptedModel, TestUser
from bot.testing.telegram.views import Shown
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(120)]

REQUEST = "I need access to the CRM to work on the March accounts"


@dataclass
class Helpdesk:
    tester: BotTester
    granted: list[tuple[int, str, str]] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)

    async def employee(self, user: TestUser, login: str, *groups: str) -> None:
        identities = Identities(self.tester.built.core.db.sessionmaker, dt.timedelta(days=30))
        await identities.bind(user.id, Identity(
            subject=login, name=user.name, email=f"{login}@example.com", email_verified=True,
            groups=groups, expires_at=0))

    def said(self, chat_id: int) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.tester.sent
                if c.chat_id == chat_id and c.method == "sendMessage"]

    def cards(self, chat_id: int) -> list[Shown]:
        telegram = self.tester.telegram
        return [telegram.shown[key] for key in telegram.created
                if key[0] == chat_id and telegram.shown[key].buttons]

    async def calls(self) -> list[ToolCall]:
        async with self.tester.built.core.db.sessionmaker() as session:
            return list(await session.scalars(select(ToolCall).order_by(ToolCall.id)))


def helpdesk_app(desk: Helpdesk, approvers: str | int) -> App:
    app = App(env_file=None)

    @app.tool
    async def ticket_status(ctx: ToolContext, ticket: str) -> str:
        """Look up a helpdesk ticket."""
        return "open"

    @app.tool(groups=["it-admins"])
    async def reset_password(ctx: ToolContext, login: str) -> str:
        """Reset an employee's password."""
        desk.resets.append(login)
        return "reset"

    @app.tool(approvers=approvers, title="Grant access", title_ru="Выдать доступ")
    async def grant_access(ctx: ToolContext, system: str, login: str) -> str:
        """Grant an employee access to a company system."""
        desk.granted.append((ctx.user_id, ctx.email, system))
        return f"access to {system} granted"

    return app


def scripted() -> ScriptedModel:
    model = ScriptedModel(otherwise="How can I help?")
    model.when("access").call("grant_access", system="crm", login="anna").answer(
        lambda request: "Tool said: " + (request.tool_results[-1] if request.tool_results
                                         else "nothing"))
    model.when("password").call("reset_password", login="bob").answer("Done: {result}")
    return model


@asynccontextmanager
async def helpdesk(approvers: str | int = "group:it-managers",
                   **settings: str) -> AsyncIterator[Helpdesk]:
    desk = Helpdesk(tester=None)  # type: ignore[arg-type]
    port = free_port()
    async with BotTester(helpdesk_app(desk, approvers), model=scripted(), settings={
        "OIDC_ISSUER": "https://sso.example.com/realms/company", "OIDC_CLIENT_ID": "fmbot",
        "PUBLIC_URL": f"http://127.0.0.1:{port}", "WEB_LISTEN": f"127.0.0.1:{port}",
        **settings,
    }) as tester:
        desk.tester = tester
        yield desk


def tool_names(desk: Helpdesk) -> tuple[str, ...]:
    return desk.tester.model.asked[-1].tools


async def test_a_tool_for_a_group_is_offered_and_run_for_its_members_alone() -> None:
    async with helpdesk() as desk:
        ed, nora = desk.tester.user("Ed"), desk.tester.user("Nora")
        await desk.employee(ed, "ed", "it-admins")
        answer = await ed.says("Please reset the password of bob")
        assert "reset_password" in tool_names(desk)
        assert desk.resets == ["bob"]
        assert answer.text == "Done: reset"

        # Not signed in: offered the other tools, not this one; a call of it is refused.
        await nora.says("Please reset the password of bob")
        request = desk.tester.model.asked[-1]
        assert "ticket_status" in request.tools
        assert "reset_password" not in request.tools
        assert desk.resets == ["bob"]
        assert "no tool named 'reset_password'" in request.tool_results[-1]

        # In a group chat everyone reads the answer: not offered there, even to a member.
        team = desk.tester.group("IT")
        await team.says(ed, "@fmbot_test_bot please reset the password of bob")
        assert "reset_password" not in tool_names(desk)
        assert desk.resets == ["bob"]

        # Signed out: refused at once, the binding read when the call would run.
        identities = Identities(desk.tester.built.core.db.sessionmaker, dt.timedelta(days=1))
        await identities.sign_out(ed.id)
        await ed.says("Please reset the password of bob")
        assert "reset_password" not in tool_names(desk)
        assert desk.resets == ["bob"]


async def ask_for_access(desk: Helpdesk) -> tuple[TestUser, TestUser, TestUser]:
    anna = desk.tester.user("Anna")
    maria = desk.tester.user("Maria")
    igor = desk.tester.user("Igor", language="ru")
    await desk.employee(anna, "anna", "sales")
    await desk.employee(maria, "maria", "it-managers")
    await desk.employee(igor, "igor", "it-managers")
    for manager in (maria, igor):
        await manager.says("hello")  # the bot knows their language from their first message
    reply = await anna.says(REQUEST)
    assert reply.status == "waiting"
    assert desk.granted == []
    assert any("needs the approval of a member of the group “it-managers”" in text
               for text in desk.said(anna.id))
    assert desk.cards(anna.id) == []  # no buttons for the asker
    return anna, maria, igor


async def test_a_request_approved_by_a_manager_runs_and_the_asker_is_told() -> None:
    async with helpdesk() as desk:
        anna, maria, igor = await ask_for_access(desk)
        (card,) = desk.cards(maria.id)
        assert card.text.startswith("Approval requested: Grant access\n"
                                    "Asked by: Anna <anna@example.com>\n"
                                    f"Why: {REQUEST}")
        assert "• system: crm" in card.text
        assert [b["text"] for b in card.buttons[0]] == ["✅ Approve", "✖ Deny"]
        (igors,) = desk.cards(igor.id)
        assert igors.text.startswith("Запрос на одобрение: Выдать доступ\n")

        await maria.presses("Approve", on=card)
        await desk.tester.settle()
        assert desk.granted == [(anna.id, "anna@example.com", "crm")]
        told = desk.said(anna.id)
        assert "Your request “Grant access” was approved by Maria <maria@example.com>." in told
        assert told[-1] == "Tool said: " + desk.tester.model.asked[-1].tool_results[-1]
        assert "access to crm granted" in told[-1]
        assert card.buttons == []
        assert igors.buttons == []
        assert desk.said(igor.id)[-1] == "✅ Одобрено: Maria <maria@example.com>."

        (row,) = await desk.calls()
        assert (row.state, row.decided_by) == (ToolCallState.DONE, maria.id)
        assert row.decided_by_name == "Maria <maria@example.com>"
        assert f"approved by Maria <maria@example.com> ({maria.id})" in call_line(row)


async def test_a_denied_request_is_not_run_and_the_model_is_told() -> None:
    async with helpdesk() as desk:
        anna, maria, igor = await ask_for_access(desk)
        await igor.presses("Отклонить", on=desk.cards(igor.id)[0])
        await desk.tester.settle()
        assert desk.granted == []
        assert "Your request “Grant access” was denied by Igor <igor@example.com>." in (
            desk.said(anna.id))
        assert "denied" in desk.tester.model.asked[-1].tool_results[-1]
        assert desk.said(maria.id)[-1] == "✖ Denied by Igor <igor@example.com>."
        (row,) = await desk.calls()
        assert (row.state, row.decided_by) == (ToolCallState.DECLINED, igor.id)


async def test_a_request_nobody_decides_is_reminded_then_expires() -> None:
    async with helpdesk(APPROVAL_REMIND="3600", APPROVAL_EXPIRE="7200") as desk:
        anna, maria, igor = await ask_for_access(desk)
        await desk.tester.advance(3500)
        assert not any("Reminder" in text for text in desk.said(maria.id))
        await desk.tester.advance(200)
        assert desk.said(maria.id)[-1] == (
            "Reminder: this request from Anna <anna@example.com> (“Grant access”) still "
            "waits for a decision.")
        assert desk.said(igor.id)[-1].startswith("Напоминание: запрос от Anna")
        await desk.tester.advance(3500)  # one reminder only
        assert sum("Reminder" in text for text in desk.said(maria.id)) == 1
        assert desk.granted == []
        await desk.tester.advance(200)
        assert desk.granted == []
        assert ("Your request “Grant access” expired: no approver decided in time; nothing "
                "was done.") in desk.said(anna.id)
        assert "no approver decided" in desk.tester.model.asked[-1].tool_results[-1]
        assert desk.cards(maria.id) == []
        assert desk.cards(igor.id) == []
        (row,) = await desk.calls()
        assert row.state is ToolCallState.EXPIRED


async def test_two_approvers_pressing_at_once_make_one_decision() -> None:
    async with helpdesk() as desk:
        anna, maria, igor = await ask_for_access(desk)
        await asyncio.gather(maria.presses("Approve", on=desk.cards(maria.id)[0]),
                             igor.presses("Одобрить", on=desk.cards(igor.id)[0]))
        await desk.tester.settle()
        assert len(desk.granted) == 1
        told = [text for text in desk.said(anna.id) if text.startswith("Your request")]
        assert len(told) == 1
        (row,) = await desk.calls()
        assert row.state is ToolCallState.DONE
        assert row.decided_by in (maria.id, igor.id)


async def test_only_an_approver_other_than_the_asker_may_decide() -> None:
    async with helpdesk(approvers="group:it-managers") as desk:
        anna, maria, _igor = await ask_for_access(desk)
        bob = desk.tester.user("Bob")  # not signed in: no approver
        card = desk.cards(maria.id)[0]
        refused = await bob.presses("Approve", on=card)
        assert "Only an approver of this request can decide it" in str(
            [c.params for c in refused.calls])
        refused = await anna.presses("Approve", on=card)
        assert "You cannot approve your own request." in str([c.params for c in refused.calls])
        await desk.tester.settle()
        assert desk.granted == []
        assert card.buttons  # unchanged
        (row,) = await desk.calls()
        assert row.state is ToolCallState.PENDING_CONFIRMATION


async def test_approvers_in_a_named_chat_and_never_the_asker() -> None:
    async with helpdesk(approvers=-100777) as desk:
        anna, maria = desk.tester.user("Anna"), desk.tester.user("Maria")
        await desk.employee(anna, "anna", "sales")
        approvals = desk.tester.group("IT approvals", id=-100777)
        await approvals.says(maria, "@fmbot_test_bot hello")  # the bot is in that chat
        await anna.says(REQUEST)
        (card,) = desk.cards(-100777)
        assert "Asked by: Anna <anna@example.com>" in card.text
        refused = await anna.presses("Approve", on=card)
        assert "You cannot approve your own request." in str([c.params for c in refused.calls])
        assert desk.granted == []
        await maria.presses("Approve", on=card)  # anyone in the approvers' chat
        await desk.tester.settle()
        assert desk.granted == [(anna.id, "anna@example.com", "crm")]
        assert "Your request “Grant access” was approved by Maria." in desk.said(anna.id)


async def test_the_asker_keeps_talking_while_the_request_waits() -> None:
    """A request waits days for an approver: the asker's next messages are answered as usual
    and do not withdraw it (a confirmation the asker owes is withdrawn by a new message; an
    approval is not theirs to give). The approval then carries the request on in the chat."""
    async with helpdesk() as desk:
        anna, maria, igor = await ask_for_access(desk)
        other = await anna.says("Meanwhile, what is the status of ticket 7?")
        assert other.status == "complete"
        assert other.text == "How can I help?"
        (card,) = desk.cards(maria.id)
        assert card.buttons  # still waiting for a decision
        (row,) = await desk.calls()
        assert row.state is ToolCallState.PENDING_CONFIRMATION
        await maria.presses("Approve", on=card)
        await desk.tester.settle()
        assert desk.granted == [(anna.id, "anna@example.com", "crm")]
        told = desk.said(anna.id)
        assert "Your request “Grant access” was approved by Maria <maria@example.com>." in told
        assert "access to crm granted" in told[-1]
        # /reset starts over: what still waits for approval is withdrawn with it.
        await anna.says(REQUEST)
        await anna.says("/reset")
        second = (await desk.calls())[-1]
        assert second.state is ToolCallState.DECLINED
        assert all(not card.buttons for card in desk.cards(igor.id))


async def test_a_request_survives_a_restart() -> None:
    """Everything a request needs is stored: after a restart the reminder and the approval
    still come, once, and the approved call runs with the asker's identity."""
    async with helpdesk(APPROVAL_REMIND="3600") as desk:
        anna, maria, _igor = await ask_for_access(desk)
        await desk.tester.restart()
        await desk.tester.advance(3700)
        assert desk.said(maria.id)[-1].startswith("Reminder: this request from Anna")
        await desk.tester.restart()
        await maria.presses("Approve", on=desk.cards(maria.id)[0])
        await desk.tester.settle()
        assert desk.granted == [(anna.id, "anna@example.com", "crm")]
        assert "access to crm granted" in desk.said(anna.id)[-1]
        assert sum("Reminder" in text for text in desk.said(maria.id)) == 1


async def test_the_test_kits_employees_ask_and_approve_without_a_provider() -> None:
    """`tester.user(name, groups=..., email=...)`: the kit's signed-in employees are in the
    employee directory the tools read, so a bot's own tests exercise groups and approvers
    on the virtual clock without an OpenID provider."""
    desk = Helpdesk(tester=None)  # type: ignore[arg-type]
    async with BotTester(helpdesk_app(desk, "group:it-managers"), model=scripted()) as tester:
        desk.tester = tester
        ed = tester.user("Ed", groups=["it-admins"], email="ed@example.com")
        await ed.says("Please reset the password of bob")
        assert desk.resets == ["bob"]
        anna = tester.user("Anna", groups=["sales"], email="anna@example.com")
        maria = tester.user("Maria", groups=["it-managers"], email="maria@example.com")
        await maria.says("hello")
        assert (await anna.says(REQUEST)).status == "waiting"
        (card,) = desk.cards(maria.id)
        assert "Asked by: Anna <anna@example.com>" in card.text
        await maria.presses("Approve", on=card)
        await tester.settle()
        assert desk.granted == [(anna.id, "anna@example.com", "crm")]
        assert ("Your request “Grant access” was approved by Maria <maria@example.com>."
                in desk.said(anna.id))


async def test_a_request_whose_cards_were_never_sent_is_asked_at_its_reminder() -> None:
    """The bot stopped between storing a request and sending its cards (here: the cards'
    record emptied, as such a stop leaves it): at APPROVAL_REMIND the approvers get their
    cards then, once, the asker is told who decides, and an approval runs the call once."""
    async with helpdesk(APPROVAL_REMIND="3600") as desk:
        anna, maria, igor = await ask_for_access(desk)
        async with desk.tester.built.core.db.sessionmaker() as session:
            await session.execute(update(ToolCall).values(approval_cards=None))
            await session.commit()
        before = len(desk.cards(maria.id))
        await desk.tester.advance(3700)
        assert len(desk.cards(maria.id)) == before + 1
        assert len(desk.cards(igor.id)) == 2
        assert not any("Reminder" in text for text in desk.said(maria.id))
        assert sum("needs the approval of a member of the group “it-managers”" in text
                   for text in desk.said(anna.id)) == 2
        await desk.tester.advance(3700)  # asked once: the next sweep sends nothing more
        assert len(desk.cards(maria.id)) == before + 1
        await maria.presses("Approve", on=desk.cards(maria.id)[-1])
        await desk.tester.settle()
        assert desk.granted == [(anna.id, "anna@example.com", "crm")]
