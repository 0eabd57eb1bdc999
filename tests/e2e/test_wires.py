"""One deployment per wire (native, TEXT_API=openai, TEXT_API=responses): `python -m bot run`
against the fake Telegram and Yandex servers, with a knowledge base, a vision model and a support
desk. Each wire runs the same story in one bot process (and its restart): a streamed answer,
history in the next prompt, a knowledge-base answer with its sources, a photo, the stop button,
a handoff whose card carries the model's summary, and a kill mid-stream answered again once.
Tools with confirmation run on the three wires in test_tools.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import E2E
from tests.e2e.test_media import jpeg, screenshot
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE
from tests.features.vision.test_photos import jpeg, screenshot

pytestmark = [pytest.mark.process, pytest.mark.timeout(240)]

SUPPORT = -1001234567890
STREAMER, KB_USER, PHOTO_USER, STOPPER, HANDED, KILLED = 7101, 7102, 7103, 7104, 7105, 7106
PATHS = {"native": "/foundationModels/v1/completion", "openai": "/v1/chat/completions",
         "responses": "/v1/responses"}
LONG = ("Rivers carry water from the mountains to the sea, shaping valleys, feeding fields and "
        "giving cities a reason to exist; their story is long and this answer is long too.")


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


def bodies(e2e: E2E, wire: str) -> list[dict[str, Any]]:
    return [r.json for r in e2e.fm.requests if r.path == PATHS[wire]]


def texts_with(e2e: E2E, chat: int, test: Callable[[str], bool]) -> Callable[[], list[str]]:
    return lambda: [text for text in e2e.texts(chat) if test(text)]


@pytest.mark.parametrize("wire", ["native", "openai", "responses"])
async def test_the_same_story_on_each_wire(tmp_path: Path, wire: str) -> None:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    workdir = tmp_path / "run"
    workdir.mkdir()
    env = {"KB_PATH": str(docs), "KB_MODE": "assist", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
           "EMBEDDING_RPS": "200", "SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off"}
    if wire != "native":
        env["TEXT_API"] = wire
    async with E2E(workdir, extra_env=env) as e2e:
        e2e.tg.add_forum(SUPPORT, "Support")
        try:
            await story(e2e, wire)
        except BaseException:
            print(f"--- bot log ({wire}), last lines:\n{e2e.bot.log_tail(80)}")
            raise
    assert e2e.db.check_consistency() == []


async def story(e2e: E2E, wire: str) -> None:
    path = PATHS[wire]
    await e2e.start_bot()
    await e2e.wait_for(lambda: e2e.db.path.exists() and e2e.db.query(
        "SELECT name FROM sqlite_master WHERE name = 'kb_sync_runs'") and e2e.db.count(
        "kb_sync_runs", "status = 'done'") >= 1, 60)
    log = e2e.bot.log_tail(200)
    assert f"TEXT_API={wire}" in log
    assert "models: " in (await e2e.wait_for(lambda: [
        r["message"] for r in e2e.bot.log_records() if r.get("message", "").startswith(
            "models: ")], 30))[0]

    # Streaming: drafts grow, the final message is exactly the model's text.
    reply = "Streaming works on every wire, and the user sees exactly what the model wrote."
    e2e.fm.queue_reply(reply, chunks=6, interval=0.2)
    e2e.tg.send_user_message(STREAMER, "Tell me something")
    chat = e2e.tg.chat(STREAMER)
    await e2e.wait_for(texts_with(e2e, STREAMER, lambda t: t == reply), 30)
    frames = [d.text for d in chat.drafts if d.text and d.text != reply]
    assert frames, "no partial text was shown before the final message"
    assert frames == sorted(frames, key=len)
    first = bodies(e2e, wire)[-1]
    assert first.get("store", False) is False
    assert "previous_response_id" not in first

    # History: the next prompt carries the first question and answer.
    e2e.fm.queue_reply("A second answer.")
    e2e.tg.send_user_message(STREAMER, "And one more thing?")
    await e2e.wait_for(texts_with(e2e, STREAMER, lambda t: t == "A second answer."), 30)
    seen = strings(bodies(e2e, wire)[-1])
    assert any("Tell me something" in s for s in seen)
    assert any(reply in s for s in seen)

    # The knowledge base: a grounded answer quoting its source, with the sources footer.
    e2e.fm.quote_sources = True
    e2e.tg.send_user_message(KB_USER, "How long does standard delivery take?")
    [grounded] = await e2e.wait_for(texts_with(e2e, KB_USER, lambda t: bool(t)), 30)
    assert grounded.startswith("Standard delivery takes 2 to 4 working days")
    assert "[1] Delivery options and times" in grounded
    e2e.fm.quote_sources = False

    # A photo: the vision model sees the image (over the Responses wire on `responses`).
    e2e.tg.send_user_photo_message(PHOTO_USER, [jpeg(screenshot(640, 480))], "What is this?")
    [seen_photo] = await e2e.wait_for(texts_with(e2e, PHOTO_USER, lambda t: bool(t)), 30)
    assert "[image 640x480]" in seen_photo
    assert len(e2e.fm.images_received) == 1
    vision_path = "/v1/responses" if wire == "responses" else "/v1/chat/completions"
    assert any(r.path == vision_path and "gemma" in str(r.json.get("model"))
               for r in e2e.fm.requests)

    # The stop button: the partial answer stays, marked, and is stored cancelled.
    e2e.fm.queue_reply(LONG, chunks=12, interval=0.4)
    e2e.tg.send_user_message(STOPPER, "Tell me everything about rivers")
    await e2e.wait_for(lambda: [d for d in e2e.tg.chat(STOPPER).drafts if d.text], 30)
    e2e.tg.press_stop(STOPPER)
    [stopped] = await e2e.wait_for(texts_with(e2e, STOPPER, lambda t: bool(t)), 30)
    assert stopped.endswith("[stopped]")
    assert LONG.startswith(stopped.removesuffix("[stopped]").strip())
    await e2e.wait_for(lambda: [m for m in e2e.db.messages(STOPPER)
                                if m["role"] == "assistant" and m["status"] == "cancelled"], 30)

    # The desk: a handoff's card carries the model's summary, asked on this wire.
    e2e.fm.queue_reply("Have you tried descaling it?")
    e2e.tg.send_user_message(HANDED, "My kettle is broken")
    await e2e.wait_for(texts_with(e2e, HANDED, lambda t: "descaling" in t), 30)
    e2e.fm.queue_reply("The user asks for a person about a broken kettle.")
    calls = len(bodies(e2e, wire))
    e2e.tg.send_user_message(HANDED, "/operator")
    [topic] = await e2e.wait_for(lambda: list(e2e.tg.topics.get(SUPPORT, {}).values()), 30)
    [card] = await e2e.wait_for(lambda: e2e.tg.topic_messages(SUPPORT, topic.thread_id), 30)
    assert "broken kettle" in (card.text or "")
    assert len(bodies(e2e, wire)) == calls + 1

    # Durability: killed mid-stream, the question is answered again after the restart, once.
    answer = "Lighthouses guide ships at night with a light that turns."
    e2e.fm.queue_reply(answer, chunks=8, interval=0.4)
    e2e.tg.send_user_message(KILLED, "Tell me about lighthouses")
    await e2e.wait_for(lambda: [d for d in e2e.tg.chat(KILLED).drafts if d.text], 30)
    await e2e.bot.kill()
    assert e2e.texts(KILLED) == []
    e2e.fm.queue_reply(answer, chunks=2)
    await e2e.start_bot()
    await e2e.wait_for(texts_with(e2e, KILLED, lambda t: t == answer), 60)
    assert e2e.texts(KILLED) == [answer]
    assert sum(1 for r in e2e.fm.requests if r.path == path) >= 6
    assert await e2e.bot.terminate() == 0
