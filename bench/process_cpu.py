"""CPU of other processes, as the document benchmarks and tests read it: a live process's from
/proc (10 ms ticks), the reaped children's from RUSAGE_CHILDREN."""

from __future__ import annotations

import os
import resource


def process_cpu(pid: int) -> float:
    """User plus system CPU-seconds of the live process `pid` (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU-seconds of this process's children that have ended and been reaped."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
