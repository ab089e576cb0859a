"""What the benchmark scripts share: arguments, the JSON and the figure written side by side."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def parser(description: str, seconds: float | None = None) -> argparse.ArgumentParser:
    """Arguments every script takes (and ``--seconds`` for those that measure for a time)."""
    p = argparse.ArgumentParser(description=description)
    if seconds is not None:
        p.add_argument("--seconds", type=float, default=seconds, help=f"measurement length (default: {seconds:g})")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and PNG (default: results/)")
    return p


def progress(what: str) -> None:
    print(what, file=sys.stderr, flush=True)


def save(out: Path, name: str, result: dict, figure: plt.Figure) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=1))
    figure.tight_layout()
    figure.savefig(out / f"{name}.png", dpi=110)
    print(f"wrote {out / name}.json and {out / name}.png")


def histogram(axis, durations_us: dict[str, object], period_us: float, title: str) -> None:
    """Per-block times on a log axis, one outline per subject, with the block period marked."""
    import numpy as np

    every = np.concatenate([np.asarray(d) for d in durations_us.values()])
    bins = np.logspace(np.log10(max(every.min(), 0.1)), np.log10(max(every.max(), period_us) * 1.1), 80)
    for name, d in durations_us.items():
        axis.hist(d, bins=bins, histtype="step", label=name, linewidth=1.4)
    axis.axvline(period_us, color="k", linestyle="--", linewidth=1, label="block period")
    axis.set(xscale="log", yscale="log", xlabel="time per block (us)", ylabel="blocks", title=title)
    axis.legend(fontsize=8)
