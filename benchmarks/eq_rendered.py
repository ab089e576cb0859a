"""The EQ's judgment on rendered audio, beside Matchering 2 in the same run.

A few masters per genre are detuned by a seeded random EQ through pedalboard (shelves at
120 Hz and 5 kHz, 2-6 dB, a 300 Hz-3 kHz peak, 1.5-4 dB; x0, x1, x3), written as float WAV,
then corrected by `process_file` (the genre given, so the genre model plays no part:
``eq_range.py`` and the outside check judge recognition) in range and preset mode, with
``--reference`` the untouched master and three other masters of the genre, and by
Matchering 2 given the untouched master as its reference and given another master of the
same genre. Range mode's ranges are rebuilt for each master without its artist's songs
(leave-one-artist-out). Score: the 1/3-octave error of the output against the untouched
master, RMS over 31.5 Hz-10 kHz, median removed (tonal/spectrum.py measures both), and
over the full band (to 16 kHz) on the masters that reach it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import pedalboard
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, plt, progress, save  # noqa: E402
from eq_range import band_tables, banded, errors_db, scores  # noqa: E402

from inteleq_rt.engine.presets import RANGES_FILE  # noqa: E402
from inteleq_rt.offline import process_file  # noqa: E402
from inteleq_rt.options import Options  # noqa: E402
from inteleq_rt.resources import presets_dir  # noqa: E402
from inteleq_rt.tonal.spectrum import file_balance  # noqa: E402
from inteleq_rt.tonal.targets import build_range, read_ranges, write_ranges  # noqa: E402
from inteleq_rt.training.ranges import labelled_files  # noqa: E402

SIZES = (0.0, 1.0, 3.0)


def detuned(audio: np.ndarray, rate: int, seed: int, size: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sign = lambda: rng.choice([-1.0, 1.0])  # noqa: E731
    board = pedalboard.Pedalboard([
        pedalboard.LowShelfFilter(120.0, sign() * rng.uniform(2, 6) * size, 0.707),
        pedalboard.PeakFilter(float(np.exp(rng.uniform(np.log(300.0), np.log(3000.0)))),
                              sign() * rng.uniform(1.5, 4) * size, 0.9),
        pedalboard.HighShelfFilter(5000.0, sign() * rng.uniform(2, 6) * size, 0.707)])
    return board(audio.astype(np.float32), rate) if size else audio


def matchering(target: Path, reference: Path, out: Path) -> Path | None:
    import matchering as mg

    mg.log(default_handler=lambda *_: None)
    try:
        mg.process(target=str(target), reference=str(reference), results=[mg.pcm24(str(out))])
    except Exception:  # it refuses a reference identical to the target, among others
        return None
    return out


def held_out_presets(folder: Path, genre: str, pool: np.ndarray) -> Path:
    """A copy of the shipped presets whose ranges.toml has ``genre`` rebuilt from ``pool``."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(presets_dir(), folder)
    ranges = read_ranges(folder / RANGES_FILE)
    ranges[genre] = build_range(genre, pool, 0, "held out")
    write_ranges(folder / RANGES_FILE, ranges, "benchmark: one genre rebuilt without the master's artist")
    return folder


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("masters", type=Path, help="a folder of genre folders of masters (with MANIFEST.tsv)")
    p.add_argument("--gtzan", type=Path, help="GTZAN-style genre folders added to each range")
    p.add_argument("--per-genre", type=int, default=2, help="masters per genre (default: 2)")
    args = p.parse_args()
    songs = labelled_files(args.masters)
    balances = np.array([file_balance(path) for _, path, _ in songs])
    extra: dict[str, list] = {}
    for genre, path, _ in labelled_files(args.gtzan) if args.gtzan else ():
        extra.setdefault(genre, []).append(file_balance(path))
    genres = np.array([g for g, _, _ in songs])
    artists = np.array([a for _, _, a in songs])
    chosen = [i for g in sorted(set(genres)) for i in np.flatnonzero(genres == g)[: args.per_genre]]
    rows = []
    work = Path(tempfile.mkdtemp(prefix="eq-rendered-"))
    try:
        for n, i in enumerate(chosen):
            genre, path, artist = songs[i]
            progress(f"[{n + 1}/{len(chosen)}] {genre}: {path.name}")
            keep = (genres == genre) & ((artists != artist) | (artist == "")) & (np.arange(len(songs)) != i)
            pool = np.concatenate([balances[keep], np.array(extra.get(genre, [])).reshape(-1, balances.shape[1])])
            presets = held_out_presets(work / "presets", genre, pool)
            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
            original = work / "original.wav"
            sf.write(str(original), audio, rate, subtype="FLOAT")
            others = [j for j in np.flatnonzero(keep) if genres[j] == genre]
            same_genre = work / "same-genre" if len(others) >= 3 else None
            if same_genre is not None:
                shutil.rmtree(same_genre, ignore_errors=True)
                same_genre.mkdir()
                for j in others[:3]:
                    (same_genre / songs[j][1].name).symlink_to(songs[j][1].resolve())
            for size in SIZES:
                source = work / f"detuned-{size:g}.wav"
                sf.write(str(source), detuned(audio, rate, int(i), size), rate, subtype="FLOAT")
                put = file_balance(source) - balances_of(original)
                full_band = bool(np.isfinite(balances_of(original)).all())
                outputs = {}
                for mode in ("range", "preset"):
                    out = work / f"{mode}.wav"
                    process_file(source, out, Options(genre=genre, mode=mode, presets=presets, force=True))
                    outputs[f"--mode {mode}"] = out
                for name, reference in (("the original", original), ("3 other masters of the genre", same_genre)):
                    if reference is not None:
                        out = work / f"reference-{len(outputs)}.wav"
                        process_file(source, out, Options(mode="range", reference=reference, force=True))
                        outputs[f"--reference {name}"] = out
                outputs["Matchering, the original as reference"] = matchering(source, original, work / "m-own.wav")
                if others:
                    outputs["Matchering, another same-genre master"] = matchering(
                        source, songs[others[0]][1], work / "m-other.wav")
                for name, out in outputs.items():  # a system that refused the song left nothing (NaN)
                    left = file_balance(out) - balances_of(original) if out is not None else np.full_like(put, np.nan)
                    rows.append((name, genre, size, errors_db(put, left, full_band)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = summarize(rows)
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, sizes in result.items():
        axis.bar([f"{s:g}x" for s in SIZES[1:]], [sizes[str(s)]["ratio"] or 0 for s in SIZES[1:]], alpha=0.4, label=name)
    axis.axhline(1.0, color="k", lw=0.8)
    axis.set_ylabel("remaining / put in")
    axis.legend(fontsize=7)
    save(args.out, "eq_rendered", result, figure)


_balances: dict[Path, np.ndarray] = {}


def balances_of(path: Path) -> np.ndarray:
    """The untouched master's balance, measured once per master (its file is rewritten for the next)."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _balances:
        _balances.clear()
        _balances[key] = file_balance(path)
    return _balances[key]


def summarize(rows: list[tuple]) -> dict:
    """Per system and size: to 10 kHz; and on the masters that reach 16 kHz, to 10 kHz and (``full_band``) to 16."""
    result: dict = {}
    for name in dict.fromkeys(r[0] for r in rows):
        result[name] = {}
        for size in SIZES:
            sized = [r for r in rows if r[0] == name and r[2] == size]
            result[name][str(size)] = banded(partial(scores, sized, size), 0)
    for title, table in band_tables(result):
        print(f"{title}\n{'system':44} {'untouched dB (max)':>19} {'1x: ratio, worse':>17} {'3x: ratio':>10}")
        for name, s in table.items():
            untouched = (f"{s['0.0']['mean_left_db']:6.2f} ({s['0.0']['max_left_db']:.2f})" if s["0.0"]["songs"]
                         else f"refused {s['0.0']['refused']}")
            if s["1.0"]["songs"]:
                print(f"{name:44} {untouched:>19} {s['1.0']['ratio']:9.2f}, {s['1.0']['worse']:2d}/"
                      f"{s['1.0']['songs']:<3d} {s['3.0']['ratio']:9.2f}")
    return result


if __name__ == "__main__":
    main()
