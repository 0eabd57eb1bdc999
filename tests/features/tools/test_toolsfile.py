"""TOOLS_FILE: a good file becomes tool definitions; every bad one is refused in one line that
names the file, the tool and the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.extending.functions import FunctionTools, ToolFunctionError
from bot.features.tools import ToolsFileError, load_toolbox
from bot.features.tools.toolsfile import read_tools_file

GOOD = """
[[http]]
name = "order_status"
description = "Look up the status and delivery date of a customer's order by its number."
url = "https://shop.example/api/orders/{order_id}"
parameters = { type = "object", properties = { order_id = { type = "string" } }, \
required = ["order_id"] }
headers = { Authorization = "Bearer ${SHOP_TOKEN}" }

[[http]]
name = "open_ticket"
description = "Open a support ticket."
method = "post"
url = "https://desk.example/tickets"
confirm = true
timeout_s = 5
admins_only = true
[http.parameters]
type = "object"
properties = { subject = { type = "string" }, priority = { type = "integer" } }
required = ["subject"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tools.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ToolsFileError) as caught:
        read_tools_file(write(tmp_path, text), environ if environ is not None else {})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("tools.toml: ") or message.startswith("TOOLS_FILE ")
    return message


def test_a_good_file_gives_the_tools_with_their_rules(tmp_path: Path) -> None:
    toolbox = load_toolbox(write(tmp_path, GOOD), environ={"SHOP_TOKEN": "s3cret"})
    status = toolbox.get("order_status")
    ticket = toolbox.get("open_ticket")
    assert status is not None
    assert ticket is not None
    assert (status.confirm, status.writes, status.admins_only, status.timeout_s) == (
        False, False, False, 10.0)
    assert (ticket.confirm, ticket.writes, ticket.admins_only, ticket.timeout_s) == (
        True, True, True, 5.0)
    assert status.parameters["required"] == ["order_id"]
    assert status.source == "http:tools.toml"
    assert [d.name for d in toolbox.offered(is_admin=False)] == ["order_status"]
    parsed = read_tools_file(write(tmp_path, GOOD), {"SHOP_TOKEN": "s3cret"})
    assert parsed.http[0].headers == {"Authorization": "Bearer s3cret"}
    assert parsed.http[1].method == "POST"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[http]\nname = 'x'", "not valid TOML"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\nmetod = "GET"\n',
         "tool 'a': unknown key 'metod': the keys of an [[http]] action are name, description"),
        ('[[http]]\nname = "bad name"\ndescription = "d"\nurl = "https://x"\n',
         "tool 'bad name': name 'bad name' is not a valid name: use 1-64 characters"),
        ('[[http]]\nname = "' + "a" * 65 + '"\ndescription = "d"\nurl = "https://x"\n',
         "is not a valid name"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\nmethod = "HEAD"\n',
         "tool 'a': method 'HEAD': use one of GET, POST, PUT, PATCH, DELETE"),
        ('[[http]]\nname = "a"\nurl = "https://x"\n', "tool 'a': 'description' is missing"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "ftp://x"\n',
         "tool 'a': url 'ftp://x' must start with http:// or https://"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\n'
         'parameters = { type = "array" }\n',
         "tool 'a': parameters: the top level must be type = \"object\""),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\n'
         'parameters = { type = "object", properties = { n = { type = "int" } } }\n',
         "tool 'a': parameters: parameters.properties.n: unknown type 'int'"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\n'
         'parameters = { type = "object", required = ["n"] }\n',
         "required names 'n', which is not in properties"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x/{id}"\n',
         "tool 'a': url uses {id} but parameters has no property 'id'"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\n'
         'headers = { X-Fmbot-User-Id = "1" }\n',
         "header 'X-Fmbot-User-Id' is set by fmbot itself"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\n'
         '[[http]]\nname = "a"\ndescription = "e"\nurl = "https://y"\n',
         "tool name 'a' is used by two [[http]] actions"),
        ('[mcp.tracker]\nurl = "https://t"\ncommand = ["x"]\n',
         "MCP server 'tracker': set exactly one of url"),
        ('[mcp.tracker]\nurl = "https://t"\ntools = ["a"]\nconfirm = ["b"]\n',
         "MCP server 'tracker': tool 'b' is named in confirm, admins_only or business but "
         "not in tools"),
        # Two servers naming one tool: the first allow-lists it, the second (no allow-list)
        # wants a press for it; the press and the call must come from one source.
        ('[mcp.docs]\nurl = "http://127.0.0.1:18562/mcp"\ntools = ["search_docs", '
         '"create_issue"]\n[mcp.tracker]\nurl = "http://127.0.0.1:18561/mcp"\n'
         'confirm = ["create_issue"]\n',
         "tool name 'create_issue' is used by both [mcp.docs] and [mcp.tracker]"),
        ('[mcp.tracker]\nurl = "https://t"\nconfirm = ["a"]\nbusiness = ["a"]\n',
         "MCP server 'tracker': tool 'a' is in both confirm and business"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\nmethod = "POST"\n'
         'business = true\n',
         "tool 'a': business = true is for read-only actions"),
        ('[mcp.tracker]\nurll = "https://t"\n',
         "MCP server 'tracker': unknown key 'urll': the keys of an [mcp.<name>] server are url"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\n'
         '[mcp.tracker]\nurl = "https://t"\ntools = ["a"]\n',
         "tool name 'a' is used by both [[http]] and [mcp.tracker]"),
        ('[tools]\nx = 1\n', "unknown table 'tools'"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\nheaders = 5\n',
         "tool 'a': headers: input should be a valid table: fix headers (docs/tools.md"),
        ('[[http]]\nname = "a"\ndescription = "d"\nurl = "https://x"\ntimeout_s = 0\n',
         "tool 'a': timeout_s: input should be greater than 0: fix timeout_s"),
    ],
)
def test_each_problem_is_one_line_naming_the_file_the_tool_and_the_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert expected in error_of(tmp_path, text)


def test_an_unset_variable_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD, environ={})
    assert message == (
        "tools.toml: tool 'order_status': headers.Authorization uses ${SHOP_TOKEN}, which is "
        "not set: set SHOP_TOKEN in the environment or .env"
    )


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ToolsFileError, match="no such file"):
        load_toolbox(tmp_path / "nope.toml", environ={})


def test_a_python_tool_clashing_with_a_file_tool_is_refused_naming_both(tmp_path: Path) -> None:
    functions = FunctionTools("mybot")

    async def order_status(order_id: str) -> str:
        """Status of an order."""
        return order_id

    functions.add(order_status)

    with pytest.raises(ToolsFileError) as caught:
        load_toolbox(write(tmp_path, GOOD), environ={"SHOP_TOKEN": "t"},
                     extra_sources=[functions])
    assert "'order_status' is used by both http:tools.toml and python:mybot" in str(caught.value)


def test_mcp_without_the_extra_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # import mcp -> ImportError
    path = write(tmp_path, '[mcp.tracker]\nurl = "https://tracker.example/mcp"\n')
    with pytest.raises(ToolsFileError) as caught:
        load_toolbox(path, environ={})
    assert str(caught.value) == (
        "tools.toml: [mcp.tracker] needs the MCP client, which is not installed: run "
        "pip install 'fmbot[mcp]'"
    )


@pytest.mark.slow
def test_a_file_without_mcp_never_imports_the_sdk(tmp_path: Path) -> None:
    import subprocess

    path = write(tmp_path, GOOD)
    code = (
        "import sys; from pathlib import Path; from bot.features.tools import load_toolbox; "
        f"load_toolbox(Path({str(path)!r}), environ={{'SHOP_TOKEN': 't'}}); "
        "import bot.wiring; print('mcp' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_the_readme_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The guide moved from the README to docs/tools.md (issue 25): its first TOML example.
    guide = (Path(__file__).resolve().parents[3] / "docs" / "tools.md").read_text(encoding="utf-8")
    block = guide.split("```toml\n", 1)[1].split("```", 1)[0]
    monkeypatch.setitem(sys.modules, "mcp", None)  # the HTTP part without the extra
    http_only = block.split("[mcp.tracker]", 1)[0]
    toolbox = load_toolbox(write(tmp_path, http_only), environ={"SHOP_TOKEN": "t"})
    ticket = toolbox.get("open_ticket")
    assert ticket is not None
    assert ticket.confirm
    assert ticket.writes
    parsed = read_tools_file(write(tmp_path, block), {"SHOP_TOKEN": "t", "MCP_KEY": "k"})
    assert parsed.mcp["tracker"].confirm == ["create_issue"]


HELPDESK_ACTION = '[[http]]\nname = "grant_access"\ndescription = "d"\nurl = "https://x"\n'


def test_groups_and_approvers_are_read_into_the_tools_rules(tmp_path: Path) -> None:
    path = write(tmp_path, HELPDESK_ACTION + 'groups = ["it-admins"]\n'
                 'approvers = "group:it-managers"\n\n'
                 '[[http]]\nname = "to_chat"\ndescription = "d"\nurl = "https://x"\n'
                 "approvers = -100123\n")
    toolbox = load_toolbox(path, environ={})
    grant, to_chat = (toolbox.declared(name) for name in ("grant_access", "to_chat"))
    assert grant is not None
    assert to_chat is not None
    assert (grant.groups, grant.approvers, grant.confirm) == (
        ("it-admins",), "group:it-managers", True)
    assert (to_chat.groups, to_chat.approvers) == ((), "chat:-100123")


@pytest.mark.parametrize(("more", "says"), [
    ('approvers = "managers"\n', "approvers 'managers': give \"group:NAME\""),
    ('approvers = "group:"\n', 'approvers "group:" names no group'),
    ('groups = [" "]\n', "groups has an empty name"),
    ('business = true\napprovers = "group:x"\n', "business = true is for read-only actions"),
])
def test_a_bad_approvers_or_groups_is_one_line(tmp_path: Path, more: str, says: str) -> None:
    message = error_of(tmp_path, HELPDESK_ACTION + more)
    assert message.startswith("tools.toml: tool 'grant_access': ")
    assert says in message


def test_approvers_of_an_mcp_server_need_its_confirm_list(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[mcp.tracker]\nurl = "https://x/mcp"\n'
                       'approvers = "group:it-leads"\n')
    assert "approvers decide the calls of the tools in confirm" in message


def test_a_python_tool_with_bad_approvers_is_refused() -> None:
    tools = FunctionTools("bot")

    async def grant(system: str) -> str:
        """Grant access."""
        return system

    with pytest.raises(ToolFunctionError, match="give \"group:NAME\""):
        tools.add(grant, approvers="it-managers")
    definition = tools.add(grant, approvers=-100123, groups=["it-admins"])
    assert (definition.approvers, definition.groups, definition.confirm) == (
        "chat:-100123", ("it-admins",), True)
