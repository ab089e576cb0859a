"""Pictures of what the EQ does: a preset's response, and a file's analysis over time
(in range mode, against its genre's range).

Responses are measured, not computed from formulas: an impulse goes through the same
pedalboard chain the engine runs, so the picture cannot disagree with the sound.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

from .engine.eq import build_chain, usable_filters  # noqa: E402
from .engine.presets import EqFilter, Preset  # noqa: E402
from .tonal.spectrum import CENTRES_HZ, LongTermSpectrum, normalized  # noqa: E402
from .tonal.targets import HIGH_PERCENTILE, LOW_PERCENTILE, RangeVerdict  # noqa: E402

IMPULSE_FRAMES = 1 << 15


def chain_response(filters: tuple[EqFilter, ...], sample_rate: float,
                   gains_db: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and the chain's magnitude response (dB), from its impulse response."""
    filters = usable_filters(filters, sample_rate)
    board, plugins = build_chain(filters)
    for plugin, gain in zip(plugins, gains_db if gains_db is not None else [f.gain_db for f in filters]):
        plugin.gain_db = float(gain)
    impulse = np.zeros((IMPULSE_FRAMES, 1), np.float32)
    impulse[0] = 1.0
    response = board.process(impulse, sample_rate)[:, 0]
    spectrum = np.fft.rfft(response)
    freqs = np.fft.rfftfreq(IMPULSE_FRAMES, 1.0 / sample_rate)
    return freqs[1:], 20 * np.log10(np.abs(spectrum[1:]) + 1e-12)


def _response_axes(axes, title: str) -> None:
    axes.set_xscale("log")
    axes.set_xlim(20, 20000)
    axes.set_xlabel("frequency (Hz)")
    axes.set_ylabel("dB")
    axes.grid(True, which="both", alpha=0.3)
    axes.set_title(title)


def plot_preset(preset: Preset, sample_rate: float, path: Path) -> None:
    """The preset's EQ response, with each filter marked."""
    figure, axes = plt.subplots(figsize=(9, 4.5))
    freqs, db = chain_response(preset.eq, sample_rate)
    axes.plot(freqs, db, label=f"{preset.name} EQ")
    for f in preset.eq:
        axes.plot([f.frequency_hz], [f.gain_db], "o", color="tab:orange")
    _response_axes(axes, f"preset {preset.name}: EQ response at {sample_rate / 1000:g} kHz")
    axes.set_ylim(min(-13.0, db.min() - 1), max(7.0, db.max() + 1))
    axes.legend()
    _save(figure, path)


def plot_analysis(source: Path, input_audio: np.ndarray, output_audio: np.ndarray, sample_rate: float,
                  timeline: list[dict], bands_hz: list[tuple[float, float]], final_eq: list[tuple[EqFilter, float]],
                  target_db: list[float] | None, path: Path, tonal: RangeVerdict | None = None) -> None:
    """A file through the engine: band levels over time, genre over time, the EQ's effect,
    and (range mode) the track's balance before and after against its genre's range."""
    figure, panels = plt.subplots(3 if tonal is None else 4, 1, figsize=(11, 11 if tonal is None else 14))
    levels, genres, spectra = panels[:3]
    times = [entry["time_s"] for entry in timeline]
    band_levels = np.array([entry["input_band_levels_db"] for entry in timeline])
    for index, (low, high) in enumerate(bands_hz):
        levels.plot(times, band_levels[:, index], label=f"{low:g}-{high:g} Hz")
    levels.set_title(f"{source.name}: input band levels (dB relative to overall)")
    levels.set_xlabel("time (s)")
    levels.legend(fontsize=8, ncol=3)
    levels.grid(alpha=0.3)

    probabilities = [entry.get("probabilities") for entry in timeline]
    if any(probabilities):
        names = sorted(next(p for p in probabilities if p))
        for name in names:
            genres.plot(times, [p[name] if p else np.nan for p in probabilities], label=name)
        genres.set_ylabel("probability")
        genres.set_title("genre probabilities (smoothed, as the classifier decided)")
        genres.legend(fontsize=8, ncol=3)
    else:
        genres.set_title("genre chosen by hand (no classifier)")
    decided = [entry["genre"] for entry in timeline]
    for index, (time_s, genre) in enumerate(zip(times, decided)):
        if index == 0 or decided[index - 1] != genre:
            genres.axvline(time_s, color="grey", alpha=0.4)
            genres.text(time_s, 1.02, genre, fontsize=8, rotation=30)
    genres.set_ylim(0, 1.1)
    genres.set_xlabel("time (s)")
    genres.grid(alpha=0.3)

    freqs, eq_db = chain_response(tuple(f for f, _ in final_eq), sample_rate, [g for _, g in final_eq])
    spectra.plot(freqs, eq_db, color="black", label="EQ response at the end")
    for name, audio in (("input", input_audio), ("output", output_audio)):
        f, power = signal.welch(audio.mean(axis=1), sample_rate, nperseg=8192)
        keep = f > 0
        level = 10 * np.log10(power[keep] + 1e-20)
        spectra.plot(f[keep], level - np.median(level), alpha=0.8, label=f"{name} long-term spectrum (re median)")
    if target_db is not None:
        for (low, high), level in zip(bands_hz, target_db):
            spectra.hlines(level - np.median(target_db), low, min(high, sample_rate / 2), colors="tab:red",
                           linewidth=2)
        spectra.plot([], [], color="tab:red", label="genre target per band (re median band)")
    _response_axes(spectra, "what the EQ did")
    spectra.legend(fontsize=8)
    if tonal is not None:
        _plot_range(panels[3], tonal, output_audio, sample_rate)
    _save(figure, path)


def _plot_range(axes, tonal: RangeVerdict, output_audio: np.ndarray, sample_rate: float) -> None:
    """The 1/3-octave balance the range rule judged (the input's, as the render measured it)
    over the genre's 10th-90th percentile band across songs, where the correction meant to
    take it, and where the output's balance is: what lay outside, and where it went."""
    genre_range = tonal.genre_range
    if genre_range is not None:
        axes.fill_between(CENTRES_HZ, genre_range.low_db, genre_range.high_db, color="tab:green", alpha=0.2,
                          label=f"{genre_range.genre}'s range ({LOW_PERCENTILE:g}th-{HIGH_PERCENTILE:g}th percentile, "
                                f"{genre_range.songs} songs)")
        axes.plot(CENTRES_HZ, genre_range.median_db, color="tab:green", linestyle="--", label="its median")
    output = LongTermSpectrum(int(sample_rate))
    output.add(output_audio)
    for label, balance, style, color in (
            ("input balance", tonal.balance_db, ":", "tab:blue"),
            ("input + correction", normalized(tonal.balance_db + tonal.correction_db), "--", "tab:orange"),
            ("output balance (measured)", output.balance_db(), "-", "black")):
        axes.plot(CENTRES_HZ, balance, linestyle=style, marker=".", color=color, label=label)
    axes.set_xscale("log")
    axes.set_xlabel("frequency (Hz)")
    axes.set_ylabel("dB re the median band below 10 kHz")
    axes.set_title("the track's 1/3-octave balance against its genre's range (what range mode corrects)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)


def _save(figure, path: Path) -> None:
    """Atomically, like every file this program writes."""
    from .io.atomic import AtomicOutput

    figure.tight_layout()
    with AtomicOutput(path) as temporary:
        figure.savefig(temporary, dpi=100, format=Path(path).suffix.lstrip(".").lower() or "png")
    plt.close(figure)
