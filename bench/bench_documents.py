"""Document extraction speed (target: a 50-page text PDF in <= 2 s) and the bounded readers'
cost on files built to be expensive.

    .venv/bin/python bench/bench_documents.py [--pages 50] [--runs 5]

Writes, with reportlab (a dev dependency), a text PDF of `--pages` pages (a heading and about
350 words a page) and a DOCX of the same text (a heading per "page", and a 10-row table every
fifth one), then times `extract` (bot/features/knowledge/extractors.py) `--runs` times each, in
this process, one core; then the same files through `DocumentReader`
(bot/features/knowledge/reading.py: a worker process, what `kb sync` and documents sent in chat
use), its worker warmed. Then the "bombs" (DOCX, PPTX and PDF of 20,000 and 200,000 one-letter
paragraphs) through the reader with the chat's cap: the CPU each costs, worker and this process
together, and what came of it. Prints the file sizes, blocks found, min/median/max seconds, and
whether the targets hold.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.process_cpu import children_cpu, process_cpu
from bot.reading.blocks import DocumentError
from bot.reading.chunking import block_passages
from bot.reading.extractors import extract
from bot.reading.reading import DocumentReader
from tests.documents import docx_bytes, lines_pdf, paragraphs_docx, paragraphs_pptx, text_pdf_of

TARGET_PDF_SECONDS = 2.0
TARGET_BOMB_CPU = 5.0
CHAT_CAP = 210_000


def timed(name: str, data: bytes, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        extracted = extract(name, data)
        seconds.append(time.perf_counter() - started)
    passages = block_passages(extracted.blocks)
    print(f"{name}: {len(data) / 1024:.0f} KB, {extracted.pages or '-'} pages, "
          f"{len(extracted.blocks)} blocks, {len(passages)} passages; "
          f"min {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s, "
          f"max {max(seconds):.3f} s over {runs} runs")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pdf = text_pdf_of(args.pages)
    pdf_seconds = timed("text.pdf", pdf, args.runs)
    items: list[tuple[str, object]] = []
    words = " ".join(["invoice payment delivery refund warranty account order parcel"] * 44)
    for page in range(args.pages):
        items += [("h2", f"Section {page + 1}"), ("p", words)]
        if page % 5 == 0:
            items.append(("table", [["Code", "Meaning"]] + [[f"E{n}", "ok"] for n in range(10)]))
    docx = docx_bytes(items)
    timed("text.docx", docx, args.runs)
    worst = max(pdf_seconds)
    verdict = "holds" if worst <= TARGET_PDF_SECONDS else "MISSED"
    print(f"target: {args.pages}-page PDF <= {TARGET_PDF_SECONDS:.0f} s (worst run "
          f"{worst:.3f} s): {verdict}")
    asyncio.run(through_reader({"text.pdf": pdf, "text.docx": docx}, args.runs))


async def through_reader(files: dict[str, bytes], runs: int) -> None:
    reader = DocumentReader(workers=1)
    await reader.read("warm.docx", docx_bytes([("p", "warm")]))
    for name, data in files.items():
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            await reader.read(name, data)
            seconds.append(time.perf_counter() - started)
        print(f"{name} through the reader (worker process): min {min(seconds):.3f} s, "
              f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s")
    bombs = {"docx": (".docx", paragraphs_docx), "pptx": (".pptx", paragraphs_pptx),
             "pdf": (".pdf", lines_pdf)}
    worst = 0.0
    for count in (20_000, 200_000):
        for kind, (suffix, make) in bombs.items():
            data = make(count)
            await reader.read("warm.docx", docx_bytes([("p", "warm")]))
            [pid] = reader.worker_pids
            worker, children, own = process_cpu(pid), children_cpu(), time.process_time()
            started = time.perf_counter()
            try:
                extracted = await reader.read(f"bomb{suffix}", data, max_chars=CHAT_CAP,
                                              sent=True)
                outcome = (f"read, {len(extracted.blocks)} blocks"
                           + (" (capped)" if extracted.truncated else ""))
            except DocumentError as exc:
                outcome = f"refused: {type(exc).__name__}"
            wall = time.perf_counter() - started
            cpu = time.process_time() - own
            cpu += (process_cpu(pid) - worker if pid in reader.worker_pids
                    else children_cpu() - children - worker)
            worst = max(worst, cpu)
            print(f"{kind} of {count:,} paragraphs ({len(data) / 1024:.0f} KB): "
                  f"{cpu:.2f} CPU-s, {wall:.2f} s; {outcome}")
    await reader.aclose()
    verdict = "holds" if worst < TARGET_BOMB_CPU else "MISSED"
    print(f"target: each bomb < {TARGET_BOMB_CPU:.0f} CPU-s (worst {worst:.2f}): {verdict}")


if __name__ == "__main__":
    main()
