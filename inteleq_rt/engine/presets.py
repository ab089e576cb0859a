"""Genre presets: validated data describing a target tonal balance and the EQ it implies.

A preset file is TOML (see presets/*.toml): the genre's EQ chain, written by hand. The
genres' target tonal balances, which match mode steers toward, are measured from a corpus
by `inteleq-rt train` and kept in one generated file, presets/targets.toml. Loading checks
every key, type and range before anything is used, so a bad file is rejected with its path
and the offending key, and the engine keeps what it had.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import InteleqError

FILTER_KINDS = ("low_shelf", "peak", "high_shelf")
MAX_BOOST_DB = 6.0
MAX_CUT_DB = 12.0
MAX_FILTERS = 16
FREQUENCY_RANGE_HZ = (20.0, 20000.0)
Q_RANGE = (0.1, 10.0)
TARGET_RANGE_DB = (-80.0, 0.0)


class PresetError(InteleqError, ValueError):
    """A preset file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class EqFilter:
    kind: str
    frequency_hz: float
    gain_db: float
    q: float


@dataclass(frozen=True)
class Target:
    """Long-term band levels in dB relative to the overall level (what `match` steers to)."""

    bands_hz: tuple[tuple[float, float], ...]
    levels_db: tuple[float, ...]
    spread_db: tuple[float, ...] | None
    # The corpus had no content above this frequency; bands reaching above it are not steered.
    measured_below_hz: float | None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    source: str
    eq: tuple[EqFilter, ...]
    target: Target | None
    path: Path | None = None


FLAT = "flat"  # the preset that changes nothing: what silence and non-music get
TARGETS_FILE = "targets.toml"
RANGES_FILE = "ranges.toml"  # each genre's tonal range (inteleq_rt/tonal/targets.py)
_TOP_KEYS = {"name", "description", "source", "eq"}
_FILTER_KEYS = {"type", "frequency_hz", "gain_db", "q"}
_TARGET_KEYS = {"bands_hz", "levels_db", "spread_db", "clips", "corpus", "measured_below_hz"}


def _number(where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PresetError(f"{where}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise PresetError(f"{where}: {value:g} is outside {low:g}..{high:g}")
    return float(value)


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PresetError(f"{where}: expected non-empty text, got {value!r}")
    return value


def _reject_unknown(where: str, table: dict, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PresetError(f"{where}{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _parse_filter(where: str, table: Any) -> EqFilter:
    if not isinstance(table, dict):
        raise PresetError(f"{where}: expected a table with {', '.join(sorted(_FILTER_KEYS))}")
    _reject_unknown(f"{where}.", table, _FILTER_KEYS)
    for key in sorted(_FILTER_KEYS):
        if key not in table:
            raise PresetError(f"{where}.{key}: missing")
    kind = table["type"]
    if kind not in FILTER_KINDS:
        raise PresetError(f"{where}.type: {kind!r} is not one of {', '.join(FILTER_KINDS)}")
    return EqFilter(
        kind=kind,
        frequency_hz=_number(f"{where}.frequency_hz", table["frequency_hz"], *FREQUENCY_RANGE_HZ),
        gain_db=_number(f"{where}.gain_db", table["gain_db"], -MAX_CUT_DB, MAX_BOOST_DB),
        q=_number(f"{where}.q", table["q"], *Q_RANGE),
    )


def _number_list(where: str, value: Any, length: int, low: float, high: float) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != length:
        raise PresetError(f"{where}: expected a list of {length} numbers")
    return tuple(_number(f"{where}[{i}]", v, low, high) for i, v in enumerate(value))


def _parse_target(where: str, table: Any) -> Target:
    if not isinstance(table, dict):
        raise PresetError(f"{where}: expected a table")
    _reject_unknown(f"{where}.", table, _TARGET_KEYS)
    for key in ("bands_hz", "levels_db"):
        if key not in table:
            raise PresetError(f"{where}.{key}: missing")
    raw_bands = table["bands_hz"]
    if not isinstance(raw_bands, list) or not raw_bands:
        raise PresetError(f"{where}.bands_hz: expected a list of [low, high] pairs")
    bands = []
    for i, pair in enumerate(raw_bands):
        low, high = _number_list(f"{where}.bands_hz[{i}]", pair, 2, 1.0, 100_000.0)
        if low >= high:
            raise PresetError(f"{where}.bands_hz[{i}]: low edge {low:g} is not below high edge {high:g}")
        bands.append((low, high))
    levels = _number_list(f"{where}.levels_db", table["levels_db"], len(bands), *TARGET_RANGE_DB)
    spread = None
    if "spread_db" in table:
        spread = _number_list(f"{where}.spread_db", table["spread_db"], len(bands), 0.0, 60.0)
    measured_below = None
    if "measured_below_hz" in table:
        measured_below = _number(f"{where}.measured_below_hz", table["measured_below_hz"], 100.0, 200_000.0)
    return Target(tuple(bands), levels, spread, measured_below)


def parse_preset(data: dict, path: Path | None = None) -> Preset:
    """Validate a parsed preset table; raises PresetError naming the file and key."""
    prefix = f"{path}: " if path else ""
    try:
        _reject_unknown("", data, _TOP_KEYS)
        name = _text("name", data.get("name"))
        raw_eq = data.get("eq", [])
        if not isinstance(raw_eq, list):
            raise PresetError("eq: expected an array of tables ([[eq]] sections)")
        if len(raw_eq) > MAX_FILTERS:
            raise PresetError(f"eq: {len(raw_eq)} filters, at most {MAX_FILTERS} allowed")
        return Preset(
            name=name,
            description=_text("description", data.get("description")),
            source=_text("source", data.get("source")),
            eq=tuple(_parse_filter(f"eq[{i}]", f) for i, f in enumerate(raw_eq)),
            target=None,
            path=path,
        )
    except PresetError as error:
        raise PresetError(f"{prefix}{error}") from None


def read_toml(path: Path) -> dict:
    """A TOML file's tables, or a PresetError that names the file."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise PresetError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise PresetError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError as error:  # TOML is UTF-8
        raise PresetError(f"{path}: not UTF-8 text (byte {error.start}): save it as UTF-8") from None


def load_targets(path: Path) -> dict[str, Target]:
    """The measured target balance per genre, from a targets file (one table per genre)."""
    data = read_toml(path)
    try:
        return {name: _parse_target(name, table) for name, table in data.items()}
    except PresetError as error:
        raise PresetError(f"{path}: {error}") from None


def write_targets(path: Path, targets: dict[str, dict], bands: tuple[tuple[float, float], ...],
                  corpus: str, measured_below_hz: float) -> None:
    """Write measured targets (levels_db, spread_db, clips per genre) as a targets file."""
    def numbers(values) -> str:
        return "[" + ", ".join(f"{float(v):.2f}" for v in values) + "]"

    lines = ["# Generated by `inteleq-rt train`: each genre's long-term band level relative to the",
             "# overall level (mean over clips) and its spread (standard deviation across clips).",
             f"# Corpus: {corpus}", ""]
    for name, target in targets.items():
        lines += [f"[{name}]", "bands_hz = [" + ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in bands) + "]",
                  f"levels_db = {numbers(target['levels_db'])}", f"spread_db = {numbers(target['spread_db'])}",
                  f"clips = {int(target['clips'])}", f"measured_below_hz = {measured_below_hz:g}",
                  f"corpus = {json.dumps(corpus)}", ""]
    Path(path).write_text("\n".join(lines))
    load_targets(Path(path))  # what we write, we can read


def check_preset_path(path: Path) -> None:
    """A preset about to be written must load back as one: a .toml file whose stem, its name,
    is not a name this folder keeps for other files."""
    if path.suffix != ".toml" or not path.stem.strip():
        raise PresetError(f"{path}: a preset file is NAME.toml (its name is the file's)")
    if path.name in (TARGETS_FILE, RANGES_FILE):
        raise PresetError(f"{path}: {path.name} is the presets folder's {path.stem} file; name the preset otherwise")


def preset_text(preset: Preset) -> str:
    """A preset as the TOML file a user edits (what ``load_preset_file`` reads back)."""
    lines = [f"name = {json.dumps(preset.name)}", f"description = {json.dumps(preset.description)}",
             f"source = {json.dumps(preset.source)}"]
    for f in preset.eq:
        lines += ["", "[[eq]]", f'type = "{f.kind}"', f"frequency_hz = {f.frequency_hz:.6g}",
                  f"gain_db = {f.gain_db:.2f}", f"q = {f.q:.6g}"]
    text = "\n".join(lines) + "\n"
    parse_preset(tomllib.loads(text))  # what we write, we can read
    return text


def load_preset_file(path: Path) -> Preset:
    preset = parse_preset(read_toml(path), Path(path))
    if preset.name != Path(path).stem:
        raise PresetError(f"{path}: name: {preset.name!r} does not match the file name {Path(path).stem!r}")
    return preset


def load_presets(directory: Path | None = None, targets: Path | None = None) -> dict[str, Preset]:
    """Every preset in a folder (default: the one in force, see ``resources.presets_dir``), by
    name, with its target from the targets file (default: the folder's targets.toml, if any).
    All files are validated; the first error is raised."""
    from ..resources import presets_dir

    directory = presets_dir(directory)
    files = sorted(p for p in Path(directory).glob("*.toml") if p.name not in (TARGETS_FILE, RANGES_FILE))
    if not files:
        raise PresetError(f"{directory}: no preset files (*.toml) found")
    presets = {preset.name: preset for preset in map(load_preset_file, files)}
    if FLAT not in presets:  # what silence, non-music and short files fall back to
        raise PresetError(f"{directory}: no {FLAT}.toml: every presets folder needs the flat preset "
                          "(copy it from `inteleq-rt presets show flat`)")
    targets_path = Path(targets) if targets is not None else Path(directory) / TARGETS_FILE
    if targets is not None or targets_path.is_file():
        for name, target in load_targets(targets_path).items():
            if name not in presets:
                raise PresetError(f"{targets_path}: {name}: no preset of that name")
            presets[name] = replace(presets[name], target=target)
    return presets
