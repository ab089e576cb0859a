"""What this process holds in memory, and its children (the classifier's process, a
library run's workers), for summaries: light to import, so any process can report it."""

from __future__ import annotations

import math


def peak_rss_mb() -> float:
    """This process's peak resident memory (NaN where the platform does not keep it)."""
    try:
        import resource  # Unix
    except ImportError:
        return math.nan
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def memory_mb() -> dict:
    """Resident memory of this process, and the proportional set size (shared pages split
    between their users) summed over it and its children (the classifier's process)."""
    import psutil

    me = psutil.Process()
    processes = [me, *me.children(recursive=True)]
    pss = 0
    for process in processes:
        try:
            pss += process.memory_full_info().pss
        except psutil.Error:  # a child that just ended
            pass
    memory = {"rss_mb": round(me.memory_info().rss / 2**20, 1), "pss_mb_all_processes": round(pss / 2**20, 1),
              "processes": len(processes)}
    peak = peak_rss_mb()
    if math.isfinite(peak):
        memory["peak_rss_mb"] = peak
    return memory
