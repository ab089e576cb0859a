"""The benchmark's readable report."""

from __future__ import annotations

from .baselines import BASELINES


def format_table(result: dict) -> str:
    """The readable report: engine time per block size with baseline ratios, then the rest."""
    s = result["settings"]
    beside = "classifier beside" if s["classifier"] else "no classifier (no weights)"
    lines = [f"engine per block: {s['sample_rate']} Hz, {s['channels']} ch, {s['bands']} bands, {s['mode']} mode, "
             f"genre {s['genre']}, {beside}; paced one block per period "
             f"(baselines in turn), {s['seconds_per_block_size']:g} s each",
             f"{'block':>6} {'period':>8} {'p50':>8} {'p99':>8} {'p99.9':>8} {'max':>8} {'p99 of':>7}"
             f" | {'x scipy':>8} {'x pedalb':>8} {'x copy':>8}",
             f"{'frames':>6} {'us':>8} {'us':>8} {'us':>8} {'us':>8} {'us':>8} {'period':>7}"
             f" | {'(p50 ratios: engine / baseline)':>26}"]
    for frames, entry in result["block_sizes"].items():
        e, r = entry["engine"], entry["ratios_p50"]
        lines.append(f"{frames:>6} {entry['period_us']:>8.0f} {e['p50_us']:>8.1f} {e['p99_us']:>8.1f} "
                     f"{e['p999_us']:>8.1f} {e['max_us']:>8.1f} {e['p99_share']:>7.1%} | "
                     + " ".join(f"{r[f'engine/{name}']:>8.2f}" for name in BASELINES))
    lines.append("baselines, p50 / p99 us: " + "; ".join(
        f"{frames}: " + ", ".join(f"{name} {entry[name]['p50_us']:.1f}/{entry[name]['p99_us']:.1f}"
                                  for name in BASELINES)
        for frames, entry in result["block_sizes"].items() if frames in ("64", "256")))
    lines.append("level matching and limiter, engine p50 / p99 us with / without: " + "; ".join(
        f"{frames}: {entry['engine']['p50_us']:.1f}/{entry['engine']['p99_us']:.1f} vs "
        f"{entry['engine_without_level_and_ceiling']['p50_us']:.1f}/{entry['engine_without_level_and_ceiling']['p99_us']:.1f}"
        for frames, entry in result["block_sizes"].items() if frames in ("64", "256")))
    bands = result["bands"]
    lines.append(f"analysis bands at {bands['block_size']} frames, engine p50 / p99 us: " + ", ".join(
        f"{n} bands {v['p50_us']:.1f}/{v['p99_us']:.1f}" for n, v in bands.items() if n != "block_size"))
    lines.append("offline render (process, whole track, 24-bit WAV): " + "; ".join(
        f"{name.replace('_', ' ')} {run['realtime_factor']:.0f}x real time ({run['seconds_of_audio']:g} s in "
        f"{run['render_seconds']:.2f} s)" for name, run in result["offline"].items()))
    if "classifier" in result:
        c = result["classifier"]
        text = f"classifier call: back to back p50 {c['back_to_back']['p50_ms']:.3f} ms, p99 {c['back_to_back']['p99_ms']:.3f} ms"
        if "beside_engine" in c:
            b = c["beside_engine"]
            text += f"; in its own process beside the engine: {b['decisions']} decisions, last call (ms) {b['last_call_ms']}"
        lines.append(text)
    startup = result["startup"]
    lines.append("start-up: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in startup.items()))
    m = result["memory"]
    lines.append(f"memory: RSS {m['rss_start_mb']} MB at start, {m['rss_end_mb']} MB at end")
    if "live" in result:
        lines.append(format_live(result["live"]))
    return "\n".join(lines)


def format_live(live: dict) -> str:
    lines = [f"live on {live['device']!r}: {live['block_size']}-frame blocks, {live['seconds']:g} s per subject "
             f"in {live['rounds']} round(s), alternating",
             f"  {'subject':<26} {'xruns':>6} {'>50% period':>11} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} "
             f"{'max us':>8} {'p99 share':>9}  xruns by round"]
    for subject, entry in live["subjects"].items():
        c = entry["callback"]
        lines.append(f"  {subject:<26} {entry['xruns']:>6} {entry['callbacks_over_half_period']:>11} {c['p50_us']:>8.1f} "
                     f"{c['p99_us']:>8.1f} {c['p999_us']:>9.1f} {c['max_us']:>8.1f} {c['p99_share']:>9.1%}  "
                     f"{entry['xruns_by_round']}")
    lines += [f"  engine callback p99 over its run (us, by tenths): {live['p99_drift_us']}",
              f"  memory: RSS {live['rss_start_mb']} MB at start, {live['rss_end_mb']} MB at end; "
              f"by tenths of the run: {live['rss_mb_by_tenths']}; PSS of all processes: {live['pss_mb_all_processes']}"]
    if live.get("classifier"):
        lines.append(f"  classifier (own process): {live['classifier']}")
    loop = live["round_trip"]
    if loop.get("measured_frames") is None:
        lines.append(f"  round trip: no loopback heard ({loop['note']})")
    else:
        lines.append(f"  round trip through the loopback: {loop['measured_frames']} frames "
                     f"({loop['measured_ms']:.2f} ms), device reports {loop['reported_frames']} frames; "
                     f"added by the engine: {loop['added_by_engine_frames']} frames (it reports "
                     f"{loop['engine_reports_frames']}: limiter look-ahead and plugins)")
    return "\n".join(lines)
