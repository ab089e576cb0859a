"""`inteleq-rt bench --profile`: where a block's time goes, stage by stage.

The engine runs its block as a list of stages (engine.Engine._build_stages); a profile times
each one as it runs, paced one block per period like a device, so every change to the audio
path is measured, not guessed. What the stages do not account for is the Python glue around
them (the call, the slicing, the loop).
"""

from __future__ import annotations

import numpy as np

from .harness import Settings, make_session, most_calls, paced_run


def measure_profile(settings: Settings, audio: np.ndarray, block_size: int) -> dict:
    """Per stage p50 / p99 (us) and share of the block's median, over ``settings.seconds``
    of paced blocks; the engine is built as a live run builds it (harness.make_session)."""
    engine = make_session(settings, block_size).engine
    profile = engine.start_profile(most_calls(settings.seconds, block_size, settings.sample_rate, 1))
    totals = paced_run({"engine": engine.process}, audio, block_size, settings.sample_rate, settings.seconds,
                       lead="engine")["engine"]
    stages_us = profile.recorded() / 1e3
    totals_us = totals * 1e6
    glue_us = totals_us - stages_us.sum(axis=1)
    median_total = float(np.median(totals_us))
    rows = {name: stages_us[:, i] for i, name in enumerate(profile.names)}
    rows["python glue"] = glue_us
    result = {name: {"p50_us": round(float(np.median(v)), 2), "p99_us": round(float(np.percentile(v, 99)), 2),
                     "share_of_p50": round(float(np.median(v)) / median_total, 3)} for name, v in rows.items()}
    return {"block_size": block_size, "blocks": len(totals),
            "total": {"p50_us": round(median_total, 2), "p99_us": round(float(np.percentile(totals_us, 99)), 2)},
            "stages": result}


def format_profile(profiles: list[dict]) -> str:
    """The stages as rows, one p50 / p99 column pair per block size."""
    sizes = [p["block_size"] for p in profiles]
    lines = ["per-stage profile, paced (us; share of the block's p50)",
             f"{'stage':<16}" + "".join(f"{f'{size} frames p50 / p99':>30}" for size in sizes)]
    for name in profiles[0]["stages"]:
        cells = []
        for p in profiles:
            s = p["stages"].get(name)
            cells.append(f"{s['p50_us']:>8.2f} / {s['p99_us']:>7.2f} ({s['share_of_p50']:>5.1%})" if s else " " * 30)
        lines.append(f"{name:<16}" + "".join(f"{c:>30}" for c in cells))
    lines.append(f"{'whole block':<16}" + "".join(
        f"{p['total']['p50_us']:>8.2f} / {p['total']['p99_us']:>7.2f}        " for p in profiles))
    return "\n".join(lines)
