"""The best any schedule could do for the final messages of a bench_load run, under a bot-wide
budget of ``--rate`` messages a second after a burst of ``--burst``.

    .venv/bin/python bench/bench_load.py ... --dump /tmp/run   # writes /tmp/run-<users>.json
    .venv/bin/python bench/final_bound.py /tmp/run-200.json

Replays the model's last-chunk times (the fake's clock) through an ideal token bucket: each
final is sent the instant its answer ends or the bucket allows, first come first served, with
no CPU, network or storage in between. The waits it prints are the floor of bench_load's
"final" figure for that run: when 210 answers end within two seconds, 30 messages a second
cannot deliver their finals faster than this, however they are scheduled.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def waits(ends: list[float], rate: float, burst: float) -> list[float]:
    """Seconds each final waits for the bucket, in the order the answers end."""
    tokens, last, out = burst, ends[0], []
    for end in ends:
        now = max(end, last)
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            now += (1.0 - tokens) / rate
            tokens = 1.0
        tokens -= 1.0
        last = now
        out.append(now - end)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", type=Path, help="a bench_load --dump file")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--bursts", default="1,5,10,20,30")
    args = parser.parse_args()
    records = json.loads(args.dump.read_text())["fm"]["records"]
    ends = sorted(r["last_chunk_at"] for r in records if r["status"] == 200 and r["last_chunk_at"])
    print(f"{len(ends)} answers; the first {min(len(ends), 210)} end within "
          f"{ends[min(len(ends), 210) - 1] - ends[0]:.2f} s")
    for burst in (float(b) for b in args.bursts.split(",")):
        got = waits(ends, args.rate, burst)
        figures = "/".join(f"{1000 * percentile(got, q):.0f}" for q in (50, 95, 99))
        print(f"burst {burst:g}, {args.rate:g}/s: final wait p50/95/99 {figures} ms")


if __name__ == "__main__":
    main()
