"""``/_control/...``: the fake Bot API's test API as JSON over HTTP, for out-of-process drivers.

Every route mirrors a method of the fake's state, ``FakeBotApi`` (bot/testing/telegram/users.py;
see server.py's docstring for the list). Bodies and answers are JSON; errors answer 400
``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.telegram.images import tiny_jpeg

if TYPE_CHECKING:
    from bot.testing.telegram.users import FakeBotApi

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_control_routes(app: web.Application, tg: FakeBotApi) -> None:
    def post(action: Callable[[dict[str, Any]], Any]) -> Route:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                body = await request.json() if request.can_read_body else {}
                result = action(body)
            except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
                return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
            return web.json_response(result if isinstance(result, dict) else {"result": result})

        return handler

    def user_message(b: dict[str, Any]) -> dict[str, Any]:
        update_id = tg.send_user_message(
            int(b["chat_id"]),
            b.get("text", ""),
            user=b.get("user"),
            chat_type=b.get("chat_type"),
            title=b.get("title"),
            reply_to=b.get("reply_to"),
            thread_id=b.get("thread_id"),
            entities=b.get("entities"),
            language_code=b.get("language_code", "en"),
            extra=b.get("extra"),
        )
        return {"update_id": update_id}

    def fail_next(b: dict[str, Any]) -> dict[str, Any]:
        tg.fail_next(
            b["method"],
            int(b.get("status", 429)),
            b.get("description"),
            retry_after=b.get("retry_after"),
            times=int(b.get("times", 1)),
            chat_id=b.get("chat_id"),
        )
        return {}

    def limits(b: dict[str, Any]) -> dict[str, Any]:
        for key, value in b.items():
            if not hasattr(tg.flood.limits, key):
                raise KeyError(key)
            setattr(tg.flood.limits, key, value)
        return asdict(tg.flood.limits)

    def reset_timing(b: dict[str, Any]) -> dict[str, Any]:
        chats = [tg.chat(int(b["chat_id"]))] if "chat_id" in b else list(tg.chats.values())
        for chat in chats:
            chat.reset_timing()
        return {}

    def done(action: Callable[..., object], *args: Any) -> dict[str, Any]:
        action(*args)
        return {}

    def guest_message(b: dict[str, Any]) -> dict[str, Any]:
        update_id, query_id = tg.send_guest_message(
            int(b["chat_id"]), b.get("text", ""), user=b.get("user"),
            title=b.get("title", "Friends"), reply_to_text=b.get("reply_to_text"),
            reply_author=b.get("reply_author"), language_code=b.get("language_code", "en"),
        )
        return {"update_id": update_id, "guest_query_id": query_id}

    posts: dict[str, Callable[[dict[str, Any]], Any]] = {
        "guest_message": guest_message,
        # Chat automation (business.py): connect an account, a message in one of its chats.
        "business_connect": lambda b: {"business_connection_id": tg.connect_business(
            b["owner"], can_reply=bool(b.get("can_reply", True)),
            enabled=bool(b.get("enabled", True)), connection_id=b.get("connection_id"),
        )},
        "business_message": lambda b: {"update_id": tg.send_business_message(
            b["business_connection_id"], b["customer"], b.get("text", ""),
            from_owner=bool(b.get("from_owner", False)),
        )},
        "user_message": user_message,
        "edit_user_message": lambda b: {
            "update_id": tg.edit_user_message(int(b["chat_id"]), int(b["message_id"]), b["text"])
        },
        "callback_query": lambda b: {
            "update_id": tg.send_callback_query(
                int(b["chat_id"]), int(b["message_id"]), b["data"], user=b.get("user")
            )
        },
        "update": lambda b: {"update_id": tg.send_update(b.get("update", b))},
        "press_stop": lambda b: {
            "update_id": tg.press_stop(
                int(b["chat_id"]), b.get("draft_id"), thread_id=b.get("thread_id")
            )
        },
        "fail_next": fail_next,
        # Rich messages refused with a 400 (rich.py) while on.
        "refuse_rich": lambda b: done(lambda: setattr(tg, "refuse_rich", bool(b.get("on", True)))),
        # Ephemeral messages (ephemeral.py): refused (400) in a chat, or everywhere.
        "ephemeral": lambda b: done(
            lambda: tg.refuse_ephemeral(bool(b.get("refuse", True)), chat_id=b.get("chat_id"))
        ),
        "block_user": lambda b: done(tg.block_user, int(b["chat_id"])),
        "unblock_user": lambda b: done(tg.unblock_user, int(b["chat_id"])),
        "slow_get_updates": lambda b: done(tg.slow_get_updates, float(b["seconds"])),
        "fail_get_updates": lambda b: done(
            tg.fail_get_updates, int(b["times"]), int(b.get("status", 502))
        ),
        "delete_message": lambda b: done(
            tg.delete_message, int(b["chat_id"]), int(b["message_id"])
        ),
        "limits": limits,
        "reset_timing": reset_timing,
        "reset_counters": lambda b: done(tg.reset_counters),
        # Forums (forum.py).
        "forum": lambda b: done(
            lambda: tg.add_forum(
                int(b["chat_id"]),
                b.get("title", "Support"),
                can_manage_topics=bool(b.get("can_manage_topics", True)),
            )
        ),
        "member": lambda b: done(
            tg.add_member, int(b["chat_id"]), int(b["user_id"]), b.get("status", "member")
        ),
        "user_photo": lambda b: {
            "update_id": tg.send_user_photo(
                int(b["chat_id"]),
                tiny_jpeg(),
                b.get("caption", ""),
                user=b.get("user"),
                thread_id=b.get("thread_id"),
            )
        },
        "delete_topic": lambda b: done(tg.delete_topic, int(b["chat_id"]), int(b["thread_id"])),
        # Files users send (files.py); bytes travel as base64.
        "file": lambda b: {
            "file_id": tg.add_file(
                base64.b64decode(b["data"]), kind=b.get("kind", "photos"), ext=b.get("ext"),
                mime_type=b.get("mime_type"),
            )
        },
        "user_photo_message": lambda b: {
            "update_id": tg.send_user_photo_message(
                int(b["chat_id"]),
                [base64.b64decode(size) for size in b["sizes"]],
                b.get("caption", ""),
                media_group_id=b.get("media_group_id"),
                language_code=b.get("language_code", "en"),
            )
        },
        "user_voice": lambda b: {
            "update_id": tg.send_user_voice(
                int(b["chat_id"]),
                base64.b64decode(b["data"]),
                duration=int(b["duration"]),
                language_code=b.get("language_code", "en"),
            )
        },
        "user_document": lambda b: {
            "update_id": tg.send_user_document(
                int(b["chat_id"]),
                base64.b64decode(b["data"]),
                file_name=b["file_name"],
                mime_type=b["mime_type"],
                caption=b.get("caption", ""),
                language_code=b.get("language_code", "en"),
            )
        },
    }
    for name, action in posts.items():
        app.router.add_post(f"/_control/{name}", post(action))

    async def guest(request: web.Request) -> web.StreamResponse:
        query = tg.guest.get(request.match_info["query_id"])
        if query is None:
            return web.json_response({"error": "no such guest query"}, status=404)
        return web.json_response(asdict(query))

    app.router.add_get("/_control/guest/{query_id}", guest)

    async def business_chat(request: web.Request) -> web.StreamResponse:
        key = (request.match_info["connection_id"], int(request.match_info["chat_id"]))
        chat = tg.business_chats.get(key)
        if chat is None:
            return web.json_response({"error": "no such business chat"}, status=404)
        return web.json_response(chat.to_json())

    app.router.add_get("/_control/business/{connection_id}/{chat_id}", business_chat)

    async def chats(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "chats": [
                    {
                        "chat_id": c.chat_id,
                        "type": c.type,
                        "messages": len(c.messages),
                        "bot_messages": len(c.bot_messages),
                        "first_visible_at": c.first_visible_at,
                        "final_text_at": c.final_text_at,
                    }
                    for c in tg.chats.values()
                ]
            }
        )

    async def chat(request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        if chat_id not in tg.chats:
            return web.json_response({"error": "chat not found"}, status=404)
        state = tg.chats[chat_id].to_json()
        if "since" in request.query:
            first, final = tg.chats[chat_id].timing_since(float(request.query["since"]))
            state["since"] = {"first_visible_at": first, "final_text_at": final}
        return web.json_response(state)

    async def photo(request: web.Request) -> web.StreamResponse:
        chat_id, message_id = int(request.match_info["chat_id"]), int(request.match_info["mid"])
        message = tg.chats[chat_id].find(message_id) if chat_id in tg.chats else None
        if message is None or message.photo is None:
            return web.json_response({"error": "no such photo"}, status=404)
        return web.Response(body=message.photo, content_type="image/jpeg")

    async def stats(request: web.Request) -> web.StreamResponse:
        hook = tg.updates.webhook
        return web.json_response(
            {
                "count_429": tg.count_429,
                "count_flood_429": tg.count_flood_429,
                "count_429_by_method": dict(
                    Counter(c.method for c in tg.calls if c.status == 429)
                ),
                "calls": dict(Counter(c.method for c in tg.calls)),
                "unknown_methods": dict(tg.unknown_methods),
                "pending_updates": len(tg.updates.pending),
                "version": tg.version,
                "webhook": None if hook is None else asdict(hook),
            }
        )

    async def calls(request: web.Request) -> web.StreamResponse:
        since = int(request.query.get("since", 0))
        chat_id = request.query.get("chat_id")
        picked = [
            c.to_json() for c in tg.calls[since:] if chat_id is None or str(c.chat_id) == chat_id
        ]
        return web.json_response({"calls": picked, "next": len(tg.calls)})

    async def wait(request: web.Request) -> web.StreamResponse:
        """Long-poll until the fake's state changes past ``version`` (or ``timeout`` s)."""
        seen = int(request.query.get("version", tg.version))
        timeout = float(request.query.get("timeout", 10))
        try:
            await tg.wait_for(lambda: tg.version > seen, timeout)
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            raise
        return web.json_response({"version": tg.version})

    async def topics(request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        return web.json_response(
            {"topics": [asdict(topic) for topic in tg.topics.get(chat_id, {}).values()]}
        )

    app.router.add_get("/_control/topics/{chat_id}", topics)
    app.router.add_get("/_control/chats", chats)
    app.router.add_get("/_control/chat/{chat_id}", chat)
    app.router.add_get("/_control/photo/{chat_id}/{mid}", photo)
    app.router.add_get("/_control/stats", stats)
    app.router.add_get("/_control/calls", calls)
    app.router.add_get("/_control/wait", wait)
