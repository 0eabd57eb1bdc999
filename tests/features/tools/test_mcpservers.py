"""MCP servers through the official SDK's client, against a tracker built with the official SDK:
over Streamable HTTP on loopback (with an API key header) and over stdio."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the MCP extra is not installed (pip install 'fmbot[mcp]')")

from bot.features.tools import Toolbox, ToolContext, ToolOutcome, ToolsFileError, load_toolbox
from bot.features.tools.loading import start_toolbox
from bot.features.tools.mcpservers import McpServerSource
from bot.features.tools.toolsfile import McpServer
from tests.features.tools import tracker_process
from tests.features.tools.cabundle import counting_ca_loads
from tests.ports import free_port

TOKEN = "mcp-key"
CTX = ToolContext(user_id=4242, chat_id=-100777, language="ru", idempotency_key="call-9-0")


def start_tracker(port: int, token: str | None = TOKEN) -> subprocess.Popen[bytes]:
    return tracker_process.start_tracker(port, token)


stop = tracker_process.stop_tracker


@pytest.fixture(scope="module")
def tracker_port() -> Iterator[int]:
    port = free_port()
    process = start_tracker(port)
    yield port
    stop(process)


def spec(port: int, **overrides: object) -> McpServer:
    values: dict[str, object] = {
        "url": f"http://127.0.0.1:{port}/mcp",
        "headers": {"Authorization": f"Api-Key {TOKEN}"},
        "tools": ["find_issue", "create_issue", "broken", "whoami"],
        "confirm": ["create_issue"],
    }
    values.update(overrides)
    return McpServer.model_validate(values)


@pytest.fixture
async def tracker(tracker_port: int) -> AsyncIterator[McpServerSource]:
    source = McpServerSource("tracker", spec(tracker_port))
    await source.start()
    yield source
    await source.close()


@pytest.mark.slow
async def test_the_allow_list_is_offered_under_the_servers_names(
    tracker: McpServerSource,
) -> None:
    offered = {d.name: d for d in tracker.definitions()}
    assert list(offered) == ["find_issue", "create_issue", "broken", "whoami"]
    assert "delete_everything" in tracker.listed  # listed by the server, never offered
    assert offered["create_issue"].confirm
    assert offered["create_issue"].writes
    assert not offered["find_issue"].confirm
    assert not offered["find_issue"].writes
    assert offered["find_issue"].parameters["required"] == ["key"]
    assert "HELP-7" in offered["find_issue"].description
    assert offered["find_issue"].source == "mcp:tracker"
    refused = await tracker.call("delete_everything", {}, CTX)
    assert refused.text == "error: no tool named 'delete_everything'"


@pytest.mark.slow
async def test_a_call_returns_the_text_and_errors_as_lines(tracker: McpServerSource) -> None:
    found = await tracker.call("find_issue", {"key": "HELP-7"}, CTX)
    assert found.outcome is ToolOutcome.OK
    assert json.loads(found.text)["status"] == "in progress"
    broken = await tracker.call("broken", {}, CTX)
    assert broken.outcome is ToolOutcome.ERROR
    assert broken.text.startswith("error: ")
    assert "read-only" in broken.text
    assert broken.detail == "isError"


@pytest.mark.slow
async def test_who_asks_and_the_key_travel_in_meta_not_in_arguments(
    tracker: McpServerSource,
) -> None:
    result = await tracker.call("whoami", {}, CTX)
    assert json.loads(result.text) == {
        "fmbot/user_id": "4242", "fmbot/chat_id": "-100777", "fmbot/language": "ru",
        "fmbot/idempotency_key": "call-9-0",
    }
    first = await tracker.call("create_issue", {"summary": "Printer"}, CTX)
    again = await tracker.call("create_issue", {"summary": "Printer"}, CTX)
    assert first.text == again.text  # the same key: one issue


async def test_without_the_allow_list_every_listed_tool_is_offered(tracker_port: int) -> None:
    source = McpServerSource("tracker", spec(tracker_port, tools=None, confirm=[],
                                             admins_only=["delete_everything"]))
    await source.start()
    try:
        offered = {d.name: d for d in source.definitions()}
    finally:
        await source.close()
    assert set(offered) == {"find_issue", "create_issue", "delete_everything", "broken",
                            "whoami"}
    assert offered["delete_everything"].admins_only
    assert not offered["find_issue"].admins_only


@pytest.mark.slow
async def test_a_wrong_key_is_one_line_and_the_server_is_retried(
    tracker_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    source = McpServerSource("tracker", spec(tracker_port, headers={"Authorization": "no"}),
                             connect_timeout=5, backoff=(0.2, 0.5))
    with caplog.at_level(logging.INFO, logger="bot.features.tools.mcpservers"):
        await source.start()
        # Until the first retry has been refused too (a busy machine takes longer than the
        # 0.2 s backoff): judged by what the source did, not by a fixed second.
        async with asyncio.timeout(30):
            while not any("still unreachable" in r.getMessage()  # noqa: ASYNC110 - a log
                          for r in caplog.records):
                await asyncio.sleep(0.05)
        await source.close()
    assert source.definitions() == ()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("tools.toml: MCP server 'tracker' cannot be reached at "
                                  f"http://127.0.0.1:{tracker_port}/mcp (")
    assert "check url and headers in [mcp.tracker]" in warnings[0]
    assert "\n" not in warnings[0]
    assert any("still unreachable" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
async def test_a_server_down_at_start_is_offered_once_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    source = McpServerSource("tracker", spec(port), connect_timeout=2, backoff=(0.2, 0.5))
    box = Toolbox([source])
    with caplog.at_level(logging.WARNING, logger="bot.features.tools.mcpservers"):
        # The rest of the bot is not held up: the start returns with the server still down
        # (it only comes up below, so a start that waited for it would never return).
        await asyncio.wait_for(start_toolbox(box), 60)
    assert box.offered(is_admin=True) == ()
    down = await box.call("find_issue", {"key": "HELP-7"}, CTX)
    assert down.outcome is ToolOutcome.ERROR
    process = await asyncio.to_thread(start_tracker, port)
    try:
        assert await source.wait_connected(20)
        assert [d.name for d in box.offered(is_admin=True)] == [
            "find_issue", "create_issue", "broken", "whoami"]
        found = await box.call("find_issue", {"key": "HELP-7"}, CTX)
        assert found.outcome is ToolOutcome.OK
        # The server goes away: the call says so; it is offered again once it is back.
        await asyncio.to_thread(stop, process)
        lost = await box.call("find_issue", {"key": "HELP-7"}, CTX)
        assert lost.outcome is ToolOutcome.ERROR
        assert lost.text.startswith("error: ")
        process = await asyncio.to_thread(start_tracker, port)
        assert await source.wait_connected(20)
        again = await box.call("find_issue", {"key": "HELP-7"}, CTX)
        assert again.outcome is ToolOutcome.OK, again
    finally:
        await box.close()
        await asyncio.to_thread(stop, process)
    # One line per outage (at start, after the loss), not one per retry.
    assert sum("cannot be reached" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.slow
async def test_a_stdio_server(tmp_path: Path) -> None:
    command, env = tracker_process.stdio_tracker({"TRACKER": "x"})
    source = McpServerSource(
        "tracker", McpServer(command=command, env=env, tools=["find_issue"]), connect_timeout=30
    )
    await source.start()
    try:
        assert [d.name for d in source.definitions()] == ["find_issue"]
        found = await source.call("find_issue", {"key": "HELP-7"}, CTX)
    finally:
        await source.close()
    assert found.outcome is ToolOutcome.OK
    assert "Olga" in found.text


@pytest.mark.slow
async def test_a_tool_name_clashing_with_an_http_action_is_refused_at_start(
    tracker_port: int, tmp_path: Path
) -> None:
    path = tmp_path / "tools.toml"
    path.write_text(
        '[[http]]\nname = "whoami"\ndescription = "d"\nurl = "https://x"\n'
        f'[mcp.tracker]\nurl = "http://127.0.0.1:{tracker_port}/mcp"\n'
        f'headers = {{ Authorization = "Api-Key ${{KEY}}" }}\n',
        encoding="utf-8",
    )
    box = load_toolbox(path, environ={"KEY": TOKEN})
    with pytest.raises(ToolsFileError) as caught:
        await start_toolbox(box)
    assert str(caught.value) == (
        "tool name 'whoami' is used by both http:tools.toml and mcp:tracker: rename one, or "
        "leave it out of the MCP server's tools"
    )


def test_the_address_in_logs_has_no_key() -> None:
    source = McpServerSource("hub", McpServer(url="https://u:p@hub.example:8443/mcp?api_key=s3cret"))
    assert source.where == "https://hub.example:8443/mcp"


def test_a_servers_declared_rules_hold_while_it_offers_nothing() -> None:
    """Reconnecting, the server offers no tools; what the file declares still decides (issue
    45): its confirm tool still needs a press, a name it never offered is unknown."""
    source = McpServerSource("tracker", spec(free_port()))
    box = Toolbox([source])
    assert box.offered(is_admin=True) == ()
    create = box.declared("create_issue")
    assert create is not None
    assert create.confirm
    assert create.writes
    find = box.declared("find_issue")
    assert find is not None
    assert not find.confirm
    assert box.declared("delete_everything") is None  # not in the allow-list
    # Issue 77: a name in `confirm` is the server's from the start, allow-list or not.
    open_source = McpServerSource("tracker", spec(free_port(), tools=None))
    open_create = Toolbox([open_source]).declared("create_issue")
    assert open_create is not None
    assert open_create.confirm
    assert Toolbox([open_source]).declared("find_issue") is None  # never offered yet


async def test_arguments_are_checked_against_the_input_schema(tracker: McpServerSource) -> None:
    """Issue 45: the call never reaches the server with arguments its schema refuses."""
    wrong = await tracker.call("find_issue", {"key": 7}, CTX)
    assert wrong.outcome is ToolOutcome.ERROR
    assert wrong.text.startswith("error: invalid arguments: key: 7 is not of type 'string'")
    missing = await tracker.call("create_issue", {}, CTX)
    assert missing.text == "error: invalid arguments: 'summary' is a required property"
    found = await tracker.call("find_issue", {"key": "HELP-7"}, CTX)
    assert found.outcome is ToolOutcome.OK


def test_a_name_declared_by_a_server_and_a_python_tool_stops_the_start() -> None:
    from bot.extending.functions import FunctionTools
    from bot.features.tools.toolbox import ToolNameClashError

    python = FunctionTools()

    async def create_issue(title: str) -> str:
        """Open an issue."""
        return "ok"

    python.add(create_issue)
    # Never started: what the tools file declares is enough to see the clash.
    tracker = McpServerSource("tracker", spec(1, tools=None, confirm=["create_issue"]))
    with pytest.raises(ToolNameClashError, match=r"'create_issue' is used by both .* and "
                       r"mcp:tracker"):
        Toolbox([python, tracker])


@pytest.mark.slow
async def test_a_name_two_servers_list_is_refused_not_run_under_either_rule(
    tracker_port: int,
) -> None:
    # Neither server has an allow-list nor declares create_issue: neither owns it, so a call
    # must not run under either's rules: the name is refused. (One that declares it owns it:
    # test_a_declared_confirm_is_asked_or_refused_while_its_server_is_down.)
    docs = McpServerSource("docs", spec(tracker_port, tools=None, confirm=[]))
    tracker = McpServerSource("tracker", spec(tracker_port, tools=None, confirm=[]))
    toolbox = Toolbox([docs, tracker])
    await toolbox.start()
    try:
        assert await docs.wait_connected(10)
        assert await tracker.wait_connected(10)
        assert toolbox.declared("create_issue") is None
        assert "create_issue" not in {d.name for d in toolbox.offered(is_admin=True)}
        refused = await toolbox.call("create_issue", {"title": "x"}, CTX)
        assert refused.outcome is ToolOutcome.ERROR
        assert refused.text == "error: no tool named 'create_issue'"
    finally:
        await toolbox.close()


def guard_and_tracker(guard_port: int, tracker_port: int) -> tuple[McpServerSource, ...]:
    """Issue 77's tools file: [mcp.guard] declares create_issue in `confirm`; [mcp.tracker]
    has no allow-list and lists create_issue too."""
    quick = {"connect_timeout": 5, "backoff": (0.2, 0.5)}
    guard = McpServerSource("guard", spec(guard_port, tools=None), **quick)  # type: ignore[arg-type]
    tracker = McpServerSource("tracker", spec(tracker_port, tools=None, confirm=[]),
                              **quick)  # type: ignore[arg-type]
    return guard, tracker


@pytest.mark.slow
async def test_a_name_declared_by_a_server_down_at_start_and_listed_by_another_stops_the_start(
    tracker_port: int, tmp_path: Path
) -> None:
    path = tmp_path / "tools.toml"
    path.write_text(
        f'[mcp.guard]\nurl = "http://127.0.0.1:{free_port()}/mcp"\n'
        'confirm = ["create_issue"]\n'
        f'[mcp.tracker]\nurl = "http://127.0.0.1:{tracker_port}/mcp"\n'
        f'headers = {{ Authorization = "Api-Key ${{KEY}}" }}\n',
        encoding="utf-8",
    )
    box = load_toolbox(path, environ={"KEY": TOKEN}, unpinned_warning=False)
    with pytest.raises(ToolsFileError) as caught:
        await start_toolbox(box)
    assert str(caught.value) == (
        "tool name 'create_issue' is used by both mcp:guard and mcp:tracker: rename one, or "
        "leave it out of the MCP server's tools"
    )


@pytest.mark.slow
async def test_a_declared_confirm_is_asked_or_refused_while_its_server_is_down(
    tracker_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 77: the guard is down; the tracker lists its `confirm` name. The name stays the
    guard's: a press is asked, and the call goes to the guard (refused while it is down),
    never to the tracker with no press."""
    guard, tracker = guard_and_tracker(free_port(), tracker_port)
    box = Toolbox([guard, tracker])
    with caplog.at_level(logging.ERROR, logger="bot.features.tools.toolbox"):
        await box.start()
        try:
            assert await tracker.wait_connected(20)
            assert not guard.connected
            create = box.declared("create_issue")
            assert create is not None
            assert (create.source, create.confirm, create.writes) == ("mcp:guard", True, True)
            assert "create_issue" not in {d.name for d in box.offered(is_admin=True)}
            assert box.get("create_issue") is None
            refused = await box.call("create_issue", {"summary": "x"}, CTX)
            assert refused.outcome is ToolOutcome.ERROR
            assert "its MCP server does not answer" in refused.text
            # The tracker's other tools are its own.
            found = await box.call("find_issue", {"key": "HELP-7"}, CTX)
            assert found.outcome is ToolOutcome.OK
        finally:
            await box.close()
    lines = [r.getMessage() for r in caplog.records if "create_issue" in r.getMessage()]
    assert lines == ["tool 'create_issue' is declared by mcp:guard: what mcp:tracker also "
                     "lists under that name is refused (give it an allow-list in the tools "
                     "file)"]


@pytest.mark.slow
async def test_a_declared_confirm_stays_the_guards_when_it_comes_up_later(
    tracker_port: int,
) -> None:
    """Issue 77: the guard comes up after the tracker listed its `confirm` name: the guard's
    rules (a press) and the guard's tool; the tracker's listing stays refused."""
    guard_port = free_port()
    guard, tracker = guard_and_tracker(guard_port, tracker_port)
    box = Toolbox([guard, tracker])
    await box.start()
    process = None
    try:
        assert await tracker.wait_connected(20)
        process = await asyncio.to_thread(start_tracker, guard_port)
        assert await guard.wait_connected(20)
        create = box.declared("create_issue")
        assert create is not None
        assert (create.source, create.confirm) == ("mcp:guard", True)
        offered = box.get("create_issue")
        assert offered is not None
        assert (offered.source, offered.confirm) == ("mcp:guard", True)
        # The guard goes away again: while it reconnects the name is still its own.
        await asyncio.to_thread(stop, process)
        process = None
        lost = await box.call("create_issue", {"summary": "x"}, CTX)
        assert lost.outcome is ToolOutcome.ERROR
        create = box.declared("create_issue")
        assert create is not None
        assert (create.source, create.confirm) == ("mcp:guard", True)
        tracker_only = await tracker.call("find_issue", {"key": "HELP-7"}, CTX)
        assert tracker_only.outcome is ToolOutcome.OK
    finally:
        await box.close()
        if process is not None:
            await asyncio.to_thread(stop, process)


async def test_each_connection_takes_the_process_tls_context(
    tracker_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client per connection (and per reconnect) loads no CA bundle of its own (20-50 ms
    of CPU each time): the process's one TLS context."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    warm = McpServerSource("tracker", spec(tracker_port))  # the process's context exists now
    await warm.start()
    await warm.close()
    loads = counting_ca_loads(monkeypatch)
    source = McpServerSource("tracker", spec(tracker_port))
    await source.start()
    try:
        assert source.definitions(), "connected"
        assert loads == []
    finally:
        await source.close()


async def test_each_connection_closes_its_http_client(tracker_port: int) -> None:
    """The SDK closes only an HTTP client it made: ours, made per connection (its TLS context,
    its signing hook), is closed with the connection. Before, every probe and every
    reconnect of a server down or flapping left its socket to the garbage collector."""
    source = McpServerSource("tracker", spec(tracker_port))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            assert "find_issue" in await source.probe()
        await source.start()  # a connection held, then closed
        await source.close()
        gc.collect()  # what nothing closed is finalized now, warning as it goes
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
