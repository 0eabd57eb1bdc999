"""The bot as a process (`python -m bot run`, long polling, the native wire), killed with
SIGKILL while every kind of durable work is in flight at once, restarted once, then stopped
with SIGTERM mid-stream and started a third time: the process is the subject (a kill leaves
no cleanup at all; a restart starts from nothing but the database). One bot configured with
everything: a support desk, a TOOLS_FILE, the helpdesk example plugin, voice. (The webhook and
Responses-wire story of the same kind is test_faults_webhook.py.)

In flight at the kill:

- answers streaming: a private chat, a group (its first frame shown and recorded), a voice
  question's answer, three users' first answers with six more questions queued behind them
  (the durable queue: Telegram has been told of all nine);
- a YandexART operation being polled (`/image`), a long voice note's pending STT v3
  operation, a handoff's pending summary (completionAsync);
- a voice reply between its text and its voice (the synthesis held);
- a plugin command whose reply Telegram took but the bot never learned of;
- desk relays held up by a 429, both directions;
- a confirmation card of a tool that writes, not pressed yet.

Then a user writes while the bot is down. After one restart each outcome is asserted: every
answer delivered exactly once (no stale partial), every operation resumed and never
submitted again, the voice sent once, the plugin's command replayed once, the relays
delivered once each, the write run once for two presses. SIGTERM during a stream finishes the
answer and exits 0; a third start replays nothing. A failure names its part.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.testing.ogg_opus import ogg_opus
from bot.testing.telegram.state import Call, ChatMessage
from bot.testing.yandex.scripts import Reply
from tests.conftest import REPO_ROOT
from tests.e2e import durable_queue
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E
from tests.e2e.tools_world import SECRET, SHOP_TOKEN, CompanyApi, card_in

# On one of the process step's workers with the database failover (test_db_failover.py).
pytestmark = [pytest.mark.process, pytest.mark.timeout(420),
              pytest.mark.xdist_group("failover-and-stories")]

STREAM, IMAGE, WHILE_DOWN, TERM, GROUP = 5101, 5102, 5103, 5104, -5105
QUEUE_USERS = (7201, 7202, 7203)
LONG_VOICE, VOICE, VOICE_STREAM = 3302, 3301, 3303
SUPPORT, OPERATOR = -1001234567890, {"id": 501, "first_name": "Olga"}
RELAYED, SUMMARISED = 3001, 6003  # desk users: relays held up, a summary pending
TOOLS_USER = 4242
ANNA, BORIS = 7301, 7302  # in the helpdesk plugin's staff directory
PLUGIN = REPO_ROOT / "examples" / "helpdesk_plugin"
ANSWER = (
    "A lighthouse keeper trimmed the wick, wound the clockwork and polished the lens every "
    "evening, so that the beam turned all night without fail."
)
SPOKEN = "Lighthouses guide ships at night."
OK = [("user", "complete"), ("assistant", "complete")]
SUMMARY_SUBMIT = "/foundationModels/v1/completionAsync"
HELD = 100_000  # polls an operation stays pending: until the test says otherwise
SLOW = (20, 0.5)  # a stream of about 10 s: still streaming at the kill


def pip_install(package: Path, target: Path) -> None:
    """`pip install` into a folder of its own, offline: no index, this venv's setuptools."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target),
         str(package)],
        check=True, capture_output=True, timeout=120,
    )


@pytest.fixture(scope="module")
def helpdesk_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("helpdesk-site")
    # Built from a copy: pip builds in the source tree, and another worker may build too.
    source = tmp_path_factory.mktemp("helpdesk-source") / "helpdesk_plugin"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    pip_install(source, site)
    return site


def tools_file(workdir: Path, api_url: str) -> Path:
    """One tool that writes, confirmed by the user (the full TOOLS_FILE: test_tools.py)."""
    path = workdir / "tools.toml"
    path.write_text(f"""
[[http]]
name = "open_ticket"
description = "Open a support ticket."
method = "POST"
url = "{api_url}/api/tickets"
parameters = {{ type = "object", properties = {{ subject = {{ type = "string" }} }}, \
required = ["subject"] }}
headers = {{ Authorization = "Bearer ${{SHOP_TOKEN}}" }}
confirm = true
""", encoding="utf-8")
    return path


@dataclass
class Story:
    e2e: E2E
    model: KeyedModel
    api: CompanyApi

    def ask(self, chat: int, text: str, reply: Reply, **kwargs: Any) -> None:
        self.model.scripts[tag(chat)] = Script(reply)
        self.e2e.tg.send_user_message(chat, f"{text} {tag(chat)}", **kwargs)

    def served(self, chat: int) -> int:
        return self.model.served[tag(chat)]

    def voices(self, chat: int) -> list[ChatMessage]:
        found = self.e2e.tg.chats.get(chat)
        return [] if found is None else [m for m in found.bot_messages if m.voice is not None]

    def with_text(self, chat: int, needle: str) -> list[ChatMessage]:
        found = self.e2e.tg.chats.get(chat)
        return [] if found is None else [
            m for m in found.bot_messages if needle in (m.text or "")]

    def drafting(self, chat: int, needle: str = "") -> bool:
        return any(d.text and needle in d.text for d in self.e2e.tg.chat(chat).drafts)

    def relayed(self, thread: int) -> list[str | None]:
        """What the bot posted in the desk topic after its card."""
        return [m.text for m in self.e2e.tg.topic_messages(SUPPORT, thread) if m.from_bot][1:]

    def card_edits(self, message_id: int) -> list[str]:
        return [str(c.params.get("text")) for c in self.e2e.tg.calls_for(SUPPORT)
                if c.method == "editMessageText" and c.status == 200
                and int(c.params.get("message_id") or 0) == message_id]

    def whoami_replies(self, chat: int) -> list[Call]:
        return [c for c in self.e2e.tg.calls
                if c.method == "sendMessage" and c.chat_id == chat
                and str(c.params.get("text", "")).startswith("You are")]

    def count(self, table: str, where: str) -> int:
        return int(self.e2e.db.query(f"SELECT count(*) AS n FROM {table} WHERE {where}")[0]["n"])

    def shown(self) -> dict[int, int]:
        """How many bot messages each chat shows."""
        return {chat_id: len(chat.bot_messages) for chat_id, chat in self.e2e.tg.chats.items()}


def tag(chat: int) -> str:
    return f"(case {chat})"


@pytest.fixture
async def story(
    tmp_path: Path, helpdesk_site: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Story]:
    async with CompanyApi() as api:
        env = {
            "SUPPORT_CHAT_ID": str(SUPPORT), "CSAT": "off",
            "STT_POLL_INTERVAL": "0.2",
            "TOOLS_FILE": str(tools_file(tmp_path, api.url)),
            "TOOLS_SIGNING_SECRET": SECRET, "SHOP_TOKEN": SHOP_TOKEN,
            "PYTHONPATH": str(helpdesk_site), "FMBOT_PLUGINS": "helpdesk",
            "HELPDESK_EMPLOYEES_CSV": str(PLUGIN / "employees.csv"),
        }
        async with E2E(tmp_path, extra_env=env) as e2e:
            e2e.tg.add_forum(SUPPORT, "Support")
            e2e.tg.add_member(SUPPORT, OPERATOR["id"])
            yield Story(e2e, KeyedModel(e2e.fm), api)
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                print(f"--- bot log, last lines:\n{e2e.bot.log_tail(120)}")


@scenario(
    "SIGKILL mid-stream, restart: the question is answered again, once, exactly",
    "SIGKILL mid-stream in a group, restart: one complete answer, no stale partial",
    "SIGKILL mid-image, restart: the image arrives once, the job is resumed",
    "message sent while the bot was down: answered once after the restart",
    "SIGKILL with 6 questions queued behind 3 answers (polling): all 9 answered, in order",
    "SIGKILL with a long voice note's STT pending: recognised once, never submitted again",
    "SIGKILL between a voice reply's text and its voice: the voice sent once",
    "SIGKILL with a handoff's summary pending: delivered once, never submitted again",
    "SIGKILL between a plugin command's receipt and its reply: replayed once",
    "SIGKILL with desk relays held up by a 429: each delivered once",
    "SIGKILL between a tool's confirmation card and its press: the write runs once",
    "SIGTERM during a stream: the answer is finished, clean exit, consistent store",
)
async def test_a_bot_killed_with_everything_in_flight_recovers_each_part_once(
    story: Story,
) -> None:
    s, e2e = story, story.e2e
    e2e.fm.text_pending_polls = HELD  # the handoff summary's operation
    e2e.fm.image_pending_polls = HELD
    e2e.fm.stt_pending_polls = HELD
    e2e.fm.tts_gate = asyncio.Event()  # synthesis hangs: the bot is killed meanwhile
    await e2e.start_bot()

    # 1. Work that waits on its own (operations pending, a reply held) goes first.
    summary_card = await summary_pending(s)
    relay_thread = await handed_over(s, RELAYED)
    tool_card = await tool_card_shown(s)
    await image_being_polled(s)
    await long_voice_pending(s)
    question = await voice_reply_between_text_and_voice(s)
    reply_held = await plugin_reply_held(s)
    # 2. Then what lasts seconds only: relays waiting out a 429, answers streaming.
    await relays_held_up(s, relay_thread)
    voice_note = await answers_streaming(s)

    await e2e.bot.kill()
    assert e2e.texts(STREAM) == [], "stream: only drafts were shown before the kill"
    assert e2e.photos(IMAGE) == [], "image: no photo before the kill"
    assert all(e2e.texts(chat) == [] for chat in QUEUE_USERS), "queue: only drafts were shown"
    assert s.relayed(relay_thread) == [], "relays: none sent before the kill"
    assert s.voices(VOICE) == s.voices(VOICE_STREAM) == [], "voice: none sent before the kill"
    assert s.count("processed_updates", f"chat_id = {BORIS} AND payload IS NOT NULL") == 1, (
        "plugin: the /whoami update is still queued")
    reply_held.set()  # Telegram's answer to the killed bot's send goes nowhere
    e2e.fm.tts_gate.set()
    for state in e2e.fm.operations.values():  # every pending operation ends at its next poll
        state["polls_left"] = min(state["polls_left"], 1)
    summaries = summary_submits(s)
    for script in s.model.scripts.values():  # answered again at once after the restart
        if script.reply is not None and script.reply.interval == SLOW[1]:
            script.reply = Reply(script.reply.text, chunks=2)
    s.ask(WHILE_DOWN, "Are you awake?", Reply("Awake now."))
    await e2e.start_bot()

    # 3. Each part, once.
    await streams_answered_once(s)
    await image_delivered_once(s)
    await durable_queue.all_answered_in_order_once(e2e, s.model, QUEUE_USERS)
    await long_voice_recognised_once(s)
    await voices_sent_once(s, question, voice_note)
    await summary_delivered_once(s, summary_card, summaries)
    await plugin_command_replayed_once(s)
    await relays_delivered_once(s, relay_thread)
    await tool_run_once_for_two_presses(s, tool_card)
    await voice_retry_spoken_once(s, question)
    await asyncio.sleep(1.5)  # anything delivered twice would show by now
    assert e2e.db.check_consistency() == [], "after the restart: the store"
    assert e2e.db.count("processed_updates", "payload IS NOT NULL") == 0, "left queued"
    shown = s.shown()

    # 4. SIGTERM during a stream; 5. a third start replays nothing.
    await sigterm_during_stream(s)
    shown[TERM] = 1
    await e2e.start_bot()
    e2e.tg.send_user_message(ANNA, "/whoami")
    await e2e.wait_for(lambda: e2e.texts(ANNA))
    await asyncio.sleep(1.0)
    assert len(s.whoami_replies(BORIS)) == 2, "third start: the plugin's command replayed again"
    assert {c: n for c, n in s.shown().items() if c != ANNA} == shown, (
        "third start: something was delivered again")
    assert await e2e.bot.terminate() == 0
    assert e2e.db.check_consistency() == [], "after the third start: the store"
    # No flood anywhere but where the relays' 429s were injected: Telegram keeps refusing
    # there until their retry_after is up, which a bot started afresh cannot know.
    refused = [(round(c.at % 1000, 2), c.method, c.chat_id, c.description)
               for c in e2e.tg.calls if c.status == 429 and c.chat_id not in (RELAYED, SUPPORT)]
    assert refused == [], f"Telegram's flood limits were hit: {refused}"


async def summary_pending(s: Story) -> int:
    """A user handed over after a question: the card is posted, its summary's operation
    pending. Returns the card's message id."""
    e2e = s.e2e
    e2e.tg.send_user_message(SUMMARISED, "My kettle leaks, what should I do?")
    await e2e.wait_for(lambda: e2e.texts(SUMMARISED), 30)
    thread = await handed_over(s, SUMMARISED)
    card = next(m for m in e2e.tg.topic_messages(SUPPORT, thread) if m.from_bot)
    running = f"status = 'running' AND user_id = {SUMMARISED}"
    await e2e.wait_for(lambda: s.count("insight_jobs", running) == 1, 30)
    # Killed once the card's message id is stored: a kill between Telegram taking the card
    # and the bot recording it posts the card again at start (a window of its own, tested
    # with the desk), and this part is about the pending summary.
    carded = f"user_id = {SUMMARISED} AND card_message_id IS NOT NULL"
    await e2e.wait_for(lambda: s.count("desk_cases", carded) == 1, 30)
    return card.message_id


async def handed_over(s: Story, user: int) -> int:
    """/operator: a topic of the user's in the support chat, with the card. Its thread id."""
    e2e = s.e2e
    e2e.tg.send_user_message(user, "/operator")

    def topic() -> int | None:
        for found in e2e.tg.topics.get(SUPPORT, {}).values():
            if f"· {user}" in found.name and not found.deleted:
                return int(found.thread_id)
        return None

    thread = await e2e.wait_for(topic, 30)
    await e2e.wait_for(lambda: [m for m in e2e.tg.topic_messages(SUPPORT, thread)
                                if m.from_bot], 30)
    return thread


async def tool_card_shown(s: Story) -> tuple[int, list[str]]:
    """The model asks to open a ticket: the confirmation card, nothing called yet."""
    e2e = s.e2e
    call = {"name": "open_ticket", "arguments": {"subject": "Broken kettle"}}
    s.ask(TOOLS_USER, "My kettle arrived broken, open a ticket", Reply("", tool_calls=[call]),
          language_code="en")
    message_id, buttons = await e2e.wait_for(lambda: card_in(e2e, TOOLS_USER), 30)
    # After the press the model reads the tool's result (the fake's echo of it).
    del s.model.scripts[tag(TOOLS_USER)]
    assert len(buttons) == 2, "tools: two buttons, the first confirms, the second cancels"
    card = e2e.tg.chat(TOOLS_USER).find(message_id)
    assert card is not None
    assert "open_ticket" in (card.text or "")
    assert "Broken kettle" in (card.text or "")
    assert s.api.to("/api/tickets") == [], "tools: nothing is called before the press"
    return message_id, buttons


async def image_being_polled(s: Story) -> None:
    e2e = s.e2e
    s.model.scripts[tag(IMAGE)] = Script()  # counts the submits
    e2e.tg.send_user_message(IMAGE, f"/image a lighthouse in a storm {tag(IMAGE)}")
    [job] = await e2e.wait_for(lambda: [j for j in e2e.db.image_jobs() if j["operation_id"]], 30)
    # Polled: the operation id was stored before polling.
    polled = f"/operations/{job['operation_id']}"
    await e2e.wait_for(lambda: any(r.path == polled for r in e2e.fm.requests), 30)


async def long_voice_pending(s: Story) -> None:
    """A 90 s voice note: STT v3's operation submitted and pending, "Listening…" shown."""
    e2e = s.e2e
    e2e.fm.queue_transcript("What did I miss")
    e2e.tg.send_user_voice(LONG_VOICE, ogg_opus(90), duration=90, language_code="en")
    await e2e.wait_for(lambda: len(e2e.fm.stt_async_requests) == 1 and listening(s), 60)
    await e2e.wait_for(lambda: s.count(
        "speech_jobs", f"status = 'submitted' AND chat_id = {LONG_VOICE}") == 1, 30)


def listening(s: Story) -> list[ChatMessage]:
    chat = s.e2e.tg.chats.get(LONG_VOICE)
    return [] if chat is None else [m for m in chat.history if "Listening" in (m.text or "")]


async def voice_reply_between_text_and_voice(s: Story) -> ChatMessage:
    """A voice question answered in text, its voice being synthesised (held). The note."""
    e2e = s.e2e
    e2e.fm.queue_transcript("what is the plan")
    e2e.tg.send_user_voice(VOICE, ogg_opus(2), duration=2, language_code="en")
    await e2e.wait_for(lambda: s.with_text(VOICE, "Echo: what is the plan"), 60)
    await e2e.wait_for(lambda: e2e.fm.tts_waiting == 1, 30)
    return next(m for m in e2e.tg.chat(VOICE).history if not m.from_bot)


async def plugin_reply_held(s: Story) -> asyncio.Event:
    """/whoami (the helpdesk plugin's command): Telegram takes the reply and holds its answer
    back until the returned event is set, after the kill."""
    e2e = s.e2e
    held, release = asyncio.Event(), asyncio.Event()

    async def hold_the_answer(call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id == BORIS and e2e.tg.before_reply:
            e2e.tg.before_reply = None
            held.set()
            await release.wait()

    e2e.tg.before_reply = hold_the_answer
    e2e.tg.send_user_message(BORIS, "/whoami")
    await e2e.wait_for(held.is_set, 30)
    return release


async def relays_held_up(s: Story, thread: int) -> None:
    """Both directions held up by a 429 (retry after 8 s) while four messages are recorded."""
    e2e = s.e2e
    e2e.tg.fail_next("copyMessage", 429, retry_after=8, chat_id=SUPPORT)
    e2e.tg.fail_next("copyMessage", 429, retry_after=8, chat_id=RELAYED)
    for text in ("first", "second", "third"):
        e2e.tg.send_user_message(RELAYED, text)
    e2e.tg.send_user_message(SUPPORT, "Operator here", user=OPERATOR, thread_id=thread)
    pending = f"state = 'pending' AND user_id = {RELAYED}"
    await e2e.wait_for(lambda: s.count("desk_relays", pending) == 4, 30)


async def answers_streaming(s: Story) -> ChatMessage:
    """Answers streaming in a private chat, a group, to a voice question and to three users
    with six questions queued behind them. The voice question's note."""
    e2e = s.e2e
    e2e.fm.queue_transcript(f"tell me about lighthouses {tag(VOICE_STREAM)}")
    s.model.scripts[tag(VOICE_STREAM)] = Script(Reply(SPOKEN, *SLOW))
    e2e.tg.send_user_voice(VOICE_STREAM, ogg_opus(2), duration=2, language_code="en")
    s.ask(STREAM, "Tell me about lighthouses", Reply(ANSWER, *SLOW))
    s.ask(GROUP, "@fm_test_bot tell us about lighthouses", Reply(ANSWER, *SLOW),
          chat_type="supergroup", title="Keepers", user={"id": 5105, "first_name": "Ann"})
    durable_queue.ask_nine(e2e, s.model, QUEUE_USERS, first=SLOW)
    await e2e.wait_for(lambda: s.drafting(STREAM), 30)
    await e2e.wait_for(lambda: s.drafting(VOICE_STREAM, "Lighthouses"), 60)
    await e2e.wait_for(lambda: e2e.tg.chat(GROUP).bot_messages, 30)  # the first frame shown
    # ... and recorded: no process can know a message id before Telegram answers the send,
    # so a kill in the milliseconds between the two cannot be repaired.
    await e2e.wait_for(lambda: [
        m for m in e2e.db.messages(GROUP)
        if m["role"] == "assistant" and m["telegram_message_ids"] not in (None, "[]")], 30)
    await durable_queue.queued_behind_the_answers(e2e, QUEUE_USERS)
    assert e2e.texts(STREAM) == [], "stream: still streaming at the kill"
    return [m for m in e2e.tg.chat(VOICE_STREAM).history if not m.from_bot][-1]


async def streams_answered_once(s: Story) -> None:
    e2e = s.e2e
    await e2e.wait_for(lambda: e2e.texts(STREAM) == [ANSWER], 60)
    await e2e.wait_for(lambda: e2e.roles(STREAM) == OK, 20)
    assert e2e.db.messages(STREAM)[1]["text"] == ANSWER
    assert s.served(STREAM) == 2, "stream: asked once before the kill and once after"
    await e2e.wait_for(lambda: ANSWER in e2e.texts(GROUP), 60)
    await e2e.wait_for(lambda: e2e.roles(GROUP) == OK, 20)
    assert e2e.texts(GROUP) == [ANSWER], "group: the partial message the crash left must go"
    await e2e.wait_for(lambda: e2e.texts(WHILE_DOWN) == ["Awake now."], 60)
    await e2e.wait_for(lambda: e2e.roles(WHILE_DOWN) == OK, 20)
    assert s.served(WHILE_DOWN) == 1, "while down: answered once"


async def image_delivered_once(s: Story) -> None:
    e2e = s.e2e
    await e2e.wait_for(lambda: e2e.photos(IMAGE), 60)
    await e2e.wait_for(lambda: len(e2e.texts(IMAGE)) == 1, 20)  # status message removed
    assert e2e.photos(IMAGE) == [e2e.fm.image_bytes], "image: delivered once, these bytes"
    [job] = await e2e.wait_for(
        lambda: [j for j in e2e.db.image_jobs() if j["status"] == "delivered"], 20)
    assert job["result_message_id"] == e2e.tg.chat(IMAGE).bot_messages[-1].message_id
    assert s.served(IMAGE) == 1, "image: resumed, not submitted again"
    submitted = [r for r in e2e.fm.requests if r.path.endswith("imageGenerationAsync")]
    assert len(submitted) == 1, "image: the restarted bot resumes the operation"


async def long_voice_recognised_once(s: Story) -> None:
    e2e = s.e2e
    [answer] = await e2e.wait_for(lambda: s.with_text(LONG_VOICE, "Echo:"), 60)
    assert answer.text == "Echo: What did I miss"
    assert len(e2e.fm.stt_async_requests) == 1, "long voice: the audio was not submitted again"
    assert len(s.with_text(LONG_VOICE, "🎤")) == 1, "long voice: heard once"
    assert all(m.deleted for m in listening(s)), "long voice: no stale Listening… left"
    await e2e.wait_for(lambda: e2e.roles(LONG_VOICE) == OK, 20)


async def voices_sent_once(s: Story, question: ChatMessage, note: ChatMessage) -> None:
    e2e = s.e2e
    [voice] = await e2e.wait_for(lambda: s.voices(VOICE), 60)
    assert len(s.with_text(VOICE, "Echo: what is the plan")) == 1, (
        "voice reply: the text answer is not repeated")
    sent = f"SELECT file_ids FROM voice_replies WHERE status = 'sent' AND chat_id = {VOICE}"
    [row] = await e2e.wait_for(lambda: e2e.db.query(sent), 30)
    assert voice.voice_file_id in row["file_ids"]
    assert voice.reply_to == question.message_id
    # The answer killed mid-stream, given again after the restart, is spoken once.
    await e2e.wait_for(lambda: s.voices(VOICE_STREAM), 60)
    [spoken] = s.voices(VOICE_STREAM)
    assert spoken.reply_to == note.message_id, "voice stream: spoken as a reply to the note"
    assert len(s.with_text(VOICE_STREAM, SPOKEN)) == 1, "voice stream: answered once"
    assert [r.text for r in e2e.fm.tts_requests].count(SPOKEN) == 1, "voice stream: synthesis"


async def voice_retry_spoken_once(s: Story, question: ChatMessage) -> None:
    """/retry of a question asked by voice: the new answer is spoken too, once, as a reply to
    the voice note (the stored question's text holds no trace of the voice)."""
    e2e = s.e2e
    synthesised = len(e2e.fm.tts_requests)
    e2e.tg.send_user_message(VOICE, "/retry")
    await e2e.wait_for(lambda: len(s.voices(VOICE)) == 2, 60)
    assert s.voices(VOICE)[1].reply_to == question.message_id
    assert len(e2e.fm.tts_requests) == synthesised + 1, "voice /retry: synthesised once"
    # /retry replaced the first answer (its voice row went with it): the two answers left.
    statuses = ("SELECT status FROM voice_replies WHERE chat_id IN "
                f"({VOICE}, {VOICE_STREAM}) ORDER BY id")
    await e2e.wait_for(
        lambda: [r["status"] for r in e2e.db.query(statuses)] == ["sent", "sent"], 30)
    [spoken] = e2e.db.query("SELECT count(*) AS n FROM spoken_questions WHERE chat_id IN "
                            f"({VOICE}, {VOICE_STREAM})")
    assert spoken["n"] == 2


def summary_submits(s: Story) -> int:
    """The summary requests about the kettle (the other desk user's has its own)."""
    return sum(1 for r in s.e2e.fm.requests
               if r.path == SUMMARY_SUBMIT and "My kettle leaks" in json.dumps(r.json))


async def summary_delivered_once(s: Story, card: int, submitted: int) -> None:
    e2e = s.e2e
    [late] = await e2e.wait_for(lambda: s.card_edits(card), 60)
    assert "Problem: My kettle leaks" in late, "summary: the card shows it"
    applied = f"status = 'applied' AND user_id = {SUMMARISED}"
    await e2e.wait_for(lambda: s.count("insight_jobs", applied) == 1, 30)
    assert submitted == 1, "summary: submitted once before the kill"
    assert summary_submits(s) == submitted, "summary: polled after the restart, never again"
    assert len(s.card_edits(card)) == 1, "summary: the card edited once"


async def plugin_command_replayed_once(s: Story) -> None:
    e2e = s.e2e
    await e2e.wait_for(lambda: len(s.whoami_replies(BORIS)) == 2, 30)
    await e2e.wait_for(lambda: s.count(
        "processed_updates", f"chat_id = {BORIS} AND payload IS NOT NULL") == 0, 10)
    assert e2e.texts(BORIS) == ["You are Boris Ivanov, Engineering department."] * 2, (
        "plugin: replayed exactly once")


async def relays_delivered_once(s: Story, thread: int) -> None:
    e2e = s.e2e
    await e2e.wait_for(lambda: len(s.relayed(thread)) >= 3, 60)
    await e2e.wait_for(lambda: "Operator here" in e2e.texts(RELAYED), 60)
    await e2e.wait_for(lambda: s.count(
        "desk_relays", f"state = 'done' AND user_id = {RELAYED}") == 4, 30)
    rows = e2e.db.query(f"SELECT target_message_id FROM desk_relays WHERE user_id = {RELAYED}")
    assert all(r["target_message_id"] for r in rows), "relays: each one's copy recorded"
    await asyncio.sleep(1.0)  # anything duplicated would show up by now
    assert s.relayed(thread) == ["first", "second", "third"], "relays: to the topic, once each"
    assert e2e.texts(RELAYED).count("Operator here") == 1, "relays: to the user, once"


async def tool_run_once_for_two_presses(s: Story, card: tuple[int, list[str]]) -> None:
    e2e = s.e2e
    message_id, buttons = card
    before = len(e2e.texts(TOOLS_USER))
    e2e.tg.send_callback_query(TOOLS_USER, message_id, buttons[0])
    e2e.tg.send_callback_query(TOOLS_USER, message_id, buttons[0])  # pressed twice
    await e2e.wait_for(lambda: any("T-1" in t for t in e2e.texts(TOOLS_USER)[before:]), 30)
    await asyncio.sleep(1.0)  # a second run would show by now
    posts = s.api.to("/api/tickets")
    assert len(posts) == 1, "tools: the write ran once for two presses"
    assert len(s.api.tickets) == 1
    assert posts[0].signed
    assert posts[0].headers["X-Fmbot-User-Id"] == str(TOOLS_USER)
    key = posts[0].headers["Idempotency-Key"]
    assert key
    assert json.loads(posts[0].body) == {"subject": "Broken kettle"}
    rows = e2e.db.query("SELECT state, decided_by, idempotency_key FROM tool_calls")
    assert [tuple(r.values()) for r in rows] == [("done", TOOLS_USER, key)]


async def sigterm_during_stream(s: Story) -> None:
    e2e = s.e2e
    s.ask(TERM, "One more about lighthouses", Reply(ANSWER, chunks=8, interval=0.4))
    await e2e.wait_for(lambda: s.drafting(TERM), 30)
    assert await e2e.bot.terminate(within=40) == 0, "SIGTERM: a clean exit"
    assert e2e.texts(TERM) == [ANSWER], "SIGTERM: the answer under way is finished"
    assert e2e.roles(TERM) == OK
    assert json.loads(e2e.db.messages(TERM)[1]["telegram_message_ids"]) == [
        e2e.tg.chat(TERM).bot_messages[0].message_id
    ]
    assert e2e.db.check_consistency() == [], "after SIGTERM: the store"
