"""getChatMember for the fake Bot API: who is in a chat and with which administrator rights
(https://core.telegram.org/bots/api#getchatmember). Tests set members with ``set_member``; a
user never set is "left" (the bot was never added)."""

from __future__ import annotations

from typing import Any

from tests.fakes.tg_state import Call, ChatState
from tests.fakes.tg_wire import Params, bad_request

# ChatMemberAdministrator's required flags (Bot API 10.3), all False unless a test grants them.
ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
    "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
    "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
    "can_send_welcome_messages",
)  # fmt: skip


class ChatMembers:
    chats: dict[int, ChatState]
    bot_user: dict[str, Any]

    def set_member(self, chat_id: int, user_id: int, status: str, **rights: bool) -> None:
        """``status``: creator, administrator, member, restricted, left or kicked; ``rights``
        are administrator flags such as ``can_manage_topics=True``."""
        members: dict[tuple[int, int], dict[str, Any]] = self.__dict__.setdefault("members", {})
        members[(chat_id, user_id)] = {"status": status, **rights}

    async def m_getChatMember(self, p: Params, call: Call) -> Any:
        chat_id = p.get_int("chat_id", required=True)
        user_id = p.get_int("user_id", required=True)
        assert chat_id is not None
        assert user_id is not None
        call.chat_id = chat_id
        if chat_id not in self.chats:
            raise bad_request("chat not found")
        members: dict[tuple[int, int], dict[str, Any]] = self.__dict__.get("members", {})
        member = dict(members.get((chat_id, user_id), {"status": "left"}))
        user = (
            self.bot_user
            if user_id == self.bot_user["id"]
            else {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        )
        member["user"] = user
        if member["status"] == "administrator":
            for right in ADMIN_RIGHTS:
                member.setdefault(right, False)
        return member
