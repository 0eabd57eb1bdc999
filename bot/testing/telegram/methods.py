"""The Bot API methods the fake implements, with Telegram's checks and error wording.

Wording comes from real answers (https://core.telegram.org/bots/api#making-requests); drafts
in groups
answer ``TEXTDRAFT_PEER_INVALID`` as reported in nullclaw/nullclaw#626.
"""

from __future__ import annotations

import re
import time
from typing import Any

from bot.testing.ogg_opus import ogg_problem
from bot.testing.telegram.core import (
    CHAT_ACTIONS,
    MAX_PHOTO_BYTES,
    NOT_MODIFIED,
    BotApiCore,
    entities_key,
)
from bot.testing.telegram.state import Call, ChatMessage, ChatState, Draft, Version
from bot.testing.telegram.updates import Webhook
from bot.testing.telegram.wire import Params, TelegramError, bad_request, image_size

MAX_VOICE_BYTES = 50 * 1024 * 1024  # Bot API: "voice messages of up to 50 MB"


class BotApiMethods(BotApiCore):
    """One ``m_<method>`` per modelled Bot API method (found by name: see BotApiCore.methods)."""

    async def m_getMe(self, p: Params, call: Call) -> Any:
        return self.bot_user

    async def m_getUpdates(self, p: Params, call: Call) -> Any:
        allowed = p.get_json("allowed_updates")
        return await self.updates.get_updates(
            p.get_int("offset"),
            p.get_int("limit") or 100,
            float(p.get_int("timeout") or 0),
            allowed,
        )

    async def m_setWebhook(self, p: Params, call: Call) -> Any:
        url = p.get_str("url") or ""
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        updates = self.updates
        if p.has("allowed_updates"):
            updates.allowed_updates = p.get_json("allowed_updates")
        hook = Webhook(url, secret, p.get_int("max_connections") or 40) if url else None
        self.updates.set_webhook(hook, p.get_bool("drop_pending_updates"))
        return True

    async def m_deleteWebhook(self, p: Params, call: Call) -> Any:
        self.updates.set_webhook(None, p.get_bool("drop_pending_updates"))
        return True

    async def m_getWebhookInfo(self, p: Params, call: Call) -> Any:
        hook = self.updates.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates.pending),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        if self.updates.allowed_updates:
            info["allowed_updates"] = self.updates.allowed_updates
        return info

    def _commands_key(self, p: Params) -> tuple[str, str]:
        scope = p.get_json("scope") or {"type": "default"}
        return (str(sorted(scope.items())), p.get_str("language_code") or "")

    async def m_setMyCommands(self, p: Params, call: Call) -> Any:
        commands = p.get_json("commands") or []
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be non-empty")
        self.commands[self._commands_key(p)] = commands
        return True

    async def m_getMyCommands(self, p: Params, call: Call) -> Any:
        return self.commands.get(self._commands_key(p), [])

    async def m_deleteMyCommands(self, p: Params, call: Call) -> Any:
        self.commands.pop(self._commands_key(p), None)
        return True

    async def m_sendMessage(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        text, entities = self.text_of(p)
        markup, reply_to = self.markup_of(p), self.reply_of(p, chat)
        self.spend(call, chat)
        message = self._bot_message(
            chat, p, text=text, entities=entities, reply_markup=markup, reply_to=reply_to
        )
        chat.record_event("message", message.message_id, text, final=True)
        return self.message_json(chat, message)

    def _editable(self, p: Params, call: Call) -> tuple[ChatState, ChatMessage]:
        chat = self.target(p, call)
        message_id = p.get_int("message_id", required=True)
        message = chat.find(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    async def m_editMessageText(self, p: Params, call: Call) -> Any:
        if p.has("inline_message_id"):
            return True
        chat, message = self._editable(p, call)
        if message.photo is not None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self.text_of(p)
        markup = self.markup_of(p)
        if (
            text == message.text
            and entities_key(entities) == entities_key(message.entities)
            and markup == message.reply_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self.spend(call, chat)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.rich = message.rich_source = None  # a rich message edited into plain text
        message.versions.append(Version(time.time(), text, entities, markup))
        chat.record_event("edit", message.message_id, text, final=True)
        return self.message_json(chat, message)

    async def m_editMessageCaption(self, p: Params, call: Call) -> Any:
        if p.has("inline_message_id"):
            return True
        chat, message = self._editable(p, call)
        if message.photo is None and message.voice is None and message.kind is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self.text_of(p, "caption", limit=1024, empty_ok=True)
        markup = self.markup_of(p)
        if (
            (caption or None) == message.caption
            and entities_key(entities) == entities_key(message.entities)
            and markup == message.reply_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self.spend(call, chat)
        message.caption, message.entities, message.reply_markup = caption or None, entities, markup
        message.versions.append(Version(time.time(), caption, entities, markup))
        chat.record_event("edit", message.message_id, caption, final=True)
        return self.message_json(chat, message)

    async def m_editMessageReplyMarkup(self, p: Params, call: Call) -> Any:
        if p.has("inline_message_id"):
            return True
        chat, message = self._editable(p, call)
        markup = self.markup_of(p)
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self.spend(call, chat)
        message.reply_markup = markup
        message.versions.append(Version(time.time(), message.text, message.entities, markup))
        return self.message_json(chat, message)

    async def m_deleteMessage(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        message = chat.find(p.get_int("message_id", required=True) or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        chat.record_event("delete", message.message_id, "", final=False)
        return True

    async def m_sendMessageDraft(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        if chat.type != "private":
            raise bad_request("TEXTDRAFT_PEER_INVALID")
        draft_id = p.get_int("draft_id", required=True)
        if not draft_id:
            raise bad_request("DRAFT_ID_INVALID")
        text, entities = self.text_of(p, empty_ok=True)
        self.spend(call, chat)
        draft = Draft(
            time.time(),
            draft_id,
            text,
            entities,
            p.get_int("message_thread_id"),
            p.get_bool("can_stop"),
            p.get_bool("keep_on_stop"),
        )
        chat.drafts.append(draft)
        chat.current_draft = draft
        chat.record_event("draft", draft_id, text, final=False)
        return True

    async def m_sendChatAction(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        action = p.get_str("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append((time.time(), action))
        return True

    async def m_sendPhoto(self, p: Params, call: Call) -> Any:
        chat = self.target(p, call)
        upload = p.file("photo")
        if upload is not None:
            data = upload.data
            if len(data) > MAX_PHOTO_BYTES:
                raise TelegramError(413, "Request Entity Too Large")
            if image_size(data) is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            file_id = f"AgAC{len(self.files) + 1:06d}"
        else:
            file_id = p.get_str("photo") or ""
            if file_id not in self.files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            data = self.files[file_id]
        caption, entities = self.text_of(p, "caption", limit=1024, empty_ok=True)
        markup, reply_to = self.markup_of(p), self.reply_of(p, chat)
        self.spend(call, chat)
        self.files[file_id] = data
        message = self._bot_message(
            chat,
            p,
            caption=caption or None,
            entities=entities,
            photo=data,
            photo_file_id=file_id,
            reply_markup=markup,
            reply_to=reply_to,
        )
        chat.record_event("photo", message.message_id, caption, final=True)
        return self.message_json(chat, message)

    async def m_sendVoice(self, p: Params, call: Call) -> Any:
        """A voice message: an uploaded OggOpus file (checked page by page: one stream, as
        Telegram's clients play) or a known file id; at most 50 MB."""
        chat = self.target(p, call)
        upload = p.file("voice")
        mime = None
        if upload is not None:
            data, mime = upload.data, upload.content_type
            if len(data) > MAX_VOICE_BYTES:
                raise TelegramError(413, "Request Entity Too Large")
            problem = ogg_problem(data)
            if problem is not None:
                raise bad_request(f"VOICE_MESSAGES_FORBIDDEN: not OggOpus ({problem})")
            file_id = f"AwAC{len(self.files) + 1:06d}"
        else:
            file_id = p.get_str("voice") or ""
            if file_id not in self.files:
                raise bad_request("wrong file identifier/HTTP URL specified")
            data = self.files[file_id]
        caption, entities = self.text_of(p, "caption", limit=1024, empty_ok=True)
        reply_to = self.reply_of(p, chat)
        self.spend(call, chat)
        self.files[file_id] = data
        message = self._bot_message(chat, p, caption=caption or None, entities=entities,
                                    voice=data, voice_file_id=file_id, reply_to=reply_to,
                                    voice_duration=p.get_int("duration") or 0, voice_mime=mime)
        chat.record_event("voice", message.message_id, caption, final=True)
        return self.message_json(chat, message)

    async def m_answerCallbackQuery(self, p: Params, call: Call) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        if query_id not in self.callback_answers or self.callback_answers[query_id]:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(p.get_str("text") or "") > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = {
            "text": p.get_str("text"),
            "show_alert": p.get_bool("show_alert"),
        }
        return True
