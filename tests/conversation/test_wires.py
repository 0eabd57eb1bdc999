"""One deployment per wire (native, TEXT_API=openai, TEXT_API=responses), in process, with a
knowledge base, a vision model and a support desk: the same story on each: a streamed answer,
history in the next prompt, a knowledge-base answer with its sources, a photo, the stop button
and a handoff whose card carries the model's summary, asked on that wire. Was the in-process
part of tests/e2e/test_wires.py (which keeps the kill mid-stream, answered again once after
the restart, with the bot as a process)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Update

from bot import App
from bot.testing import BotTester, ServiceModel
from tests.features.knowledge.conftest import FIXTURE_KB, FIXTURE_MIN_SCORE
from tests.features.sending import jpeg, photo, rows, screenshot, shown, strings, until

pytestmark = [pytest.mark.timeout(120)]

SUPPORT = -1001234567890
PATHS = {"native": "/foundationModels/v1/completion", "openai": "/v1/chat/completions",
         "responses": "/v1/responses"}
LONG = ("Rivers carry water from the mountains to the sea, shaping valleys, feeding fields and "
        "giving cities a reason to exist; their story is long and this answer is long too.")




def bodies(model: ServiceModel, wire: str) -> list[dict[str, Any]]:
    return [r.json for r in model.service.requests if r.path == PATHS[wire]]


@pytest.mark.slow
@pytest.mark.parametrize("wire", ["native", "openai", "responses"])
async def test_the_same_story_on_each_wire(tmp_path: Path, wire: str) -> None:
    docs = tmp_path / "documents"
    shutil.copytree(FIXTURE_KB, docs)
    settings: dict[str, object] = {
        "KB_PATH": docs, "KB_MODE": "assist", "KB_MIN_SCORE": str(FIXTURE_MIN_SCORE),
        "EMBEDDING_RPS": "200", "SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off"}
    if wire != "native":
        settings["TEXT_API"] = wire
    model = ServiceModel()
    fm = model.service
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        # Streaming: drafts grow, the final message is exactly the model's text.
        streamer = tester.user("Streamer")
        reply = "Streaming works on every wire, and the user sees exactly what the model wrote."
        fm.queue_reply(reply, chunks=6, interval=0.05)
        streamed = await streamer.says("Tell me something")
        assert streamed.text == reply
        frames = [d for d in streamed.drafts if d and d != reply]
        assert frames, "no partial text was shown before the final message"
        assert frames == sorted(frames, key=len)
        first = bodies(model, wire)[-1]
        assert first.get("store", False) is False
        assert "previous_response_id" not in first

        # History: the next prompt carries the first question and answer.
        fm.queue_reply("A second answer.")
        second = await streamer.says("And one more thing?")
        assert second.text == "A second answer."
        seen = strings(bodies(model, wire)[-1])
        assert any("Tell me something" in s for s in seen)
        assert any(reply in s for s in seen)

        # The knowledge base: a grounded answer quoting its source, with the sources footer.
        fm.quote_sources = True
        grounded = await tester.user("Reader").says("How long does standard delivery take?")
        assert grounded.text.startswith("Standard delivery takes 2 to 4 working days")
        assert "[1] Delivery options and times" in grounded.text
        fm.quote_sources = False

        # A photo: the vision model sees the image (over the Responses wire on `responses`).
        seen_photo = await photo(tester, tester.user("Viewer"), [jpeg(screenshot(640, 480))],
                                 "What is this?")
        assert "[image 640x480]" in seen_photo.text
        assert len(fm.images_received) == 1
        vision_path = "/v1/responses" if wire == "responses" else "/v1/chat/completions"
        assert any(r.path == vision_path and "gemma" in str(r.json.get("model"))
                   for r in fm.requests)

        # The stop button: the partial answer stays, marked, and is stored cancelled.
        stopper = tester.user("Stopper")
        fm.queue_reply(LONG, chunks=12, interval=0.2)
        asking = asyncio.create_task(stopper.says("Tell me everything about rivers"))
        [draft] = (await until(tester, lambda: [
            c for c in tester.sent if c.method == "sendMessageDraft"
            and c.chat_id == stopper.id and c.params.get("text")], settle=False))[:1]
        await tester.built.telegram.process(Update.model_validate({
            "update_id": tester.next_update_id(), "stopped_message_generation": {
                "chat": {"id": stopper.id, "type": "private", "first_name": stopper.name},
                "draft_id": draft.params["draft_id"]}}))
        await asyncio.wait_for(asking, 60)
        [stopped] = [m for m in shown(tester, stopper.id) if m.text]
        assert stopped.text.endswith("[stopped]")
        assert LONG.startswith(stopped.text.removesuffix("[stopped]").strip())
        stored = await rows(tester, "SELECT m.role, m.status FROM messages m JOIN conversations c "
                            f"ON c.id = m.conversation_id WHERE c.chat_id = {stopper.id}")
        assert ("assistant", "cancelled") in [(r["role"], r["status"]) for r in stored]

        # The desk: a handoff's card carries the model's summary, asked on this wire.
        handed = tester.user("Handed")
        fm.queue_reply("Have you tried descaling it?")
        assert "descaling" in (await handed.says("My kettle is broken")).text
        fm.queue_reply("The user asks for a person about a broken kettle.")
        calls = len(bodies(model, wire))
        await handed.says("/operator")
        [topic] = [c for c in tester.sent if c.method == "createForumTopic"]
        assert topic.chat_id == SUPPORT
        [card, *_] = [m for m in shown(tester, SUPPORT) if m.text]
        assert "broken kettle" in card.text
        assert len(bodies(model, wire)) == calls + 1
