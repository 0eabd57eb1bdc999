"""`fmbot chat`: a terminal chat over the same ConversationService and database as the bot.

Answers stream to the terminal as they arrive. Commands: /reset, /retry, /exit (or Ctrl-D).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import ChatRef, ConversationService, Speaker, TurnResult
from bot.foundation_models.types import Snapshot
from bot.storage.models import MessageStatus
from bot.storage.repositories import ChatRepository

BANNER = "fmbot terminal chat. /reset starts over, /retry answers again, /exit quits.\n"


class SnapshotPrinter:
    """Prints a cumulative stream: only the new tail when the text grew, the whole text
    again when the model revised what it had already sent."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown = ""

    def __call__(self, snapshot: Snapshot) -> None:
        text = snapshot.text
        if text.startswith(self.shown):
            self.out.write(text[len(self.shown) :])
        else:
            self.out.write("\n[revised]\n" + text)
        self.shown = text
        self.out.flush()


class TerminalChat:
    def __init__(
        self,
        conversation: ConversationService,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        chat_id: int = 0,
        model: str | None = None,
        read_line: Callable[[str], str] = input,
        out: TextIO = sys.stdout,
    ) -> None:
        self.conversation = conversation
        self.sessionmaker = sessionmaker
        self.chat = ChatRef(chat_id, "private", "terminal")
        self.speaker = Speaker(chat_id, "you")
        self.model = model
        self.read_line = read_line
        self.out = out

    async def run(self) -> None:
        if self.model is not None:
            async with self.sessionmaker() as session:
                await ChatRepository(session).upsert(self.chat.chat_id, "private", "terminal")
                await ChatRepository(session).set_model(self.chat.chat_id, self.model)
                await session.commit()
        self.out.write(BANNER)
        while True:
            try:
                line = (await asyncio.to_thread(self.read_line, "you> ")).strip()
            except EOFError:
                self.out.write("\n")
                return
            if not line:
                continue
            if line in ("/exit", "/quit"):
                return
            if line == "/reset":
                await self.conversation.reset(self.chat.chat_id)
                self.out.write("[new conversation]\n")
                continue
            await self._answer(line)

    async def _confirm(
        self, result: TurnResult, printer: SnapshotPrinter
    ) -> tuple[TurnResult | None, SnapshotPrinter]:
        """Ask about each call waiting for confirmation, then carry the turn on."""
        tools = self.conversation.tools
        assert tools is not None
        if result.text and not printer.shown:
            self.out.write(result.text)
        self.out.write("\n")
        for call in result.waiting:
            arguments = json.dumps(dict(call.arguments), ensure_ascii=False)
            question = f"[{call.description or call.name}: {call.name} {arguments}] run it? [y/N] "
            answer = (await asyncio.to_thread(self.read_line, question)).strip().lower()
            await tools.decide(call.id, confirmed=answer in ("y", "yes", "д", "да"),
                               by=self.speaker.user_id)
        printer = SnapshotPrinter(self.out)
        self.out.write("bot> ")
        self.out.flush()
        carried = await self.conversation.continue_waiting(
            self.chat, self.speaker, result.message_id, on_snapshot=printer
        )
        return carried, printer

    async def _answer(self, line: str) -> None:
        printer = SnapshotPrinter(self.out)
        self.out.write("bot> ")
        self.out.flush()
        result: TurnResult | None
        if line == "/retry":
            result = await self.conversation.retry_last(
                self.chat, self.speaker, on_snapshot=printer
            )
        else:
            result = await self.conversation.run_turn(
                self.chat, self.speaker, line, on_snapshot=printer
            )
        if result is None:
            self.out.write("[nothing to retry]\n")
            return
        while result is not None and result.waiting:  # tools: a call waits for a "yes"
            result, printer = await self._confirm(result, printer)
        if result is None:
            return
        if result.not_found:  # knowledge base: nothing was streamed
            self.out.write("[not found in the knowledge base]")
        elif not printer.shown and result.text:
            self.out.write(result.text)
        self.out.write("\n")
        for source in result.sources:
            if source.cited:
                self.out.write(f"[{source.number}] {source.title} ({source.url or source.path})\n")
        if result.error is not None:
            self.out.write(f"[error: {result.error}]\n")
        elif result.status is MessageStatus.TRUNCATED:
            self.out.write("[the answer reached the length limit]\n")
        if result.trimmed_history:
            self.out.write("[older messages were left out of the context]\n")
        self.out.flush()
