"""Documents read in bounded worker processes (bot/reading/reading.py): files built
to cost a parser minutes of CPU or gigabytes of memory cost at most a few CPU-seconds,
ordinary files read as before, and no other read waits behind a hostile one.

CPU is measured, not timed: the worker's CPU from /proc before the read, and the whole
worker's after it is reaped (RUSAGE_CHILDREN), so a busy machine changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.process_cpu import children_cpu, process_cpu
from bot import App
from bot.reading.blocks import (
    BusyReaderError,
    CorruptDocumentError,
    Extracted,
    NoTextError,
    TooComplexDocumentError,
)
from bot.reading.extractors import extract, extract_sent
from bot.reading.reading import DocumentReader
from bot.testing import BotTester, EchoModel
from tests.documents import docx_bytes, lines_pdf, paragraphs_docx, paragraphs_pptx, pdf_bytes

pytestmark = pytest.mark.timeout(120)
# What a document sent in chat may cost, all told (the bound).
CPU_BOUND = 5.0
CHAT_CAP = 210_000  # the conversation keeps 200,000 characters, read a little more

BOMBS: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "docx": ("bomb.docx", paragraphs_docx),
    "pptx": ("bomb.pptx", paragraphs_pptx),
    "pdf": ("bomb.pdf", lines_pdf),
}


async def _read_measured(
    reader: DocumentReader, name: str, data: bytes
) -> tuple[Extracted | Exception, float]:
    """What reading `data` gives, and the CPU it cost this process and the worker (one that
    is already started: its start-up is not the read's)."""
    [pid] = reader.worker_pids
    worker_before, children_before = process_cpu(pid), children_cpu()
    own_before = time.process_time()
    outcome: Extracted | Exception
    try:
        outcome = await reader.read(name, data, max_chars=CHAT_CAP, sent=True, chat_id=4242)
    except Exception as exc:
        outcome = exc
    own = time.process_time() - own_before
    if pid in reader.worker_pids:
        return outcome, own + process_cpu(pid) - worker_before
    # Ended by its CPU limit, and reaped: its whole life is now in RUSAGE_CHILDREN.
    return outcome, own + children_cpu() - children_before - worker_before


@pytest.mark.slow
async def test_files_of_tiny_paragraphs_cost_under_five_cpu_seconds_each() -> None:
    reader = DocumentReader(workers=1)
    outcomes: dict[str, Extracted | Exception] = {}
    try:
        for paragraphs in (20_000, 200_000):
            for kind, (name, make) in sorted(BOMBS.items()):
                await reader.read("warm.docx", docx_bytes([("p", "warm")]))
                outcome, cpu = await _read_measured(reader, name, make(paragraphs))
                label = f"{kind} of {paragraphs:,} paragraphs"
                assert cpu < CPU_BOUND, f"{label} cost {cpu:.2f} CPU-seconds"
                outcomes[label] = outcome
    finally:
        await reader.aclose()
    # DOCX and PPTX are read up to the cap (python-docx once spent a minute on the 20,000);
    # pypdf spends about 14 CPU-seconds on the 200,000-line PDF: its worker is stopped first.
    for label, outcome in outcomes.items():
        if label.startswith("pdf"):
            if label.endswith("200,000 paragraphs"):
                assert isinstance(outcome, TooComplexDocumentError), (label, outcome)
            continue  # 20,000 lines take about 1.8 s: read, or refused on a slow machine
        assert isinstance(outcome, Extracted), (label, outcome)
        assert outcome.truncated, label


def _zip_bomb(megabytes: int) -> bytes:
    """A DOCX whose document.xml inflates to `megabytes` of spaces (a few hundred KB zipped)."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes([("p", "x")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info, source.read(info.filename))
                continue
            with target.open("word/document.xml", "w", force_zip64=True) as part:
                part.write(b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
                           b'wordprocessingml/2006/main"><w:body>')
                chunk = b" " * (1 << 20)
                for _ in range(megabytes):
                    part.write(chunk)
                part.write(b"</w:body></w:document>")
    return out.getvalue()


@pytest.mark.slow
async def test_a_decompression_bomb_is_refused_by_the_memory_limit() -> None:
    reader = DocumentReader(memory_mb=256)
    try:
        with pytest.raises(TooComplexDocumentError):
            await reader.read("bomb.docx", _zip_bomb(320))
        # The worker that refused it is still fit (or replaced): the next file is read.
        extracted = await reader.read("ok.docx", docx_bytes([("p", "Still reading.")]))
        assert extracted.blocks[0].text == "Still reading."
    finally:
        await reader.aclose()


@pytest.mark.slow
async def test_no_read_waits_behind_a_hostile_one() -> None:
    reader = DocumentReader()
    finished: list[str] = []

    async def read(name: str, data: bytes) -> None:
        with contextlib.suppress(TooComplexDocumentError):
            await reader.read(name, data, max_chars=CHAT_CAP, sent=True, chat_id=4242)
        finished.append(name)

    try:
        hostile = asyncio.create_task(read("lines.pdf", lines_pdf(200_000)))
        await asyncio.sleep(0)
        ordinary = [asyncio.create_task(read(f"invoice{n}.pdf", pdf_bytes([[("p", "Paid.")]])))
                    for n in range(3)]
        await asyncio.gather(hostile, *ordinary)
    finally:
        await reader.aclose()
    # The three ordinary files were read by the second worker while the first one spent its
    # budget on the hostile file.
    assert finished[-1] == "lines.pdf"


@pytest.mark.slow
async def test_a_cancelled_read_ends_its_worker_and_the_next_read_works() -> None:
    reader = DocumentReader()
    try:
        await reader.read("warm.docx", docx_bytes([("p", "warm")]))
        [pid] = reader.worker_pids
        idle = process_cpu(pid)
        task = asyncio.create_task(reader.read("lines.pdf", lines_pdf(200_000)))
        # Until the worker is busy with the hostile file (another process: no event to await).
        while process_cpu(pid) < idle + 0.3:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert reader.worker_pids == ()
        assert not os.path.exists(f"/proc/{pid}")  # noqa: ASYNC240 - ended and reaped
        extracted = await reader.read("ok.docx", docx_bytes([("p", "Next.")]))
        assert extracted.blocks[0].text == "Next."
    finally:
        await reader.aclose()


async def test_reader_errors_keep_their_kind_and_reason() -> None:
    reader = DocumentReader()
    try:
        with pytest.raises(NoTextError):
            await reader.read("empty.docx", docx_bytes([]))
        ordinary = pdf_bytes([[("h1", "Terms"), ("p", "Pay within 14 days.")]])
        # The worker's answer is what the extractor gives in this process.
        assert await reader.read("terms.pdf", ordinary) == extract("terms.pdf", ordinary)
    finally:
        await reader.aclose()


async def test_what_pypdf_logs_in_the_worker_is_logged_here_with_the_file_and_chat(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    whole = pdf_bytes([[("p", "Pay within 14 days.")]])
    truncated = whole[: whole.rindex(b"%%EOF")]  # pypdf: "EOF marker not found"
    reader = DocumentReader(workers=1)
    try:
        with pytest.raises(CorruptDocumentError):
            await reader.read("terms.pdf", truncated, sent=True, chat_id=4242)
    finally:
        await reader.aclose()
    said = {(r.name, r.levelno, r.getMessage()) for r in caplog.records}
    assert ("pypdf._reader", logging.WARNING,
            "document 'terms.pdf' in chat 4242: EOF marker not found") in said
    assert ("bot.reading.pdf_text", logging.INFO, "document 'terms.pdf' in chat "
            "4242: unreadable PDF: PdfStreamError('Stream has ended unexpectedly')") in said
    # Not also as a bare line from the worker's last-resort handler on the shared stderr.
    assert "EOF marker not found" not in capfd.readouterr().err


async def test_a_damaged_pdf_sent_in_chat_is_logged_with_its_chat(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    whole = pdf_bytes([[("p", "Pay within 14 days.")]])
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(whole[: whole.rindex(b"%%EOF")])
    async with BotTester(App(env_file=None), model=EchoModel()) as tester:
        vera = tester.user("Vera")
        await vera.sends_document(broken, caption="What is due?")
    said = [r.getMessage() for r in caplog.records if r.name == "pypdf._reader"]
    assert f"document 'broken.pdf' in chat {vera.id}: EOF marker not found" in said


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.txt", ("word " * 50_000).encode()),
        ("notes.md", ("# Notes\n\n" + "word " * 50_000).encode()),
        ("long.docx", paragraphs_docx(5_000)),
        ("long.pptx", paragraphs_pptx(5_000)),
    ],
    ids=["txt", "md", "docx", "pptx"],
)
def test_every_format_honours_the_character_cap(name: str, data: bytes) -> None:
    whole = extract_sent(name, data)
    capped = extract_sent(name, data, 10_000)
    assert not whole.truncated
    assert capped.truncated
    assert sum(len(b.text) for b in capped.blocks) <= 10_000 + 1_000
    assert sum(len(b.text) for b in capped.blocks) < sum(len(b.text) for b in whole.blocks)


def test_a_capped_text_file_never_ends_in_half_a_character() -> None:
    data = ("ж" * 30_000).encode()  # two bytes each: the cut falls inside one
    capped = extract_sent("notes.txt", data, 5_001)
    assert capped.truncated
    assert set("".join(b.text for b in capped.blocks)) == {"ж"}


@pytest.mark.slow
async def test_six_users_heavy_files_do_not_hold_a_seventh_users_small_one() -> None:
    # Six users each send a file that would cost its whole budget (pypdf spends about 14
    # CPU-seconds on it); then a seventh sends an ordinary one. With two workers in a row it
    # waited three budgets (35 s on a busy machine, issue 61): it is read in the look lane
    # while the heavy files still run, none of which can end before its limit.
    reader = DocumentReader(cpu_seconds=8, wall_seconds=8, look_seconds=0.3)
    heavy_file = lines_pdf(200_000)
    try:
        # Warm workers: the test is about the queue, not about process start-up.
        await asyncio.gather(*(reader.read(f"warm{n}.docx", docx_bytes([("p", "warm")]))
                               for n in range(3)))
        heavy = [asyncio.create_task(reader.read(f"heavy{u}.pdf", heavy_file, sent=True,
                                                 user=u)) for u in range(1, 7)]
        await asyncio.sleep(0)  # every heavy read is queued
        small = await reader.read("invoice.pdf", pdf_bytes([[("p", "Paid.")]]), sent=True,
                                  user=7)
        assert small.blocks[0].text == "Paid."
        # Read before any heavy file reached its limit: none of them has ended.
        assert [task.done() for task in heavy] == [False] * 6
        for task in heavy:
            task.cancel()
        await asyncio.gather(*heavy, return_exceptions=True)
    finally:
        await reader.aclose()


@pytest.mark.slow
async def test_one_user_has_at_most_per_user_reads_waiting() -> None:
    reader = DocumentReader(per_user=2)
    heavy_file = lines_pdf(200_000)
    try:
        mine = [asyncio.create_task(reader.read("a.pdf", heavy_file, user=1)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(BusyReaderError):
            await reader.read("b.pdf", pdf_bytes([[("p", "x")]]), user=1)
        # Another user is not refused.
        other = await reader.read("c.pdf", pdf_bytes([[("p", "Theirs.")]]), user=2)
        assert other.blocks[0].text == "Theirs."
        for task in mine:
            task.cancel()
        await asyncio.gather(*mine, return_exceptions=True)
    finally:
        await reader.aclose()


@pytest.mark.slow
async def test_a_stopped_worker_is_replaced() -> None:
    reader = DocumentReader(wall_seconds=2, look_seconds=0)
    try:
        await reader.read("warm.docx", docx_bytes([("p", "warm")]))
        [idle] = reader.worker_pids
        os.kill(idle, signal.SIGSTOP)  # stopped while idle: found before it is given a file
        extracted = await reader.read("ok.docx", docx_bytes([("p", "Read anyway.")]))
        assert extracted.blocks[0].text == "Read anyway."
        assert idle not in reader.worker_pids
        assert not os.path.exists(f"/proc/{idle}")  # noqa: ASYNC240 - killed and reaped
        # Stopped mid-read: it uses no CPU, so only the wall-clock limit ends it. It was
        # held forever; now it is killed and the read is made again on a fresh worker.
        [busy] = reader.worker_pids
        task = asyncio.create_task(reader.read("lines.pdf", lines_pdf(200_000)))
        while process_cpu(busy) < 0.3:  # noqa: ASYNC110 - another process: no event to await
            await asyncio.sleep(0.05)
        os.kill(busy, signal.SIGSTOP)
        with pytest.raises(TooComplexDocumentError):  # read again: past its limit again
            await task
        assert busy not in reader.worker_pids
        assert not os.path.exists(f"/proc/{busy}")  # noqa: ASYNC240
        after = await reader.read("next.docx", docx_bytes([("p", "Next.")]))
        assert after.blocks[0].text == "Next."
    finally:
        await reader.aclose()
