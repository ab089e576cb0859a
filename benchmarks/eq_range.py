"""The EQ's judgment in the balance domain: detune masters by a known random EQ, let each
rule correct them from their genre's range, score what remains.

Per master: its 1/3-octave balance (tonal/spectrum.py); its genre's range rebuilt without
the master's artist (leave-one-artist-out, GTZAN clips of the genre added with --gtzan);
a seeded detuning (the issue's recipe: shelves at 120 Hz and 5 kHz, 2-6 dB, a 300 Hz-3 kHz
peak, 1.5-4 dB; also tilts and smooth random curves) at size 0 (untouched), 1
(mastering-sized) and 3 (a bad mix); the correction each rule makes, as the response of
the filters it would run. Score: RMS over 31.5 Hz-10 kHz of what remains against the
master, median removed; remaining / put in over all songs (1 = did nothing, 0 = restored).
Scored again over the full band (31.5 Hz-16 kHz) on the masters whose bandwidth reaches
16 kHz: what the EQ does above 10 kHz must do no harm either.
Balances add in dB here (the band power change of a smooth EQ is its response at the
band's centre): a render does the same to within a few tenths of a dB. Also range mode
given, as ``--reference``, three other masters of the genre (other artists).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, plt, progress, save  # noqa: E402

from inteleq_rt.engine.curve_eq import SHELF_Q  # noqa: E402
from inteleq_rt.engine.presets import EqFilter, load_presets  # noqa: E402
from inteleq_rt.reference import references_range  # noqa: E402
from inteleq_rt.tonal.curve import response_db  # noqa: E402
from inteleq_rt.tonal.rule import correction_filters, range_correction  # noqa: E402
from inteleq_rt.tonal.spectrum import CENTRES_HZ, file_balance  # noqa: E402
from inteleq_rt.tonal.targets import build_range  # noqa: E402
from inteleq_rt.training.ranges import labelled_files  # noqa: E402

SCORED = CENTRES_HZ <= 10_500.0
FULL_BAND = np.ones(len(CENTRES_HZ), bool)  # to 16 kHz, the balance's top band
TRIALS = 3


def detuning(rng: np.random.Generator, family: str, size: float) -> np.ndarray:
    sign = lambda: rng.choice([-1.0, 1.0])  # noqa: E731
    if family == "shelves+peak":
        peak = float(np.exp(rng.uniform(np.log(300.0), np.log(3000.0))))
        filters = (EqFilter("low_shelf", 120.0, sign() * rng.uniform(2, 6) * size, SHELF_Q),
                   EqFilter("peak", peak, sign() * rng.uniform(1.5, 4) * size, 0.9),
                   EqFilter("high_shelf", 5000.0, sign() * rng.uniform(2, 6) * size, SHELF_Q))
        return response_db(filters, CENTRES_HZ)
    octaves = np.log2(CENTRES_HZ / 1000.0)
    if family == "tilt":
        return sign() * rng.uniform(0.3, 0.8) * size * octaves
    knots = rng.normal(0.0, 2.0 * size, 6)  # smooth random: a spline through 6 random knots
    return np.interp(octaves, np.linspace(octaves[0], octaves[-1], 6), knots)


def error_db(difference: np.ndarray, bands: np.ndarray = SCORED) -> float:
    """RMS over ``bands`` of a balance's difference, median removed (NaN: none measured)."""
    scored = difference[bands & np.isfinite(difference)]
    return float(np.sqrt(np.mean((scored - np.median(scored)) ** 2))) if len(scored) else np.nan


def errors_db(put: np.ndarray, left: np.ndarray, full_band: bool) -> tuple[float, ...]:
    """Put in and left, to 10 kHz, and over the full band (NaN: the master does not reach it)."""
    full = (error_db(put, FULL_BAND), error_db(left, FULL_BAND)) if full_band else (np.nan, np.nan)
    return error_db(put), error_db(left), *full


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("masters", type=Path, help="a folder of genre folders of masters (with MANIFEST.tsv for artists)")
    p.add_argument("--gtzan", type=Path, help="GTZAN-style genre folders added to each range (below their bandwidth)")
    args = p.parse_args()
    songs = labelled_files(args.masters)
    progress(f"measuring {len(songs)} masters")
    balances = np.array([file_balance(path) for _, path, _ in songs])
    genres = np.array([g for g, _, _ in songs])
    artists = np.array([a for _, _, a in songs])
    extra = {}
    if args.gtzan:
        for genre, path, _ in labelled_files(args.gtzan):
            extra.setdefault(genre, []).append(file_balance(path))
    presets = load_presets()
    rules = {
        "range (--mode range)": lambda b, r, g: response_db(correction_filters(range_correction(b, r), b), CENTRES_HZ),
        "preset curve (--mode preset)": lambda b, r, g: response_db(presets[g].eq if g in presets else (), CENTRES_HZ),
        "genre median (match)": lambda b, r, g: response_db(correction_filters(
            np.nan_to_num(r.median_db - (b - np.nanmedian((b - r.median_db)[SCORED]))), b), CENTRES_HZ),
    }
    rows = []
    for i, (genre, artist) in enumerate(zip(genres, artists)):
        others = balances[(genres == genre) & ((artists != artist) | (artist == "")) & (np.arange(len(genres)) != i)]
        pool = np.concatenate([others, np.array(extra.get(genre, [])).reshape(-1, len(CENTRES_HZ))])
        if len(pool) < 3:
            continue
        genre_range = build_range(genre, pool, 0)
        full_band = bool(np.isfinite(balances[i]).all())
        # --reference with a folder of three other masters of the genre (other artists)
        references = references_range(others[np.random.default_rng(i).choice(len(others), 3, replace=False)]) \
            if len(others) >= 3 else None
        for family in ("shelves+peak", "tilt", "smooth random"):
            for size in (0.0, 1.0, 3.0) if family == "shelves+peak" else (1.0, 3.0):
                for trial in range(TRIALS if size else 1):
                    rng = np.random.default_rng([i, trial, int(size), len(family)])
                    put = detuning(rng, family, size) if size else np.zeros(len(CENTRES_HZ))
                    heard = balances[i] + put
                    for name, rule in rules.items():
                        left = put + rule(heard, genre_range, genre)
                        rows.append((name, genre, size, errors_db(put, left, full_band)))
                    if references is not None:
                        left = put + rules["range (--mode range)"](heard, references, genre)
                        rows.append(("--reference 3 others", genre, size, errors_db(put, left, full_band)))
    result = summarize(rows)
    figure, axis = plt.subplots(figsize=(7, 4))
    for name in result:
        axis.bar([f"{s:g}x" for s in (1.0, 3.0)], [result[name][str(s)]["ratio"] for s in (1.0, 3.0)], alpha=0.5, label=name)
    axis.axhline(1.0, color="k", lw=0.8)
    axis.set_ylabel("remaining / put in")
    axis.legend()
    save(args.out, "eq_range", result, figure)


def scores(rows: list[tuple], size: float, put_at: int, among: int | None = None) -> dict:
    """One system's scores at one size, from rows (system, genre, size, errors_db(...)): the
    errors put in (at ``put_at``) and left (next), among the rows with a score at ``among``
    (default: ``put_at``); a song the system refused has nothing left (NaN)."""
    scored = [(r[1], r[3]) for r in rows if np.isfinite(r[3][put_at if among is None else among])]
    done = [(genre, e[put_at], e[put_at + 1]) for genre, e in scored if np.isfinite(e[put_at + 1])]
    if not done:
        return {"songs": 0, "refused": len(scored), "mean_left_db": None, "max_left_db": None, "ratio": None,
                "worse": None, "by_genre": {}}
    genres, put, left = (np.array(column) for column in zip(*done))
    return {"songs": len(done), "refused": len(scored) - len(done), "mean_left_db": float(left.mean()),
            "max_left_db": float(left.max()), "ratio": float(left.mean() / put.mean()) if size else None,
            "worse": int(np.sum(left > put + 0.5)),
            "by_genre": {g: float(left[genres == g].mean() / (put[genres == g].mean() if size else 1.0))
                         for g in sorted(set(genres))}}


# Each printed table: its title and where its scores are in a size's entry (None: the entry itself).
BAND_TABLES = (("31.5 Hz-10 kHz", None),
               ("31.5 Hz-10 kHz, the masters reaching 16 kHz", "full_band_masters_to_10khz"),
               ("31.5 Hz-16 kHz, the same masters", "full_band"))


def banded(score: Callable[..., dict], put_at: int) -> dict:
    """A size's entry: ``score(put_at, among)`` to 10 kHz over all masters, then on the
    masters reaching 16 kHz (their full-band errors two places on) to 10 kHz and to 16."""
    return {**score(put_at), "full_band": score(put_at + 2),
            "full_band_masters_to_10khz": score(put_at, among=put_at + 2)}


def band_tables(result: dict) -> Iterator[tuple[str, dict]]:
    """Each table's title and its scores, by rule and then size."""
    for title, key in BAND_TABLES:
        yield title, {name: {size: entry[key] if key else entry for size, entry in by_size.items()}
                      for name, by_size in result.items()}


def summarize(rows: list[tuple]) -> dict:
    """Per rule and size: to 10 kHz; and on the masters that reach 16 kHz, to 10 kHz and (``full_band``) to 16."""
    result: dict = {}
    for name in dict.fromkeys(r[0] for r in rows):
        result[name] = {}
        for size in (0.0, 1.0, 3.0):
            sized = [r for r in rows if r[0] == name and r[2] == size]
            result[name][str(size)] = banded(partial(scores, sized, size), 0)
    for title, table in band_tables(result):
        print(f"{title}\n{'rule':28} {'untouched dB (max)':>20} {'1x: ratio, worse':>18} {'3x: ratio, worse':>18}")
        for name, s in table.items():
            if s["1.0"]["songs"]:
                print(f"{name:28} {s['0.0']['mean_left_db']:8.2f} ({s['0.0']['max_left_db']:.2f})      "
                      f"{s['1.0']['ratio']:8.2f}, {s['1.0']['worse']:3d}/{s['1.0']['songs']}   "
                      f"{s['3.0']['ratio']:8.2f}, {s['3.0']['worse']:3d}/{s['3.0']['songs']}")
    return result


if __name__ == "__main__":
    main()
