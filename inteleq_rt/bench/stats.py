"""Statistics of per-block times, memory and the machine: what every benchmark reports.

Machines differ, so what carries from one to another is shares of the block period and
ratios, not microseconds.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

BLOCK_SIZES = (32, 64, 128, 256, 512, 1024)  # what a benchmark sweeps unless told: the sizes devices run


def distribution(durations_s: np.ndarray, period_s: float) -> dict:
    """p50/p99/p99.9/max in microseconds and as shares of the block period, and the count."""
    us = np.asarray(durations_s) * 1e6
    values = {"p50": np.median(us), "p99": np.percentile(us, 99), "p999": np.percentile(us, 99.9),
              "max": np.max(us)}
    entry = {f"{name}_us": round(float(v), 2) for name, v in values.items()}
    entry.update({f"{name}_share": round(float(v) / (period_s * 1e6), 5) for name, v in values.items()})
    entry["blocks"] = int(len(us))
    return entry


def drift(durations_s: np.ndarray, windows: int = 10) -> list[float]:
    """p99 (us) of each successive tenth of a run: a rising series is a leak or a slowdown."""
    parts = np.array_split(np.asarray(durations_s) * 1e6, windows)
    return [round(float(np.percentile(p, 99)), 2) for p in parts if len(p)]


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def machine() -> dict:
    import jax
    import numba
    import pedalboard
    import scipy

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "numba": numba.__version__, "jax": jax.__version__,
            "pedalboard": pedalboard.__version__,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
