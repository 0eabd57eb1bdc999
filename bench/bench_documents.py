"""Document extraction speed (issue 28 target: a 50-page text PDF in <= 2 s).

    .venv/bin/python bench/bench_documents.py [--pages 50] [--runs 5]

Writes, with reportlab (a dev dependency), a text PDF of `--pages` pages (a heading and about
350 words a page) and a DOCX of the same text (a heading per "page", and a 10-row table every
fifth one), then times `extract` (bot/knowledge/extractors.py, what `kb sync` and documents
sent in chat use) `--runs` times each, in this process, one core. Prints the file sizes,
blocks found and min/median/max seconds, and whether the PDF target holds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.chunking import block_passages
from bot.knowledge.extractors import extract
from tests.documents import docx_bytes, text_pdf_of

TARGET_PDF_SECONDS = 2.0


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
    timed("text.docx", docx_bytes(items), args.runs)
    worst = max(pdf_seconds)
    verdict = "holds" if worst <= TARGET_PDF_SECONDS else "MISSED"
    print(f"target: {args.pages}-page PDF <= {TARGET_PDF_SECONDS:.0f} s (worst run "
          f"{worst:.3f} s): {verdict}")


if __name__ == "__main__":
    main()
