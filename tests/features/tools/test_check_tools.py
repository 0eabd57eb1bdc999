"""`bot check` with TOOLS_FILE: the file parses, each HTTP action's host resolves, each MCP
server lists its tools (and the allow-list names tools it lists); OK/FAIL lines with the fix."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.features.tools.checks import check_tools
from tests.features.tools.tracker_process import stdio_tracker
from tests.ports import free_port

# A label longer than 63 characters: the resolver refuses it locally, no query leaves.
UNRESOLVABLE = "a" * 64 + ".example"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tools.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_each_host_is_connected_to_once_naming_its_tools(tmp_path: Path) -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    listening = server.sockets[0].getsockname()[1]
    closed = free_port()  # nothing listens there: resolving alone passed it
    path = write(tmp_path, f"""
[[http]]
name = "order_status"
description = "d"
url = "http://127.0.0.1:{listening}/orders"
[[http]]
name = "open_ticket"
description = "d"
method = "POST"
url = "http://127.0.0.1:{listening}/tickets"
[[http]]
name = "refund"
description = "d"
method = "POST"
url = "http://localhost:{closed}/refunds"
[[http]]
name = "nowhere"
description = "d"
url = "https://{UNRESOLVABLE}/x"
""")
    try:
        outcomes = await check_tools(path, environ={})
    finally:
        server.close()
        await server.wait_closed()
    lines = [o.line() for o in outcomes]
    assert [o.name for o in outcomes] == [
        "tools file", f"tools: http 127.0.0.1:{listening}", f"tools: http localhost:{closed}",
        f"tools: http {UNRESOLVABLE}"]  # one line a host, not one an action
    assert outcomes[0].ok
    assert outcomes[0].detail == "tools.toml: 4 HTTP action(s), 0 MCP server(s)"
    assert outcomes[1].ok, lines[1]
    assert outcomes[1].detail == (
        "connection opened (127.0.0.1); used by order_status, open_ticket")
    assert not outcomes[2].ok
    assert lines[2].startswith(f"FAIL  tools: http localhost:{closed}: cannot connect to "
                               f"localhost:{closed} (")
    assert "used by refund" in lines[2]
    assert "fix: check the url of refund in tools.toml and that the API is up" in lines[2]
    assert not outcomes[3].ok
    assert lines[3].startswith(f"FAIL  tools: http {UNRESOLVABLE}: cannot resolve ")
    assert "fix: check the url of nowhere in tools.toml, or DNS" in lines[3]


async def test_a_bad_file_is_one_fail_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[http]]\nname = "a b"\ndescription = "d"\nurl = "https://x"\n')
    (outcome,) = await check_tools(path, environ={})
    assert not outcome.ok
    assert outcome.line() == (
        "FAIL  tools file: tools.toml: tool 'a b': name 'a b' is not a valid name: use 1-64 "
        f"characters of A-Z, a-z, 0-9, _ and -\n      fix: edit {path}"
    )


@pytest.fixture(scope="module")
def tracker_port() -> Iterator[int]:
    pytest.importorskip("mcp")
    from tests.features.tools.test_mcpservers import start_tracker, stop

    port = free_port()
    process = start_tracker(port)
    yield port
    stop(process)


@pytest.mark.slow
async def test_mcp_servers_list_their_tools(tmp_path: Path, tracker_port: int) -> None:
    down = free_port()
    command, env = stdio_tracker()
    local_env = ", ".join(f"{key} = {json.dumps(value)}" for key, value in env.items())
    path = write(tmp_path, f"""
[mcp.tracker]
url = "http://127.0.0.1:{tracker_port}/mcp"
headers = {{ Authorization = "Api-Key ${{KEY}}" }}
tools = ["find_issue", "create_issue"]
confirm = ["create_issue"]

[mcp.typo]
url = "http://127.0.0.1:{tracker_port}/mcp"
headers = {{ Authorization = "Api-Key ${{KEY}}" }}
tools = ["find_isue"]

[mcp.down]
url = "http://127.0.0.1:{down}/mcp"

[mcp.local]
command = {json.dumps(command)}
env = {{ {local_env} }}
tools = ["whoami"]
""")
    outcomes = {o.name: o for o in await check_tools(path, environ={"KEY": "mcp-key"})}
    assert outcomes["tools file"].detail == "tools.toml: 0 HTTP action(s), 4 MCP server(s)"
    tracker = outcomes["tools: mcp tracker"]
    assert tracker.ok, tracker.line()
    assert tracker.detail == "lists 5 tool(s); offered: find_issue, create_issue"
    typo = outcomes["tools: mcp typo"]
    assert not typo.ok
    assert typo.detail.startswith("the server does not list find_isue (it lists find_issue, ")
    assert typo.fix == "correct tools in [mcp.typo]"
    gone = outcomes["tools: mcp down"]
    assert not gone.ok
    assert gone.detail.startswith(f"cannot list the tools of http://127.0.0.1:{down}/mcp: ")
    assert gone.fix == "check url/command and headers/env in [mcp.down]"
    assert outcomes["tools: mcp local"].ok, outcomes["tools: mcp local"].line()


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_run_checks_includes_the_tools_lines(tmp_path: Path) -> None:
    from bot.cli.checks import run_checks
    from bot.features.settings import Settings

    path = write(tmp_path, '[[http]]\nname = "a"\ndescription = "d"\n'
                 'url = "http://localhost:1/x"\nheaders = { K = "${TOKEN}" }\n')
    closed = f"http://127.0.0.1:{free_port()}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, tools_file=path, yandex_api_key="k", yandex_folder_id="f",
        yandex_llm_url=closed, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
    )
    outcomes = await run_checks(settings, tools_environ={"TOKEN": "t"}, each_within=5)
    names = [o.name for o in outcomes]
    at = names.index("tools file")  # the wire's and agent tools' lines follow the tools'
    assert names[at : at + 2] == ["tools file", "tools: http localhost:1"]
    assert not outcomes[at + 1].ok, "nothing listens on port 1"
    missing = await run_checks(settings, tools_environ={}, each_within=5)
    [tools_file] = [o for o in missing if o.name == "tools file"]
    assert tools_file.line().startswith(
        "FAIL  tools file: tools.toml: tool 'a': headers.K uses ${TOKEN}, which is not set")
