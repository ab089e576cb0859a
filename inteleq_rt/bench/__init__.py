"""Latency benchmarks (`inteleq-rt bench`, benchmarks/): harness (paced, no device), baselines,
live (a real device, loopback round trip), jack (a dummy JACK server to run live on), stats,
report, and the start-up probe. Loaded on first use, so that the command line's grammar can
read ``stats.BLOCK_SIZES`` without the harness."""

from .. import lazy_attributes

_API = {"BASELINES": "baselines", "Settings": "harness", "run": "harness", "measure_live": "live",
        "format_live": "report", "format_table": "report", "machine": "stats"}
__all__ = list(_API)
__getattr__ = lazy_attributes(__name__, _API)
