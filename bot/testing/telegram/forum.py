"""Forum supergroups in the fake Bot API: topics, copyMessage(s), getChatMember (issue 17).

As core.telegram.org/bots/api documents them: ``createForumTopic`` (name 1-128, the bot must
be an administrator with ``can_manage_topics``; the topic's id is the id of its
``forum_topic_created`` service message) -> ForumTopic; ``closeForumTopic`` /
``reopenForumTopic`` / ``deleteForumTopic`` -> True (``TOPIC_NOT_MODIFIED`` when nothing
changes, ``TOPIC_ID_INVALID`` for an unknown topic); a send into a deleted topic answers
"message thread not found", into a closed one ``TOPIC_CLOSED`` unless the bot may manage
topics; ``copyMessage`` -> MessageId (the copy has no link to the original and no sender),
``copyMessages`` (1-100 increasing ids; messages that cannot be copied are skipped) -> [MessageId];
``getChatMember`` -> ChatMember (``left`` for someone not in the chat); ``getChat`` ->
ChatFullInfo (``is_forum`` only for a forum). A plain supergroup (``add_chat(id,
"supergroup")``) refuses the topic methods with "the chat is not a forum", as Telegram does.
Service messages cannot be copied ("message can't be copied"). One ``copyMessages`` request
spends one message of the chat's flood budget (an assumption: Telegram does not document
how it counts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.testing.telegram.core import BotApiCore
from bot.testing.telegram.state import Call, ChatMessage, ChatState, Version
from bot.testing.telegram.wire import Params, TelegramError, bad_request


@dataclass
class Topic:
    thread_id: int
    name: str
    closed: bool = False
    deleted: bool = False


class ForumSide(BotApiCore):
    """Forum methods (``m_``) and their test API."""

    # A send into a closed topic is refused even to a bot that may manage topics (what a
    # first-hour run against a group met: the bot closed the topic, then its note bounced).
    closed_topics_refuse_all = False

    # --- test API ----------------------------------------------------------------------------
    def add_forum(
        self, chat_id: int, title: str = "Support", *, can_manage_topics: bool = True
    ) -> ChatState:
        """A supergroup with topics enabled where the bot is an administrator."""
        chat = self.chats.get(chat_id) or ChatState(chat_id, "supergroup", title=title)
        self.chats[chat_id] = chat
        self.forums[chat_id] = can_manage_topics
        self.topics.setdefault(chat_id, {})
        return chat

    def add_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        """An administrator added here has every right."""
        self.members.setdefault(chat_id, {})[user_id] = status

    def set_member(self, chat_id: int, user_id: int, status: str, **rights: bool) -> None:
        """``status``: creator, administrator, member, restricted, left or kicked; an
        administrator set here has only the ``rights`` given (``can_manage_topics=True``...)."""
        self.members.setdefault(chat_id, {})[user_id] = status
        self.__dict__.setdefault("member_rights", {})[(chat_id, user_id)] = rights

    def topic(self, chat_id: int, thread_id: int) -> Topic:
        topic: Topic = self.topics[chat_id][thread_id]
        return topic

    def topic_messages(self, chat_id: int, thread_id: int) -> list[ChatMessage]:
        """Messages shown in the topic (its service message excluded), oldest first."""
        return [
            m
            for m in self.chats[chat_id].messages
            if m.thread_id == thread_id and m.message_id != thread_id
        ]

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Someone deletes the topic in the app."""
        self._drop_topic(chat_id, thread_id)
        self._notify()

    def send_user_photo(
        self,
        chat_id: int,
        photo: bytes,
        caption: str = "",
        *,
        user: dict[str, Any] | None = None,
        thread_id: int | None = None,
    ) -> int:
        """A user sends a photo (with an optional caption); -> update_id."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"no chat {chat_id}")
        sender = self._user(chat, user, "en")
        file_id = f"AgUser{len(self.files) + 1:06d}"
        self.files[file_id] = photo
        now = time.time()
        message = ChatMessage(
            chat.take_message_id(), chat_id, False, now, caption=caption or None, photo=photo,
            photo_file_id=file_id, thread_id=thread_id, user=sender,
        )
        message.versions.append(Version(now, caption or None, []))
        chat.history.append(message)
        body = self.message_json(chat, message)
        return self._queue_message(body)

    def _user(self, chat: ChatState, user: dict[str, Any] | None, language: str) -> dict[str, Any]:
        raise NotImplementedError  # FakeBotApi's

    def _queue_message(self, body: dict[str, Any]) -> int:
        update_id = self.updates.add({"message": body})
        self._notify()
        return update_id

    # --- checks the other methods share -----------------------------------------------------
    def check_thread(self, chat: ChatState, p: Params) -> None:
        thread_id = p.get_int("message_thread_id")
        if thread_id is None or chat.chat_id not in self.forums:
            return
        topic = self.topics[chat.chat_id].get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        if topic.closed and (not self.forums[chat.chat_id] or self.closed_topics_refuse_all):
            raise bad_request("TOPIC_CLOSED")

    def _forum(self, p: Params, call: Call) -> ChatState:
        chat = self.target(p, call)
        if chat.chat_id not in self.forums:
            raise bad_request("the chat is not a forum")
        if not self.forums[chat.chat_id]:
            raise bad_request("not enough rights to manage topics")
        return chat

    def _topic_of(self, chat: ChatState, p: Params) -> Topic:
        thread_id = p.get_int("message_thread_id", required=True)
        topic: Topic | None = self.topics[chat.chat_id].get(thread_id or 0)
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def _drop_topic(self, chat_id: int, thread_id: int) -> None:
        self.topics[chat_id][thread_id].deleted = True
        for message in self.chats[chat_id].history:
            if message.thread_id == thread_id:
                message.deleted = True

    # --- methods -----------------------------------------------------------------------------
    async def m_createForumTopic(self, p: Params, call: Call) -> Any:
        chat = self._forum(p, call)
        name = p.get_str("name") or ""
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        self.spend(call, chat)
        now = time.time()
        thread_id = chat.take_message_id()
        service = ChatMessage(thread_id, chat.chat_id, True, now, thread_id=thread_id)
        service.versions.append(Version(now, None, []))
        chat.history.append(service)
        self.topics[chat.chat_id][thread_id] = Topic(thread_id, name)
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    async def m_closeForumTopic(self, p: Params, call: Call) -> Any:
        topic = self._topic_of(self._forum(p, call), p)
        if topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = True
        return True

    async def m_reopenForumTopic(self, p: Params, call: Call) -> Any:
        topic = self._topic_of(self._forum(p, call), p)
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    async def m_deleteForumTopic(self, p: Params, call: Call) -> Any:
        chat = self._forum(p, call)
        topic = self._topic_of(chat, p)
        self._drop_topic(chat.chat_id, topic.thread_id)
        return True

    def _copy(self, source: ChatState, message_id: int, chat: ChatState, p: Params) -> int | None:
        original = source.find(message_id)
        if original is None or original.deleted:
            return None
        if (original.text is None and original.photo is None and original.voice is None
                and original.kind is None):
            raise bad_request("message can't be copied")
        now = time.time()
        copy = ChatMessage(
            chat.take_message_id(), chat.chat_id, True, now, text=original.text,
            entities=list(original.entities), caption=original.caption, photo=original.photo,
            photo_file_id=original.photo_file_id, voice=original.voice,
            voice_file_id=original.voice_file_id, voice_duration=original.voice_duration,
            kind=original.kind, media=original.media, media_file_id=original.media_file_id,
            media_name=original.media_name, media_mime=original.media_mime,
            rich=original.rich, rich_source=original.rich_source,
            thread_id=p.get_int("message_thread_id"),
            reply_markup=self.markup_of(p),
        )
        copy.versions.append(Version(now, copy.text or copy.caption, copy.entities))
        chat.history.append(copy)
        chat.record_event("photo" if copy.photo else "message", copy.message_id,
                          copy.text or copy.caption or "", final=True)
        return copy.message_id

    def _source(self, p: Params) -> ChatState:
        from_chat = p.get_int("from_chat_id", required=True)
        source = self.chats.get(from_chat or 0)
        if source is None:
            raise bad_request("chat not found")
        return source

    async def m_copyMessage(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        source = self._source(p)
        message_id = p.get_int("message_id", required=True) or 0
        if source.find(message_id) is None or source.find(message_id).deleted:  # type: ignore[union-attr]
            raise bad_request("message to copy not found")
        self.spend(call, chat)
        copied = self._copy(source, message_id, chat, p)
        return {"message_id": copied}

    async def m_copyMessages(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        source = self._source(p)
        ids = [int(i) for i in (p.get_json("message_ids") or [])]
        if not 1 <= len(ids) <= 100 or ids != sorted(set(ids)):
            raise bad_request("message identifiers must be 1-100 increasing ids")
        self.spend(call, chat)
        out = []
        for message_id in ids:
            try:
                copied = self._copy(source, message_id, chat, p)
            except TelegramError:  # "can't be copied": skipped, as documented
                copied = None
            if copied is not None:
                out.append({"message_id": copied})
        return out

    async def m_deleteMessages(self, p: Params, call: Call) -> Any:
        """1-100 ids; those that cannot be found are skipped (Bot API 7.0)."""
        chat = self.target(p, call)
        ids = [int(i) for i in (p.get_json("message_ids") or [])]
        if not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers must be 1-100 ids")
        for message_id in ids:
            message = chat.find(message_id)
            if message is not None:
                message.deleted = True
        return True

    async def m_getChat(self, p: Params, call: Call) -> Any:
        """ChatFullInfo: ``is_forum`` is present (true) only in a supergroup with topics
        enabled, as the Bot API sends optional fields; the bot must be in the chat."""
        chat = self.target(p, call)
        body: dict[str, Any] = {
            **chat.chat_json(), "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }
        if chat.chat_id in self.forums:
            body["is_forum"] = True
        return body

    async def m_getChatMember(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        user_id = p.get_int("user_id", required=True) or 0
        status = self.members.get(chat.chat_id, {}).get(user_id, "left")
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        rights: dict[str, bool] | None = self.__dict__.get("member_rights", {}).get(
            (chat.chat_id, user_id)
        )
        if user_id == self.bot_user["id"]:
            user = self.bot_user
            if status == "left" and chat.chat_id in self.forums:  # add_forum made it an admin
                status, rights = "administrator", {
                    "can_manage_topics": self.forums[chat.chat_id]
                }
        if status == "restricted":
            return {
                "status": "restricted", "user": user, "is_member": True, "until_date": 0,
                **{k: True for k in _RESTRICTED_RIGHTS},
            }
        if status == "administrator":
            granted = {k: True for k in _ADMIN_RIGHTS} if rights is None else {
                **{k: False for k in _ADMIN_RIGHTS}, **rights
            }
            return {"status": status, "user": user, "can_be_edited": False, "is_anonymous": False,
                    **granted}
        if status == "creator":
            return {"status": status, "user": user, "is_anonymous": False}
        if status == "kicked":
            return {"status": status, "user": user, "until_date": 0}
        return {"status": status, "user": user}


_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_send_welcome_messages",
)
_RESTRICTED_RIGHTS = (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
    "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_react_to_messages",
    "can_edit_tag", "can_change_info",
    "can_invite_users", "can_pin_messages", "can_manage_topics",
)
