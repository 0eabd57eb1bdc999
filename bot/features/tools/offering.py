"""Which tools a turn may be offered and run: by the chat (a business chat, a read-only one)
and by who asks (a tool limited to groups). Asked when the tools are offered and again before
each stored call runs, so a call the model makes up or one stored before a change is refused."""

from __future__ import annotations

from bot.features.tools import ToolDefinition
from bot.plugin.conversation import ChatRef, Employee


def acts(definition: ToolDefinition) -> bool:
    """Declared as changing something (or as needing a person's press)."""
    return definition.writes or definition.confirm


def offered_in(chat: ChatRef, definition: ToolDefinition) -> bool:
    """Whether the tool may be offered and run in `chat`. In a chat the deployment does not
    own (`chat.surface`: a business chat) tools are closed unless declared safe for it, and
    nothing that writes or needs a press runs in a read-only chat."""
    if chat.read_only and acts(definition):
        return False
    if chat.surface:
        return chat.surface == "business" and definition.business
    return True


def for_members(definition: ToolDefinition, chat: ChatRef, employee: Employee | None) -> bool:
    """Whether a tool limited to groups (`ToolDefinition.groups`) may be offered and run for
    `employee` in `chat`: a member of one of them, signed in, in a private chat. In a group
    chat everyone reads the answer, so such a tool is not offered there (as the knowledge
    base reads only open documents there)."""
    if not definition.groups:
        return True
    if chat.type != "private" or employee is None:
        return False
    return not employee.groups.isdisjoint(definition.groups)
