"""What importing aiogram costs a process, the plain way and through bot.telegram (lazy models).

    .venv/bin/python bench/bench_aiogram_import.py [--pairs 7]

Each sample is a fresh interpreter that imports aiogram one way, then does what every bot
process does before its first update (`warm_models`: an Update parsed and dumped, the answering
methods dumped). It prints the CPU time of the import and of the warm-up (process_time), and
the peak RSS (ru_maxrss) against the same interpreter that imported pydantic only. The two ways
run interleaved in pairs, so a busy machine slows both alike; medians are printed, with the
load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    import pydantic, sqlalchemy  # imported by every bot process anyway
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    if sys.argv[1] == "lazy":
        from bot.telegram import AIOGRAM_IMPORT as how
    else:
        import aiogram, aiogram.methods, aiogram.types
        how = "plain"
    imported = time.process_time()
    from bot.telegram.warmup import warm_models
    warm_models()
    warmed = time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"how": how, "import_s": imported - started,
                      "warm_s": warmed - imported, "rss_mb": (peak - base) / 1024}))
    """
)


def sample(way: str) -> dict[str, float | str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, way], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float | str] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs: dict[str, list[dict[str, float | str]]] = {"plain": [], "lazy": []}
    for i in range(args.pairs):
        order = ("plain", "lazy") if i % 2 == 0 else ("lazy", "plain")
        for way in order:
            runs[way].append(sample(way))
    load_after = os.getloadavg()
    print(f"{args.pairs} interleaved pairs; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after (nproc {os.cpu_count()})")
    print(f"{'import':8} {'how':6} {'import CPU s':>13} {'warm-up CPU s':>14} {'peak RSS MB':>12}")
    for way, samples in runs.items():
        hows = {str(s["how"]) for s in samples}

        def median(key: str, samples: list[dict[str, float | str]] = samples) -> float:
            return statistics.median(float(s[key]) for s in samples)

        print(f"{way:8} {','.join(sorted(hows)):6} {median('import_s'):13.2f} "
              f"{median('warm_s'):14.2f} {median('rss_mb'):12.0f}")


if __name__ == "__main__":
    main()
