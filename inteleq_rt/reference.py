"""References: tracks whose balance is the target instead of a genre's (``--reference
FILE|DIR``), each checked as an input is and refused, with its name, when it holds too
little music to steer by; for match mode a preset with their averaged band levels, for range
mode a range spanned by their 1/3-octave balances."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .engine.config import SILENCE_GATE_DBFS, band_set
from .engine.levels import LongTermBalance
from .engine.presets import Preset, Target
from .errors import InteleqError
from .io import files

if TYPE_CHECKING:
    from .tonal.targets import GenreRange

REFERENCE = "reference"  # the genre name a --reference track's balance goes by
# Range mode reads one reference finer than a genre (0.4 octave, not 1): with the original
# master as reference, 0.21 of a detuning remained instead of 0.33 (7 masters; Matchering 2:
# 0.21). Several are read as a genre is (at 0.4 octave, 1.18 remained with three others of the
# genre against 1.12; benchmarks/eq_rendered.py).
REFERENCE_SMOOTHING_OCTAVES = 0.4
# A few references span less than the music they sample (the 10th-90th percentile of three
# songs is nearly their min-max): their range is widened by this over the square root of
# their count on each side. Balance domain (benchmarks/eq_range.py's method), 3 and 5 other
# masters of the genre as references, unwidened -> widened: untouched change 0.81, 0.52 dB ->
# 0.36, 0.30; a mastering-sized error 0.98, 0.94 of itself remaining -> 0.94, 0.94; a bad mix
# 0.76, 0.82 -> 0.88, 0.90.
REFERENCE_WIDENING_DB = 3.5
# A --reference must hold this much sound above the silence gate, spread over at least this
# share of the third-octave bands (within this many dB of its loudest): music does, a tone not.
MIN_REFERENCE_S = 3.0
REFERENCE_SPAN_DB, REFERENCE_FILLED_SHARE = 60.0, 0.6


def reference_preset(path: Path, bands: tuple[tuple[float, float], ...]) -> Preset:
    """A preset whose target is ``path``'s long-term balance: match mode steers toward it.
    ``path`` is a track, or a folder whose tracks' balances are averaged (in dB, each track
    weighing the same). Each is heard as an input is (NaN and Inf as silence, absurd levels
    clamped) and refused, with its name, when it holds too little music to steer by."""
    tracks = _reference_tracks(path)
    balances, rates = zip(*(_checked(track, bands)[1:] for track in tracks))
    what = f"{Path(path).name} ({len(tracks)} tracks averaged)" if len(tracks) > 1 else Path(path).name
    return Preset(REFERENCE, f"the long-term balance of {what}", str(path), (),
                  Target(bands, tuple(np.mean(balances, axis=0)), None, min(rates) * 0.45))


def reference_range(path: Path) -> GenreRange:
    """Range mode's target from ``path`` (a track, or a folder of them): one track's balance
    is a precise target (its range has no width: matched to the fit's resolution, within
    --max-gain); several span a range, widened for their few (REFERENCE_WIDENING_DB), and
    only what lies outside it moves. Each is checked as ``reference_preset`` checks it."""
    from .tonal.spectrum import LongTermSpectrum

    balances = []
    for track in _reference_tracks(path):
        audio, _, rate = _checked(track, band_set("paper"))
        spectrum = LongTermSpectrum(rate)
        spectrum.add(audio)
        balances.append(spectrum.balance_db())
    return references_range(np.array(balances), Path(path).name)


def references_range(balances: np.ndarray, name: str = "") -> GenreRange:
    """The range of references' 1/3-octave balances (tracks x bands): one is read finely and
    has no width; several are read as a genre is, and widened for their few."""
    from .tonal.targets import GENRE_SMOOTHING_OCTAVES, build_range

    if len(balances) == 1:
        return build_range(REFERENCE, balances, 0, name, min_songs=1, smoothing_octaves=REFERENCE_SMOOTHING_OCTAVES)
    spread = build_range(REFERENCE, balances, 0, name, min_songs=1, smoothing_octaves=GENRE_SMOOTHING_OCTAVES)
    widening = REFERENCE_WIDENING_DB / math.sqrt(len(balances))
    return replace(spread, low_db=spread.low_db - widening, high_db=spread.high_db + widening)


def _reference_tracks(path: Path) -> list[Path]:
    if not Path(path).is_dir():
        return [Path(path)]

    tracks = sorted(p for p in Path(path).rglob("*") if p.is_file() and files.is_audio_name(p))
    if not tracks:
        raise InteleqError(f"{path}: no audio files to take as references")
    return tracks


def _checked(track: Path, bands: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, np.ndarray, int]:
    """One reference as the engine hears it (conditioned), its balance on ``bands`` (dB per
    band) and its sample rate, once it passed the checks: each track is read once."""
    info = files.read_info(track)
    balance = LongTermBalance(bands, info.sample_rate, info.channels)
    from .engine.front import conditioned

    audio = conditioned(files.read_audio(track)[0])
    balance.add(audio)
    if balance.seconds_heard < MIN_REFERENCE_S:
        raise InteleqError(f"{track}: a reference needs {MIN_REFERENCE_S:g} s of music above {SILENCE_GATE_DBFS:g} dBFS; "
                           f"it holds {balance.seconds_heard:.1f} s")
    filled, of = _bands_filled(audio.mean(axis=1), info.sample_rate)
    if filled < REFERENCE_FILLED_SHARE * of:
        raise InteleqError(f"{track}: not music to steer by: its sound fills {filled} of {of} third-octave bands "
                           f"(within {REFERENCE_SPAN_DB:g} dB of its loudest); a tone or a narrow sound?")
    return audio, balance.levels_db(), info.sample_rate


def _bands_filled(mono: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """How many third-octave bands from 31.5 Hz up to 16 kHz (or 0.45 x the rate) hold sound
    within REFERENCE_SPAN_DB of the loudest: a long-term spectrum (Welch), not the engine's
    few wide filters, whose skirts let a tone reach every band."""
    from scipy import signal

    frequencies, psd = signal.welch(mono, sample_rate, nperseg=min(len(mono), 8192))
    from .tonal.spectrum import BANDS

    bands = [(low, high) for low, high in BANDS if high < 0.45 * sample_rate]
    powers = np.array([psd[(frequencies >= low) & (frequencies < high)].sum() for low, high in bands])
    levels = 10 * np.log10(np.maximum(powers, 1e-30))
    return int(np.count_nonzero(levels > levels.max() - REFERENCE_SPAN_DB)), len(bands)
