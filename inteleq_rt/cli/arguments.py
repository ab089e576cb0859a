"""Parsed arguments into what the library takes: the ``Options`` every audio command shares,
the default EQ mode, and the checks more than one command makes (cli/audio.py, library.py
and tools.py all use them)."""

from __future__ import annotations

import argparse

from ..engine import config as defaults
from ..options import Options, frequency_span


def options_from(args: argparse.Namespace, **overrides) -> Options:
    """The run's options from the engine arguments every audio command shares."""
    fields = dict(genre=args.preset.stem if args.preset is not None and args.genre is None else args.genre,
                  preset_file=args.preset, weights=args.weights, classify_every_s=args.classify_every, blend=args.blend,
                  targets=args.targets, mode=args.mode, amount_percent=args.amount, crossfade_s=args.crossfade,
                  bands=args.bands, presets=args.presets, plugins=tuple(args.plugin),
                  plugin_position=args.plugin_position, report=args.report, force=args.force,
                  level_match=args.level_match, ceiling_db=args.ceiling, reference=args.reference,
                  max_gain_db=args.max_gain, protect_hz=tuple(frequency_span(span) for span in args.protect))
    if args.mode is None:
        fields["mode"] = default_mode(args)
    return Options(**{**fields, **overrides})


def default_mode(args: argparse.Namespace) -> str:
    """Range, which measured best on untouched and detuned masters and toward a reference
    (README), where it has what it needs (a reference, or the presets folder's genre
    ranges); a folder of one's own presets without them, or a preset file: its curves, as
    written; match for a blend (its mode)."""
    from ..engine.presets import RANGES_FILE
    from ..resources import presets_dir

    if args.blend:
        return "match"
    if args.preset is not None:
        return "preset"
    if args.reference is not None or (presets_dir(args.presets) / RANGES_FILE).is_file():
        return "range"
    return "preset"


def check_block_size(block_size: int) -> None:
    defaults.check_range("block size", block_size, "--block-size")
