"""Streamed answers: one conversation turn delivered through the Outbox.

A turn runs as a job in its chat's FIFO (chatqueue.py): snapshots go to a StreamHandle (a
draft in private chats, one edited message in groups, with a typing indicator until the first
text), the final text is always delivered, and every failure becomes a clear message that
keeps the partial answer. A cancelled job (/stop, the draft's stop button, shutdown) delivers
what was written so far, marked as stopped; the conversation core stores it as cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteMessage

from bot.conversation import (
    ContentFilteredError,
    ConversationService,
    Speaker,
    TurnResult,
    relinquished,
)
from bot.foundation_models.types import Snapshot
from bot.metrics import registry as metrics
from bot.storage.database import unavailable
from bot.storage.models import MessageStatus
from bot.storage.repositories import UpdateReceipt
from bot.telegram.answer_parts import (
    AfterDelivery,
    FinalForm,
    Runner,
    StreamNote,
    Suspension,
    Target,
    describe_error,
    join_note,
)
from bot.telegram.chatqueue import ChatQueues, Ticket
from bot.telegram.delivered import outlast_relinquish, settled_ids, until_stored
from bot.telegram.outbox import Outbox, OutboxError, RichFinal, StreamHandle
from bot.telegram.render.citations import grounded_final, grounded_partial
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)

TOLD_TRIMMED_CHATS = 10_000  # chats remembered as told that older turns were left out

class Answerer:
    def __init__(
        self,
        *,
        conversation: ConversationService,
        outbox: Outbox,
        queues: ChatQueues,
        after_delivery: Sequence[AfterDelivery] = (),
        notes: Sequence[StreamNote] = (),
        suspensions: Sequence[Suspension] = (),
        final_forms: Sequence[FinalForm] = (),
    ) -> None:
        """`after_delivery`: what features do once an answer is delivered, in order (the
        support desk's card or the 👍/👎 buttons, a voice reply, the tools' limit notice);
        `final_forms`: other forms features may give a finished answer (the first given is
        delivered); `notes`: the lines features show under an answer's streaming text (the
        tools' running calls); `suspensions`: how the answers features suspend are shown, by
        their reason (the tool loop's cards waiting for a press)."""
        self.conversation = conversation
        self.outbox = outbox
        self.queues = queues
        # Chats already told that older turns were left out of the prompt, newest last and
        # at most TOLD_TRIMMED_CHATS: a chat forgotten here is told once more, no harm, and
        # a bot with millions of chats does not keep an entry for each (it grew forever).
        self._told_trimmed: OrderedDict[int, None] = OrderedDict()
        # Chats whose running answer is delivered and only its bookkeeping is left.
        self._settling: set[int] = set()
        self._bookkeeping: set[asyncio.Task[None]] = set()
        self.after_delivery = tuple(after_delivery)
        self.final_forms = tuple(final_forms)
        self.notes = tuple(notes)
        self.suspensions = {suspension.reason: suspension for suspension in suspensions}

    def submit_turn(
        self,
        ticket: Ticket,
        target: Target,
        speaker: Speaker,
        text: str | Callable[[], Awaitable[str]],
        t: Translator,
        telegram_message_id: int | None,
        receipts: Sequence[UpdateReceipt] = (),
    ) -> None:
        """Queue a turn; `text` may be a coroutine function completing it (a long paste).
        `receipts` (read when the question is complete: a paste's later parts add theirs)
        leave the durable queue when the question is stored."""

        async def runner(on_snapshot: Callable[[Snapshot], None]) -> TurnResult:
            question = text if isinstance(text, str) else await text()
            return await self.conversation.run_turn(
                target.chat,
                speaker,
                question,
                on_snapshot=on_snapshot,
                telegram_message_id=telegram_message_id,
                receipts=tuple(receipts),
            )

        ticket.submit(lambda: self.deliver(target, t, runner))

    def submit_retry(
        self,
        ticket: Ticket,
        target: Target,
        speaker: Speaker,
        t: Translator,
        stale_ids: Sequence[int] = (),
        receipts: Sequence[UpdateReceipt] = (),
        *,
        resume: bool = False,
    ) -> None:
        """Answer the last question again; `stale_ids` are messages showing a partial answer
        a crash left behind: they are deleted first, so the chat shows one answer. `resume`:
        a crash cut the answer short (its tool calls carry over; /retry starts afresh)."""

        async def runner(on_snapshot: Callable[[Snapshot], None]) -> TurnResult | None:
            return await self.conversation.retry_last(
                target.chat, speaker, on_snapshot=on_snapshot, receipts=receipts,
                resume=resume,
            )

        async def job() -> None:
            for message_id in stale_ids:
                method = DeleteMessage(chat_id=target.chat.chat_id, message_id=message_id)
                try:
                    await self.outbox.call(target.chat.chat_id, method)
                except (TelegramAPIError, OutboxError) as exc:
                    log.info("stale partial %s not deleted: %s", message_id, exc)
            await self.deliver(target, t, runner)

        ticket.submit(job)

    def submit_continue(
        self, ticket: Ticket, target: Target, speaker: Speaker, t: Translator, answer_id: int
    ) -> None:
        """Carry on a turn that waited for a press on a tool call (tools): the
        answer streams as usual; nothing is sent when it was carried on already."""

        async def runner(on_snapshot: Callable[[Snapshot], None]) -> TurnResult | None:
            return await self.conversation.resume(
                target.chat, speaker, answer_id, on_snapshot=on_snapshot
            )

        ticket.submit(lambda: self.deliver(target, t, runner, nothing=None))

    def stop_draft(self, chat_id: int, draft_id: int) -> bool:
        """The draft's stop button: cancel the answer it belongs to, not a later one (a chat
        streams one answer at a time, so an open stream with that draft is the running job)."""
        if self.outbox.stream_for_draft(chat_id, draft_id) is None:
            return False
        return self.queues.stop(chat_id)

    def answered_later(self, ticket: Ticket) -> bool:
        """The ticket's answer will follow another job of its chat (queued or not delivered)."""
        return self.writing(ticket.chat_id) or self.queues.queued_behind(ticket)

    def writing(self, chat_id: int) -> bool:
        """A job of the chat runs and has not delivered its answer yet.

        Asked of the chat's queue, not set by `deliver` itself: a job the worker has taken
        but whose task has not started yet must count too (a question arriving then is
        answered after it).
        """
        return self.queues.is_busy(chat_id) and chat_id not in self._settling

    def forget_trimmed_notice(self, chat_id: int) -> None:
        self._told_trimmed.pop(chat_id, None)

    async def deliver(
        self, target: Target, t: Translator, run: Runner, *, nothing: str | None = "retry_nothing"
    ) -> None:
        """Run a turn and deliver its answer; a turn with nothing to answer (None) says the
        text `nothing` names, or nothing at all when it is None."""
        try:
            await self._deliver(target, t, run, nothing)
        finally:
            self._settling.discard(target.chat.chat_id)

    async def _deliver(
        self, target: Target, t: Translator, run: Runner, nothing: str | None
    ) -> None:
        chat = target.chat
        # The handle shows "Thinking…" (an empty draft) or a typing indicator until text comes.
        handle = self.outbox.stream(
            chat.chat_id,
            chat.type,
            draft=target.private,
            reply_to=target.reply_to,
            thread_id=target.thread_id,
        )
        seen = ""
        job = asyncio.current_task()
        started = self.outbox.clock()

        def on_snapshot(snapshot: Snapshot) -> None:
            nonlocal seen
            seen = snapshot.text
            note = next((n for p in self.notes if (n := p.note(snapshot, t))), None)
            if note is not None:
                # What the model wrote stays, a feature's line under it (the running calls).
                handle.update(join_note(seen, note))
            elif handle.error is not None and job is not None and not job.cancelling():
                # The user blocked the bot or the chat is gone: stop paying for tokens.
                log.info("chat %s is unreachable; stopping its answer", chat.chat_id)
                job.cancel()
            elif seen:
                handle.update(seen)

        handle.rich_frames = next(
            (f for f in (form.frames(chat.chat_id) for form in self.final_forms) if f), None
        )
        # Stored at once, so a restart after a crash can remove the partial messages.
        handle.on_shown = lambda ids: self._keep(self._note_shown(chat.chat_id, ids))

        try:
            result = await run(on_snapshot)
        except asyncio.CancelledError as exc:
            if relinquished(exc):
                # A lost lease: the replica taking the chat over answers again. What this
                # one showed is removed from here (a frame whose id was not stored yet, or
                # one still on its way, would be found by nobody else); nothing else is sent.
                await handle.withdraw()
                raise
            # /stop, the stop button or shutdown: what was written stays, marked as stopped.
            stopped = t("stopped_marker")
            await settled_ids(handle.finish(join_note(seen, stopped) if seen.strip() else stopped))
            raise
        except Exception as exc:
            # The core reports model errors in the result; this is a storage error or a bug.
            log.exception("turn failed in chat %s", chat.chat_id)
            await settled_ids(handle.fail(describe_error(exc, t), seen or None))
            return
        # The turn has ended and its answer is stored: showing it and noting it delivered
        # must end even if the chat's lease is lost meanwhile. Withdrawn instead, a final
        # already on its way is shown anyway, and the chat's next holder answers the same
        # question again (seen: a replica starved past its lease's renewals while its final
        # edit waited in the outbox).
        await outlast_relinquish(self._settle(target, t, handle, result, nothing, started))

    async def _settle(
        self, target: Target, t: Translator, handle: StreamHandle, result: TurnResult | None,
        nothing: str | None, started: float,
    ) -> None:
        """Show the ended turn's answer (or its error, or the calls waiting for a press), then
        note it delivered."""
        chat = target.chat
        if result is None:
            if nothing is None:
                handle.drop()
            else:
                await settled_ids(handle.finish(t(nothing)))
            return
        suspension = self.suspensions.get(result.suspended or "")
        if result.status is MessageStatus.WAITING and suspension is not None:
            ids = await suspension.ask(target, handle, result, t)
        elif isinstance(result.error, ContentFilteredError):
            # The withheld text is stored for the record, never shown.
            ids = await settled_ids(handle.finish(t("error_refused")))
        elif result.error is not None:
            log.warning("answer in chat %s failed: %r", chat.chat_id, result.error)
            notice = describe_error(result.error, t)
            # A grounded answer's partial text without raw citations or marker.
            partial = grounded_partial(result)
            ids = await settled_ids(handle.fail(notice, partial or None))
        else:
            final = self._final_text(result, chat.chat_id, t)
            ids = await settled_ids(handle.finish(final, self._final_form(chat.chat_id, final)))
        self._settling.add(chat.chat_id)  # delivered; what follows is bookkeeping
        if ids:  # latencies from the turn's start (its queue wait excluded)
            first = handle.first_text_at
            metrics.turn_latency(
                first - started if first is not None else None, self.outbox.clock() - started
            )
        await self._delivered(target, t, result, ids)

    async def _delivered(
        self, target: Target, t: Translator, result: TurnResult, ids: list[int]
    ) -> None:
        """What follows a delivered answer: the answer noted as stored and delivered, the
        features' after-delivery work."""
        chat = target.chat
        if result.saving is not None:
            # The database was away as the answer ended: delivered already, it is stored once
            # the database is back; the chat's next turn waits for that (history in order).
            await self._until_saved(result.saving, target, t)
            if not result.saving.cancelled() and result.saving.exception() is not None:
                log.error("chat %s: answer %s not stored: %r", chat.chat_id,
                          result.message_id, result.saving.exception())
        # Stored with the answer already when the final text is where it streamed (groups).
        changed = bool(ids) and tuple(ids) != result.telegram_message_ids
        if self.conversation.track_delivery:  # several replicas: the answer is out
            await until_stored(
                chat.chat_id,
                lambda: self.conversation.mark_delivered(
                    result.message_id, ids if changed else None
                ),
                self.conversation.outage,
            )
        elif changed:
            await until_stored(
                chat.chat_id,
                lambda: self.conversation.set_answer_telegram_ids(result.message_id, ids),
                self.conversation.outage,
            )
        for hook in self.after_delivery:
            if hook.background:  # the next question need not wait
                self._keep(self._after(hook, target, result, ids, t))
            else:
                await self._after(hook, target, result, ids, t)

    async def _after(
        self, hook: AfterDelivery, target: Target, result: TurnResult, ids: list[int],
        t: Translator,
    ) -> None:
        try:
            await hook.delivered(target, result, ids, t)
        except Exception:  # bookkeeping only: the answer is delivered
            log.exception("after-delivery work %s failed in chat %s", type(hook).__name__,
                          target.chat.chat_id)

    async def _until_saved(
        self, saving: asyncio.Task[None], target: Target, t: Translator
    ) -> None:
        """Wait for a delivered answer's store; questions of the chat queued behind it wait
        on the database meanwhile (their chat is told past DATABASE_OUTAGE_GRACE)."""
        chat_id = target.chat.chat_id
        outage = self.conversation.outage
        waited = self.queues.pending(chat_id) > 0
        if waited:
            outage.wait(chat_id, t.language, target.thread_id)
        try:
            await asyncio.wait({saving})
        finally:
            if waited:
                outage.unwait(chat_id)

    async def _note_shown(self, chat_id: int, ids: list[int]) -> None:
        try:
            await self.conversation.note_streaming_ids(chat_id, ids)
        except Exception as exc:  # bookkeeping only: the answer itself goes on
            if unavailable(exc):  # they are stored with the answer when it ends
                log.debug("chat %s: the answer's messages not noted yet: database unreachable",
                          chat_id)
                return
            log.exception("could not record the messages of the answer in chat %s", chat_id)

    async def wait_idle(self) -> None:
        """Until the work started after delivered answers (voice replies...) is done (tests,
        bot.testing)."""
        while self._bookkeeping:
            await asyncio.wait(set(self._bookkeeping))

    def _keep(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._bookkeeping.add(task)
        task.add_done_callback(self._bookkeeping.discard)

    def _final_form(self, chat_id: int, markdown: str) -> RichFinal | None:
        for form in self.final_forms:
            given = form.final(chat_id, markdown)
            if given is not None:
                return given
        return None

    def _final_text(self, result: TurnResult, chat_id: int, t: Translator) -> str:
        # A grounded answer: "not found", or the answer with its citations as links.
        grounded = grounded_final(result, t)
        text = grounded if grounded is not None else result.text or t("error_generic")
        if result.status is MessageStatus.TRUNCATED:
            text = join_note(text, t("truncated_marker"))
        if result.trimmed_history and chat_id not in self._told_trimmed:
            self._told_trimmed[chat_id] = None
            if len(self._told_trimmed) > TOLD_TRIMMED_CHATS:
                self._told_trimmed.popitem(last=False)
            text = join_note(text, t("trimmed_notice"))
        return text

