"""Latency benchmarks (`inteleq-rt bench`, benchmarks/): harness (paced, no device), baselines,
live (a real device, loopback round trip), jack (a dummy JACK server to run live on), stats,
report, and the start-up probe."""

from .baselines import BASELINES
from .harness import Settings, run
from .live import measure_live
from .report import format_live, format_table
from .stats import machine

__all__ = ["BASELINES", "Settings", "format_live", "format_table", "machine", "measure_live", "run"]
