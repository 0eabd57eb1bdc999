"""Fault suite, the process itself: SIGKILL mid-stream and mid-image then a restart, a message
sent while the bot is down, SIGTERM during a stream.

One bot (long polling) for the module, as bot starts are expensive: the tests are steps of
one story and run in order. The kill is a real SIGKILL (no cleanup at all).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E

# The tests are steps of one story on one bot (a module fixture): one pytest-xdist worker
# runs them all, in order (--dist loadgroup).
pytestmark = [pytest.mark.process, pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.timeout(180), pytest.mark.xdist_group("process-story")]

STREAM, IMAGE, WHILE_DOWN, TERM, GROUP = 5101, 5102, 5103, 5104, -5105
ANSWER = (
    "A lighthouse keeper trimmed the wick, wound the clockwork and polished the lens every "
    "evening, so that the beam turned all night without fail."
)
OK = [("user", "complete"), ("assistant", "complete")]


class Story:
    def __init__(self, e2e: E2E) -> None:
        self.e2e = e2e
        self.model = KeyedModel(e2e.fm)

    def ask(self, chat: int, text: str, reply: Reply) -> str:
        tag = f"(case {chat})"
        self.model.scripts[tag] = Script(reply)
        self.e2e.tg.send_user_message(chat, f"{text} {tag}")
        return tag

    def served(self, chat: int) -> int:
        return self.model.served[f"(case {chat})"]

    def roles(self, chat: int) -> list[tuple[str, str]]:
        return [(m["role"], m["status"]) for m in self.e2e.db.messages(chat)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def story(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Story]:
    failed = request.session.testsfailed
    async with E2E(tmp_path_factory.mktemp("process")) as e2e:
        yield Story(e2e)
        if request.session.testsfailed > failed:
            print(f"--- bot log, last lines:\n{e2e.bot.log_tail(80)}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def killed(story: Story) -> Story:
    """SIGKILL while chat STREAM sees a partial answer and chat IMAGE's job is polled; a user
    writes while the bot is down; then the bot is started again."""
    e2e = story.e2e
    e2e.fm.image_pending_polls = 4  # polled at ~1 s, 2.5 s, 4.8 s...: still pending at the kill
    await e2e.start_bot()
    story.ask(STREAM, "Tell me about lighthouses", Reply(ANSWER, chunks=8, interval=0.4))
    story.model.scripts[f"(case {IMAGE})"] = Script()  # counts the submits
    e2e.tg.send_user_message(IMAGE, f"/image a lighthouse in a storm (case {IMAGE})")
    story.model.scripts[f"(case {GROUP})"] = Script(Reply(ANSWER, chunks=8, interval=0.5))
    e2e.tg.send_user_message(
        GROUP, f"@fm_test_bot tell us about lighthouses (case {GROUP})",
        chat_type="supergroup", title="Keepers", user={"id": 5105, "first_name": "Ann"},
    )
    stream, group = e2e.tg.chat(STREAM), e2e.tg.chat(GROUP)
    await e2e.wait_for(lambda: [d for d in stream.drafts if d.text], 30)
    await e2e.wait_for(lambda: group.bot_messages, 30)  # the group's first frame is shown
    # ... and recorded: no process can know a message id before Telegram answers the send,
    # so a kill in the milliseconds between the two cannot be repaired.
    await e2e.wait_for(
        lambda: [
            m for m in e2e.db.messages(GROUP)
            if m["role"] == "assistant" and m["telegram_message_ids"] not in (None, "[]")
        ],
        30,
    )
    await e2e.wait_for(lambda: [j for j in e2e.db.image_jobs() if j["operation_id"]], 30)
    await e2e.bot.kill()
    assert e2e.texts(STREAM) == [], "only drafts were shown before the kill"
    assert e2e.photos(IMAGE) == []
    story.ask(WHILE_DOWN, "Are you awake?", Reply("Awake now."))
    await e2e.start_bot()
    return story


@scenario("SIGKILL mid-stream, restart: the question is answered again, once, exactly")
async def test_sigkill_mid_stream(killed: Story) -> None:
    e2e = killed.e2e
    await e2e.wait_for(lambda: e2e.texts(STREAM) == [ANSWER], 60)
    await e2e.wait_for(lambda: killed.roles(STREAM) == OK, 20)
    rows = e2e.db.messages(STREAM)
    assert rows[1]["text"] == ANSWER
    assert killed.served(STREAM) == 2, "asked once before the kill and once after"


@scenario("SIGKILL mid-stream in a group, restart: one complete answer, no stale partial")
async def test_sigkill_mid_stream_in_a_group(killed: Story) -> None:
    e2e = killed.e2e
    await e2e.wait_for(lambda: ANSWER in e2e.texts(GROUP), 60)
    await e2e.wait_for(lambda: killed.roles(GROUP) == OK, 20)
    assert e2e.texts(GROUP) == [ANSWER], "the partial message the crash left must not stay"


@scenario("SIGKILL mid-image, restart: the image arrives once, the job is resumed")
async def test_sigkill_mid_image(killed: Story) -> None:
    e2e = killed.e2e
    await e2e.wait_for(lambda: e2e.photos(IMAGE), 60)
    await e2e.wait_for(lambda: len(e2e.texts(IMAGE)) == 1, 20)  # status message removed
    assert e2e.photos(IMAGE) == [e2e.fm.image_bytes]
    [job] = await e2e.wait_for(
        lambda: [j for j in e2e.db.image_jobs() if j["status"] == "delivered"], 20
    )
    assert job["result_message_id"] == e2e.tg.chat(IMAGE).bot_messages[-1].message_id
    assert killed.served(IMAGE) == 1, "resumed, not submitted again"


@scenario("message sent while the bot was down: answered once after the restart")
async def test_message_while_down(killed: Story) -> None:
    e2e = killed.e2e
    await e2e.wait_for(lambda: e2e.texts(WHILE_DOWN) == ["Awake now."], 60)
    await e2e.wait_for(lambda: killed.roles(WHILE_DOWN) == OK, 20)
    assert killed.served(WHILE_DOWN) == 1


@scenario("SIGTERM during a stream: the answer is finished, clean exit, consistent store")
async def test_sigterm_during_stream(killed: Story) -> None:
    e2e = killed.e2e
    # Nothing from before must arrive twice, and nothing may be left half done.
    for chat, count in ((STREAM, 1), (IMAGE, 1), (WHILE_DOWN, 1), (GROUP, len(e2e.texts(GROUP)))):
        assert len(e2e.tg.chat(chat).bot_messages) == count, (chat, e2e.texts(chat))
    killed.ask(TERM, "One more about lighthouses", Reply(ANSWER, chunks=8, interval=0.4))
    term = e2e.tg.chat(TERM)
    await e2e.wait_for(lambda: [d for d in term.drafts if d.text], 30)
    assert await e2e.bot.terminate(within=40) == 0
    assert e2e.texts(TERM) == [ANSWER]
    assert killed.roles(TERM) == OK
    assert json.loads(e2e.db.messages(TERM)[1]["telegram_message_ids"]) == [
        term.bot_messages[0].message_id
    ]
    assert e2e.db.check_consistency() == []
    assert e2e.tg.count_flood_429 == 0
