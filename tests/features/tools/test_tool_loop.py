"""The tool loop in the real ConversationService, against the fake Yandex server on both wires
and a migrated database: rounds, results as data, the round cap, parallel calls, history,
errors, confirmation across a restart, expiry, cancellation and resume after a crash."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from sqlalchemy import select

from bot.conversation import RELINQUISHED, ChatRef, ConversationService
from bot.features.tools import ToolContext, ToolOutcome, ToolRunResult
from bot.features.tools.decisions import DecisionKind
from bot.features.tools.loop import ToolLoop
from bot.features.tools.storage.models import ToolCall, ToolCallState
from bot.features.tools.text import ANSWER_NOW, DATA_NOTE
from bot.features.tools.turn import ToolsFeature
from bot.features.tools.turnpart import waiting_calls
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.foundation_models.responses import ResponsesChatModel
from bot.foundation_models.types import CompletionStatus, Snapshot
from bot.storage.database import Database
from bot.storage.models import DailyUsage, MessageStatus
from tests.conversation.conftest import ANNA, API_KEY, FOLDER, PRIVATE, fake_client, make_service
from tests.conversation.helpers import stored, wait_for
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.tools.tool_doubles import ORDER_STATUS, ShopSource, tool_loop

COMPLETION = "/foundationModels/v1/completion"
CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
PRO = "yandexgpt/latest"
A_1042 = [{"name": "order_status", "arguments": {"order_id": "A-1042"}}]


@pytest.fixture(params=["native", "openai", "responses"])
async def wire(request: pytest.FixtureRequest, fm: FakeFoundationModels) -> AsyncIterator[Any]:
    if request.param == "native":
        model: Any = fake_client(fm.url)
    elif request.param == "responses":
        model = ResponsesChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                   folder_id=FOLDER)
    else:
        model = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                          folder_id=FOLDER)
    yield model
    await model.aclose()


def build(db: Database, model: Any, source: ShopSource, **settings: Any) -> ConversationService:
    tools = tool_loop(db, model, source, **settings)
    return make_service(db, model, default_model=PRO, tools=tools)


def tools_of(service: ConversationService) -> ToolLoop:
    """The service's tool loop: its turns' tools feature's."""
    return next(f.loop for f in service.features if isinstance(f, ToolsFeature))


def requests(fm: FakeFoundationModels) -> list[dict[str, Any]]:
    return [as_chat(r.json) for r in fm.requests if r.path in (COMPLETION, CHAT, RESPONSES)]


def as_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses API body in the OpenAI chat form the assertions read (`messages` with
    `tool_calls` and `role: tool` results, `tools[].function`); other bodies as they are."""
    if "input" not in body:
        return body
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    for item in body["input"]:
        if item.get("type") == "function_call":
            call = {"id": item["call_id"], "function": {"name": item["name"],
                                                        "arguments": item["arguments"]}}
            if messages and messages[-1].get("tool_calls"):
                messages[-1]["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif item.get("type") == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"],
                             "content": item["output"]})
        else:
            messages.append({"role": item["role"], "content": item["content"]})
    tools = [{"function": {"name": t["name"]}} for t in body.get("tools", [])]
    return {**body, "messages": messages, **({"tools": tools} if tools else {})}


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


async def calls(db: Database) -> list[ToolCall]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(ToolCall).order_by(ToolCall.id)))


def results_sent(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(name or call id, content) of the tool results in a request, on either wire."""
    out = []
    for message in body["messages"]:
        if message.get("role") == "tool":
            out.append((message["tool_call_id"], message["content"]))
        for item in (message.get("toolResultList") or {}).get("toolResults", []):
            out.append((item["functionResult"]["name"], item["functionResult"]["content"]))
    return out


async def test_a_read_round_answers_from_the_tool(
    wire: Any, fm: FakeFoundationModels, database: Database
) -> None:
    source = ShopSource()
    service = build(database, wire, source)
    fm.queue_reply("Let me look.", tool_calls=A_1042)
    fm.queue_reply("Order A-1042 has shipped.", chunks=2)
    seen: list[Snapshot] = []
    result = await service.run_turn(PRIVATE, ANNA, "where is A-1042?", on_snapshot=seen.append)

    assert result.status is MessageStatus.COMPLETE
    assert result.text == "Let me look.\n\nOrder A-1042 has shipped."
    # Who asks travels beside the arguments; the key is the stored call's.
    (call,) = source.calls
    assert call.arguments == {"order_id": "A-1042"}
    assert (call.ctx.user_id, call.ctx.chat_id) == (ANNA.user_id, PRIVATE.chat_id)
    (row,) = await calls(database)
    assert call.ctx.idempotency_key == row.idempotency_key
    assert (row.state, row.outcome, row.answer_id) == (ToolCallState.DONE, "ok",
                                                      result.message_id)
    assert row.result == "order A-1042: shipped"
    assert row.latency_ms is not None
    # The tools are offered, the result goes back as data from the tool.
    first, second = requests(fm)
    assert tool_names(first) == ["order_status", "open_ticket"]  # not the admins' tool
    assert DATA_NOTE in str(first["messages"][0])
    (sent,) = results_sent(second)
    assert sent[1] == ("[data returned by the tool order_status]\norder A-1042: shipped\n"
                       "[end of the data returned by the tool order_status]")
    # The user saw the text before the call, then the running call, then the answer.
    statuses = [s.status for s in seen]
    assert CompletionStatus.TOOL_CALLS in statuses
    running = seen[statuses.index(CompletionStatus.TOOL_CALLS)]
    assert running.text == "Let me look."
    assert [c.name for c in running.tool_calls] == ["order_status"]
    after = seen[statuses.index(CompletionStatus.TOOL_CALLS):]
    assert all(s.text.startswith("Let me look.") for s in after)
    # Both rounds count against the daily budget.
    assert result.usage is not None
    async with database.sessionmaker() as session:
        charged = await session.scalar(select(DailyUsage.tokens))
    assert charged == result.usage.total_tokens
    assert result.usage.input_tokens > 0


async def test_openai_ids_go_back_as_tool_call_id(
    fm: FakeFoundationModels, database: Database
) -> None:
    model = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                      folder_id=FOLDER)
    service = build(database, model, ShopSource())
    fm.queue_reply("", tool_calls=[{**A_1042[0], "id": "chatcmpl-tool-abc"}])
    await service.run_turn(PRIVATE, ANNA, "where is A-1042?")
    (row,) = await calls(database)
    assert row.call_id == "chatcmpl-tool-abc"
    second = requests(fm)[1]
    assert second["messages"][-2]["tool_calls"][0]["id"] == "chatcmpl-tool-abc"
    assert results_sent(second)[0][0] == "chatcmpl-tool-abc"
    await model.aclose()


async def test_rounds_stop_at_the_cap_and_the_model_must_answer(
    wire: Any, fm: FakeFoundationModels, database: Database
) -> None:
    source = ShopSource()
    service = build(database, wire, source, max_rounds=2)
    for _ in range(2):
        fm.queue_reply("", tool_calls=A_1042)
    fm.queue_reply("Shipped, as far as I can tell.")
    result = await service.run_turn(PRIVATE, ANNA, "where is A-1042?")
    assert result.text == "Shipped, as far as I can tell."
    bodies = requests(fm)
    assert [bool(tool_names(b)) for b in bodies] == [True, True, False]
    last = bodies[-1]["messages"][-1]
    assert ANSWER_NOW in (last.get("text") or last.get("content"))
    assert len(source.calls) == 2
    assert [c.round for c in await calls(database)] == [0, 1]


@pytest.mark.slow
async def test_calls_of_a_round_run_at_once_up_to_the_bound(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource(delay=0.2)
    service = build(database, client, source, parallel=2)
    many = [{"name": "order_status", "arguments": {"order_id": f"A-{n}"}} for n in range(4)]
    fm.queue_reply("", tool_calls=many)
    await service.run_turn(PRIVATE, ANNA, "four orders")
    assert source.most_at_once == 2
    rows = await calls(database)
    assert [(r.position, r.state) for r in rows] == [(n, ToolCallState.DONE) for n in range(4)]
    # Natively results are matched by name and order: in the order of the calls.
    assert [c for _, c in results_sent(requests(fm)[1])] == [
        f"[data returned by the tool order_status]\norder A-{n}: shipped\n"
        "[end of the data returned by the tool order_status]" for n in range(4)
    ]


async def test_a_follow_up_sees_the_calls_and_results(
    wire: Any, fm: FakeFoundationModels, database: Database
) -> None:
    service = build(database, wire, ShopSource())
    fm.queue_reply("", tool_calls=A_1042)
    fm.queue_reply("It has shipped.")
    await service.run_turn(PRIVATE, ANNA, "where is A-1042?")
    fm.queue_reply("Tomorrow.")
    await service.run_turn(PRIVATE, ANNA, "when does it arrive?")
    follow_up = requests(fm)[-1]["messages"]
    roles = [m["role"] for m in follow_up]
    # question, the call, its result, the answer, the new question: kept together
    assert roles[1:] in (["user", "assistant", "user", "assistant", "user"],
                         ["user", "assistant", "tool", "assistant", "user"])
    assert "toolCallList" in follow_up[2] or "tool_calls" in follow_up[2]
    assert results_sent(requests(fm)[-1])


async def test_a_model_without_tools_gets_none(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource()
    service = make_service(database, client,  # yandexgpt-lite
                           tools=tool_loop(database, client, source))
    await service.run_turn(PRIVATE, ANNA, "where is A-1042?")
    assert "tools" not in requests(fm)[0]
    assert DATA_NOTE not in str(requests(fm)[0])


async def test_tool_errors_reach_the_model_as_short_lines(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    async def failing(name: str, arguments: Mapping[str, object],
                      ctx: ToolContext) -> ToolRunResult:
        if arguments.get("order_id") == "A-1":
            return ToolRunResult(ToolOutcome.ERROR, "error: HTTP 500: boom", "500")
        raise RuntimeError("a bug in the source\nTraceback ...")

    service = build(database, client, ShopSource(handler=failing))
    fm.queue_reply("", tool_calls=[{"name": "order_status", "arguments": {"order_id": "A-1"}},
                                   {"name": "order_status", "arguments": {"order_id": "A-2"}}])
    result = await service.run_turn(PRIVATE, ANNA, "two orders")
    assert result.status is MessageStatus.COMPLETE
    contents = [c for _, c in results_sent(requests(fm)[1])]
    end = "\n[end of the data returned by the tool order_status]"
    assert contents[0].endswith("error: HTTP 500: boom" + end)
    assert contents[1].endswith("error: the tool failed (RuntimeError)" + end)
    assert "Traceback" not in str(requests(fm)[1])
    assert [(r.state, r.outcome) for r in await calls(database)] == [
        (ToolCallState.FAILED, "error"), (ToolCallState.FAILED, "error")
    ]


async def test_long_results_are_cut_to_size(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    async def huge(name: str, arguments: Mapping[str, object], ctx: ToolContext) -> ToolRunResult:
        return ToolRunResult(ToolOutcome.OK, "x" * 5000)

    service = build(database, client, ShopSource(handler=huge), result_chars=300)
    fm.queue_reply("", tool_calls=A_1042)
    await service.run_turn(PRIVATE, ANNA, "where?")
    (content,) = [c for _, c in results_sent(requests(fm)[1])]
    assert content.count("x") == 300
    assert "cut" in content


async def test_confirmation_survives_a_restart_and_runs_once(
    wire: Any, fm: FakeFoundationModels, database: Database
) -> None:
    source = ShopSource()
    service = build(database, wire, source)
    fm.queue_reply("I can open it.", tool_calls=[
        {"name": "open_ticket", "arguments": {"subject": "Broken kettle"}}
    ])
    result = await service.run_turn(PRIVATE, ANNA, "open a ticket for my kettle")
    assert result.status is MessageStatus.WAITING
    (waiting,) = waiting_calls(result)
    assert (waiting.name, dict(waiting.arguments)) == ("open_ticket", {"subject": "Broken kettle"})
    assert waiting.description == "Open a support ticket."
    assert source.calls == []  # nothing before the press
    assert [m.status for m in await stored(database)][-1] is MessageStatus.WAITING

    # A restart: a new service (and loop) on the same database.
    source_after = ShopSource()
    again = build(database, wire, source_after)
    decision = await tools_of(again).decisions.decide(waiting.id, confirmed=True, by=ANNA.user_id)
    assert decision.kind is DecisionKind.CONFIRMED
    assert decision.ready
    again_pressed = await tools_of(again).decisions.decide(waiting.id, confirmed=True,
                                                           by=ANNA.user_id)
    assert again_pressed.kind is DecisionKind.ALREADY
    fm.queue_reply("Ticket opened.")
    assert decision.answer_id is not None
    done = await again.resume(PRIVATE, ANNA, decision.answer_id)
    assert done is not None
    assert done.status is MessageStatus.COMPLETE
    assert done.text == "Ticket opened."  # "I can open it." was delivered before the card
    assert [c.name for c in source_after.calls] == ["open_ticket"]
    (row,) = await calls(database)
    assert (row.state, row.decided_by) == (ToolCallState.DONE, ANNA.user_id)
    assert source_after.calls[0].ctx.idempotency_key == row.idempotency_key
    # Carried on once: a second continuation finds nothing waiting.
    assert await again.resume(PRIVATE, ANNA, decision.answer_id) is None
    assert len(source_after.calls) == 1


async def test_a_declined_call_is_not_run_and_the_model_is_told(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource()
    service = build(database, client, source)
    fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {"subject": "x"}}])
    result = await service.run_turn(PRIVATE, ANNA, "open a ticket")
    decision = await tools_of(service).decisions.decide(waiting_calls(result)[0].id,
                                                        confirmed=False, by=ANNA.user_id)
    assert decision.kind is DecisionKind.DECLINED
    assert decision.answer_id is not None
    fm.queue_reply("Fine, I did not open it.")
    done = await service.resume(PRIVATE, ANNA, decision.answer_id)
    assert done is not None
    assert done.text == "Fine, I did not open it."
    assert source.calls == []
    assert "declined" in results_sent(requests(fm)[-1])[0][1]


async def test_an_expired_confirmation_tells_the_model(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource()
    service = build(database, client, source, confirm_ttl=0.05)
    fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {"subject": "x"}}])
    result = await service.run_turn(PRIVATE, ANNA, "open a ticket")
    await asyncio.sleep(0.1)
    late = await tools_of(service).decisions.decide(waiting_calls(result)[0].id, confirmed=True,
                                          by=ANNA.user_id)
    assert late.kind is DecisionKind.EXPIRED
    assert await tools_of(service).decisions.expire_due() == []  # the press already expired it
    fm.queue_reply("It expired; ask me again.")
    assert late.answer_id is not None
    done = await service.resume(PRIVATE, ANNA, late.answer_id)
    assert done is not None
    assert "expired" in results_sent(requests(fm)[-1])[0][1]
    assert source.calls == []


async def test_the_expiry_sweep_carries_the_turn_on(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    service = build(database, client, ShopSource(), confirm_ttl=0.05)
    fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {"subject": "x"}}])
    result = await service.run_turn(PRIVATE, ANNA, "open a ticket")
    await asyncio.sleep(0.1)
    (due,) = await tools_of(service).decisions.expire_due()
    assert (due.kind, due.answer_id, due.chat_id) == (
        DecisionKind.EXPIRED, result.message_id, PRIVATE.chat_id
    )


async def test_a_new_message_cancels_the_waiting_confirmation(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource()
    service = build(database, client, source)
    fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {"subject": "x"}}])
    result = await service.run_turn(PRIVATE, ANNA, "open a ticket")
    await service.run_turn(PRIVATE, ANNA, "never mind, what time is it?")
    (row,) = await calls(database)
    assert row.state is ToolCallState.DECLINED
    answers = [m for m in await stored(database) if m.id == result.message_id]
    assert answers[0].status is MessageStatus.CANCELLED
    decision = await tools_of(service).decisions.decide(row.id, confirmed=True, by=ANNA.user_id)
    assert decision.kind is DecisionKind.ALREADY
    assert source.calls == []


async def test_stop_during_a_call_cancels_the_turn(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource(delay=30)
    service = build(database, client, source)
    fm.queue_reply("", tool_calls=A_1042)
    task = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "where?"))
    await wait_for(lambda: bool(source.calls))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (row,) = await calls(database)
    assert (row.state, row.outcome) == (ToolCallState.FAILED, "cancelled")
    assert (await stored(database))[-1].status is MessageStatus.CANCELLED
    assert len(requests(fm)) == 1  # the model is not asked again


async def test_a_turn_cut_short_resumes_without_running_a_done_call_again(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    """Round 0 read done, round 1 write running when the process dies (a lost lease stands
    in for the kill: the answer stays `streaming`, the write `running`, outcome unknown). The
    restarted service resumes: the read is not run again, the write runs again with the same
    Idempotency-Key, and the model is asked only for what comes after."""
    hang = asyncio.Event()

    async def stuck(name: str, arguments: Mapping[str, object],
                    ctx: ToolContext) -> ToolRunResult:
        if name == "open_ticket":
            await hang.wait()
        return ToolRunResult(ToolOutcome.OK, f"{name} ok")

    writes_unconfirmed = ShopSource(handler=stuck)
    writes_unconfirmed.tools = (ORDER_STATUS, ORDER_STATUS.__class__(
        "open_ticket", "Open a ticket.", {"type": "object"}, writes=True))
    service = build(database, client, writes_unconfirmed)
    fm.queue_reply("", tool_calls=A_1042)
    fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {"subject": "x"}}])
    task = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "check and open"))
    await wait_for(lambda: len(writes_unconfirmed.calls) == 2)
    task.cancel(RELINQUISHED)
    with pytest.raises(asyncio.CancelledError):
        await task
    before = await calls(database)
    assert [r.state for r in before] == [ToolCallState.DONE, ToolCallState.RUNNING]
    write_key = before[1].idempotency_key

    after = ShopSource(tools=writes_unconfirmed.tools)
    restarted = build(database, client, after)
    await restarted.recover_interrupted()
    fm.queue_reply("Checked and opened.")
    result = await restarted.retry_last(PRIVATE, ANNA, resume=True)
    assert result is not None
    assert result.text == "Checked and opened."
    assert [c.name for c in after.calls] == ["open_ticket"]
    assert after.calls[0].ctx.idempotency_key == write_key
    rows = await calls(database)
    assert [(r.state, r.answer_id) for r in rows] == [
        (ToolCallState.DONE, result.message_id), (ToolCallState.DONE, result.message_id)
    ]
    # Only the round after the write went to the model again, with both results.
    assert len(results_sent(requests(fm)[-1])) == 2


async def test_retry_redoes_the_turn_afresh(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource()
    service = build(database, client, source)
    fm.queue_reply("", tool_calls=A_1042)
    await service.run_turn(PRIVATE, ANNA, "where?")
    fm.queue_reply("", tool_calls=A_1042)
    result = await service.retry_last(PRIVATE, ANNA)
    assert result is not None
    assert len(source.calls) == 2
    first, second = await calls(database)
    assert first.answer_id is None  # detached: kept for the audit, out of the history
    assert second.answer_id == result.message_id
    assert first.idempotency_key != second.idempotency_key


async def test_groups_are_given_the_asker_not_the_chat(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource()
    service = build(database, client, source)
    fm.queue_reply("", tool_calls=A_1042)
    # Anna is an admin by the update's decision, which her turn's speaker carries.
    admin = dataclasses.replace(ANNA, is_admin=True)
    await service.run_turn(ChatRef(-100, "supergroup", "Team"), admin, "where?")
    (call,) = source.calls
    assert (call.ctx.user_id, call.ctx.chat_id, call.ctx.is_admin) == (ANNA.user_id, -100, True)
    assert "secret_stats" in tool_names(requests(fm)[0])


async def test_tools_are_told_the_conversations_desk_state(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    from bot.features.desk.build import desk_state_of
    from bot.features.desk.domain import DeskService, Requester
    from bot.features.desk.storage.models import HandoffReason

    source = ShopSource()
    desk = DeskService(database.sessionmaker, support_chat_id=-100777)
    service = build(database, client, source, desk_state=desk_state_of(desk))
    fm.queue_reply("", tool_calls=A_1042)
    await service.run_turn(PRIVATE, ANNA, "where?")
    await desk.hand_over(Requester(ANNA.user_id, "Anna"), HandoffReason.USER_REQUEST)
    fm.queue_reply("", tool_calls=A_1042)
    await service.run_turn(PRIVATE, ANNA, "and now?")
    assert [c.ctx.desk_state for c in source.calls] == [None, "waiting"]


async def test_the_terminal_asks_before_a_confirmed_tool_runs(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    import io

    from bot.cli.terminal import TerminalChat

    source = ShopSource()
    tools = tool_loop(database, client, source)
    service = make_service(database, client, default_model=PRO, tools=tools)
    lines = iter(["open a ticket", "y", "/exit"])
    asked: list[str] = []

    def read_line(prompt: str) -> str:
        asked.append(prompt)
        return next(lines)

    out = io.StringIO()
    fm.queue_reply("Sure.", tool_calls=[{"name": "open_ticket", "arguments": {"subject": "x"}}])
    fm.queue_reply("Opened.")
    await TerminalChat(service, database.sessionmaker, chat_id=7, read_line=read_line,
                       out=out, tools=tools.decisions).run()
    assert asked[1] == '[Open a support ticket.: open_ticket {"subject": "x"}] run it? [y/N] '
    assert [c.name for c in source.calls] == ["open_ticket"]
    assert out.getvalue().count("Opened.") == 1
    assert "Sure." in out.getvalue()


async def test_a_spent_daily_budget_ends_the_tool_rounds(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    source = ShopSource()
    service = build(database, client, source, daily_tokens=5)  # the first round spends more
    fm.queue_reply("", tool_calls=A_1042)
    fm.queue_reply("", tool_calls=A_1042)  # not asked for: no tools are offered any more
    result = await service.run_turn(PRIVATE, ANNA, "where is A-1042?")
    bodies = requests(fm)
    assert [bool(tool_names(b)) for b in bodies] == [True, False]
    assert len(source.calls) == 1
    assert result.status is MessageStatus.COMPLETE


async def test_old_rounds_results_make_room_for_new_ones(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    async def big(name: str, arguments: Mapping[str, object], ctx: ToolContext) -> ToolRunResult:
        return ToolRunResult(ToolOutcome.OK, f"{arguments['order_id']}: " + "x" * 1500)

    source = ShopSource(handler=big)
    service = make_service(database, client, default_model=PRO, reply_reserve=1000,
                           context_overrides={PRO: 2500},
                           tools=tool_loop(database, client, source, result_chars=1600))
    for n in range(3):
        fm.queue_reply("", tool_calls=[{"name": "order_status",
                                        "arguments": {"order_id": f"A-{n}"}}])
    fm.queue_reply("Done.")
    result = await service.run_turn(PRIVATE, ANNA, "three orders")
    assert result.text == "Done."
    last = [c for _, c in results_sent(requests(fm)[-1])]
    assert len(last) == 3  # every call keeps a result
    assert "A-2: xxx" in last[-1]  # the newest data stays
    assert "left out" in last[0]


async def test_in_a_group_another_members_message_leaves_the_confirmation_waiting(
    fm: FakeFoundationModels, database: Database, client: FoundationModelsClient
) -> None:
    from bot.conversation import Speaker

    group = ChatRef(-100, "supergroup", "Team")
    service = build(database, client, ShopSource())
    fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {"subject": "x"}}])
    result = await service.run_turn(group, ANNA, "open a ticket")
    await service.run_turn(group, Speaker(99, "Boris"), "unrelated question")
    (row,) = await calls(database)
    assert row.state is ToolCallState.PENDING_CONFIRMATION
    await service.run_turn(group, ANNA, "forget it")
    (row,) = await calls(database)
    assert row.state is ToolCallState.DECLINED
    assert result.status is MessageStatus.WAITING
