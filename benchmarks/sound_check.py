"""Sound across real music: clipping, loudness and the limiter, for every shipped preset.

    pip install immich-memories-music pyloudnorm          # once: 48 kHz tracks, the loudness check
    python benchmarks/sound_check.py --corpus ../shared/data/genre-audio

Every clip (the full-band 48 kHz royalty-free tracks of immich-memories-music, and the corpus's
22.05 kHz clips, whose top octave is empty) is normalized to -0.1 dBFS sample peak, as a loud
master is, and run through the engine with every shipped preset at amount 100 and 50:

* streaming (what live and `process --follow` do), with level matching and without it;
* whole-track (what `process` does by default), through ``process_file`` on the 48 kHz tracks.

For each: clipped output samples (over 0 dBFS; target 0), the integrated loudness difference
out - in (pyloudnorm, BS.1770; target |d| <= 0.5 LU with level matching), the limiter's activity
(share of blocks limited, deepest reduction), and the true peak of the output (4x oversampled),
to say by how much it exceeds the -1 dBFS sample-peak ceiling. pedalboard's own Limiter (JUCE's),
set to -1 dB, is measured on the same outputs for comparison.
"""

from __future__ import annotations

import glob
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pedalboard
import pyloudnorm
import soundfile as sf
from _common import parser, progress, save
from scipy import signal

from inteleq_rt import Options, process_file
from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.engine.presets import load_presets

BLOCK = 1024
AMOUNTS = (1.0, 0.5)
PEAK_DB = -0.1
CEILING_DB = -1.0


def clips(corpus: Path | None, every: int) -> list[str]:
    import immich_memories_music

    tracks = sorted(glob.glob(os.path.join(os.path.dirname(immich_memories_music.__file__), "tracks/*/*.opus")))
    corpus_clips = sorted(glob.glob(str(corpus / "*" / "*.flac")))[::every] if corpus else []
    return tracks + corpus_clips


def normalized(path: str) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return (audio / np.abs(audio).max() * 10 ** (PEAK_DB / 20)).astype(np.float32), rate


def stream(audio: np.ndarray, rate: int, genre: str, amount: float, level_match: bool) -> tuple[np.ndarray, Engine]:
    engine = Engine(EngineConfig(sample_rate=rate, channels=audio.shape[1], amount=amount, level_match=level_match,
                                 analyze_input=False, analyze_output=False), genre=genre)
    out = np.zeros_like(audio)
    for start in range(0, len(audio) - BLOCK + 1, BLOCK):
        engine.process(audio[start : start + BLOCK], out[start : start + BLOCK])
    return out[engine.latency_frames : len(audio) // BLOCK * BLOCK], engine


def true_peak_db(audio: np.ndarray, rate: int) -> float:
    """The peak between samples too (4x oversampled, as BS.1770's true-peak meter); the first
    and last 10 ms are left out, where the resampler's own ringing at the clip's cut edges
    would be counted."""
    edge = 4 * rate // 100
    return float(20 * np.log10(np.abs(signal.resample_poly(audio, 4, 1, axis=0)[edge:-edge]).max() + 1e-12))


def figures(out: np.ndarray, rate: int, reference_lufs: float, meter, limited: float, deepest: float) -> dict:
    return {"clipped": int(np.count_nonzero(np.abs(out) > 1.0)),
            "loudness_diff_lu": round(meter.integrated_loudness(out.astype(np.float64)) - reference_lufs, 3),
            "peak_db": round(float(20 * np.log10(np.abs(out).max() + 1e-12)), 3),
            "true_peak_db": round(true_peak_db(out, rate), 3), "limited_share": round(limited, 4),
            "deepest_limiting_db": round(deepest, 2)}


def check_clip(path: str) -> dict:
    """Every preset and amount on one clip, streaming with and without level matching."""
    audio, rate = normalized(path)
    meter = pyloudnorm.Meter(rate)
    results = {"rate": rate, "seconds": round(len(audio) / rate, 1), "runs": []}
    for genre in load_presets():
        for amount in AMOUNTS:
            for level_match in (True, False):
                out, engine = stream(audio, rate, genre, amount, level_match)
                reference = meter.integrated_loudness(audio[: len(out)].astype(np.float64))
                engine_figures = engine.figures()
                run = {"genre": genre, "amount": amount, "level_match": level_match, "mode": "stream",
                       **figures(out, rate, reference, meter, engine_figures.limited_blocks / engine_figures.blocks,
                                 engine_figures.deepest_limiting_db)}
                if genre == "hiphop" and amount == 1.0 and not level_match:  # JUCE's limiter, same input
                    unlimited = Engine(EngineConfig(sample_rate=rate, channels=audio.shape[1], level_match=False,
                                                    ceiling_db=None, analyze_input=False, analyze_output=False), genre=genre)
                    raw = np.zeros_like(audio)
                    for start in range(0, len(audio) - BLOCK + 1, BLOCK):
                        unlimited.process(audio[start : start + BLOCK], raw[start : start + BLOCK])
                    juce = pedalboard.Limiter(threshold_db=CEILING_DB, release_ms=80)(raw, rate)
                    run["pedalboard_limiter"] = {"peak_db": round(float(20 * np.log10(np.abs(juce).max())), 3),
                                                 "over_ceiling": int(np.count_nonzero(np.abs(juce) > 10 ** (CEILING_DB / 20))),
                                                 "clipped": int(np.count_nonzero(np.abs(juce) > 1.0))}
                results["runs"].append(run)
    return results


def check_whole_track(path: str) -> dict:
    """Every preset and amount on one clip through ``process_file`` (one EQ, one gain)."""
    audio, rate = normalized(path)
    meter = pyloudnorm.Meter(rate)
    reference = meter.integrated_loudness(audio.astype(np.float64))
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.wav"
        sf.write(str(source), audio, rate, subtype="FLOAT")
        for genre in load_presets():
            for amount in AMOUNTS:
                output = Path(folder) / f"{genre}-{amount}.wav"
                outcome = process_file(source, output, Options(genre=genre, amount_percent=amount * 100))
                out, _ = sf.read(str(output), dtype="float32", always_2d=True)
                limited, total = (int(n) for n in outcome.summary["limited_blocks"].split(" of "))
                runs.append({"genre": genre, "amount": amount, "level_match": True, "mode": "whole_track",
                             **figures(out, rate, reference, meter, limited / total, outcome.summary["deepest_limiting_db"])})
    return {"rate": rate, "runs": runs}


def summarize(runs: list[dict]) -> dict:
    diffs = np.array([r["loudness_diff_lu"] for r in runs])
    return {"runs": len(runs), "clipped_samples": int(sum(r["clipped"] for r in runs)),
            "loudness_diff_lu": {"median": round(float(np.median(diffs)), 3),
                                 "mean_abs": round(float(np.mean(np.abs(diffs))), 3),
                                 "max_abs": round(float(np.max(np.abs(diffs))), 3),
                                 "within_0.5": round(float(np.mean(np.abs(diffs) <= 0.5)), 4)},
            "sample_peak_db_max": max(r["peak_db"] for r in runs),
            "true_peak_db_max": max(r["true_peak_db"] for r in runs),
            "limited_share_mean": round(float(np.mean([r["limited_share"] for r in runs])), 4),
            "deepest_limiting_db_max": max(r["deepest_limiting_db"] for r in runs)}


def per_clip(clip: dict) -> dict:
    """One clip's worst figures (every run is summarized above; all runs would be megabytes)."""
    runs = clip["runs"]
    worst = {}
    for name, chosen in (("level_matched", [r for r in runs if r["level_match"]]),
                         ("not_level_matched", [r for r in runs if not r["level_match"]])):
        if chosen:
            extreme = max(chosen, key=lambda r: abs(r["loudness_diff_lu"]))
            worst[f"worst_loudness_diff_lu_{name}"] = [extreme["loudness_diff_lu"], extreme["genre"], extreme["amount"]]
    return {"rate": clip["rate"], **worst, "clipped": sum(r["clipped"] for r in runs),
            "true_peak_db_max": max(r["true_peak_db"] for r in runs),
            "limited_share_mean": round(float(np.mean([r["limited_share"] for r in runs])), 4),
            "deepest_limiting_db": max(r["deepest_limiting_db"] for r in runs)}


def main() -> None:
    p = parser("Clipping, loudness and limiting over real music, every preset")
    p.add_argument("--corpus", type=Path, help="the genre corpus (its clips are added to the 48 kHz tracks)")
    p.add_argument("--every", type=int, default=1, help="take every Nth corpus clip (default: all)")
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    args = p.parse_args()
    paths = clips(args.corpus, args.every)
    wide = [path for path in paths if path.endswith(".opus")]
    progress(f"{len(paths)} clips ({len(wide)} at 48 kHz), {len(load_presets())} presets x {len(AMOUNTS)} amounts")
    with ProcessPoolExecutor(args.jobs) as pool:
        streamed = dict(zip(paths, pool.map(check_clip, paths)))
        whole = dict(zip(wide, pool.map(check_whole_track, wide)))
    every_run = [r for clip in streamed.values() for r in clip["runs"]]
    groups = {"stream, level matched": [r for r in every_run if r["level_match"]],
              "stream, level matched, 48 kHz": [r for p in wide for r in streamed[p]["runs"] if r["level_match"]],
              "stream, not level matched": [r for r in every_run if not r["level_match"]],
              "whole track, level matched, 48 kHz": [r for clip in whole.values() for r in clip["runs"]]}
    juce = [r["pedalboard_limiter"] for r in every_run if "pedalboard_limiter" in r]
    result = {"clips": len(paths), "clips_48k": len(wide), "peak_normalized_db": PEAK_DB, "ceiling_db": CEILING_DB,
              "summary": {name: summarize(runs) for name, runs in groups.items()},
              "pedalboard_limiter_at_-1_db": {"clips": len(juce), "peak_db_max": max(j["peak_db"] for j in juce),
                                             "clips_over_ceiling": sum(j["over_ceiling"] > 0 for j in juce),
                                             "samples_over_ceiling": sum(j["over_ceiling"] for j in juce),
                                             "clipped_samples": sum(j["clipped"] for j in juce)},
              "by_clip": {"stream": {Path(p).name: per_clip(c) for p, c in streamed.items()},
                          "whole_track": {Path(p).name: per_clip(c) for p, c in whole.items()}}}
    for name, summary in result["summary"].items():
        print(f"{name}: {summary}")
    print(f"pedalboard Limiter at -1 dB on the hiphop renders: {result['pedalboard_limiter_at_-1_db']}")

    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4))
    bins = np.linspace(-4, 4, 81)
    for name, runs in groups.items():
        axis.hist(np.clip([r["loudness_diff_lu"] for r in runs], -4, 4), bins=bins, histtype="step", label=name)
    axis.axvspan(-0.5, 0.5, color="green", alpha=0.1, label="target |d| <= 0.5 LU")
    axis.set(xlabel="integrated loudness out - in (LU)", ylabel="runs", yscale="log",
             title="every preset at amount 100 and 50, clips at -0.1 dBFS peak")
    axis.legend(fontsize=8)
    save(args.out, "sound_check", result, figure)


if __name__ == "__main__":
    main()
