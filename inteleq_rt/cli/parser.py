"""The command line's grammar: every command's arguments, and nothing else."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..bench.stats import BLOCK_SIZES
from ..engine import config as defaults
from ..options import BAND_SETS, MODES, PLUGIN_POSITIONS
from ..resources import DEFAULT_MODEL, PRESETS_ENV, WEIGHTS_ENV

PROG = "inteleq-rt"
SUBCOMMANDS = ("process", "analyze", "presets", "targets", "demo", "train", "classify", "bench", "plugins")


def names_folders(inputs: list[Path]) -> bool:
    """Whether `process` inputs are a library run's (several, or a folder) rather than one file."""
    return len(inputs) > 1 or inputs[0].is_dir()


def _weights_option(parser) -> None:
    parser.add_argument("--weights", metavar="NAME|DIR", default=None,
                        help=f"genre model: a folder, or a name looked up in ${WEIGHTS_ENV}, the user's "
                             f"data folder (~/.local/share/inteleq-rt/weights) and the shipped models "
                             f"(default: {DEFAULT_MODEL})")


def _presets_option(parser) -> None:
    parser.add_argument("--presets", "--presets-dir", dest="presets", type=Path, metavar="DIR",
                        help=f"folder of preset .toml files (default: ${PRESETS_ENV}, else "
                             "~/.config/inteleq-rt/presets if it holds any, else the shipped presets)")


def _library_options(parser: argparse.ArgumentParser, stdout_json: bool) -> None:
    """Folders: how many workers, or which cluster; the per-file report."""
    group = parser.add_argument_group("folders (several files at once)")
    group.add_argument("--jobs", type=int, metavar="N",
                       help="files at once, each in its own worker process (default: one per core)")
    group.add_argument("--dask", metavar="ADDRESS",
                       help="run the files on a Dask cluster's workers (e.g. tcp://host:8786); they read and "
                            "write the same paths (a shared folder); needs `pip install 'inteleq-rt[cluster]'`")
    # A report names its file with its own option and extension, so it can never swallow an
    # input (`classify --json song.wav` once took the song for the report's path).
    report = group.add_mutually_exclusive_group()
    report.add_argument("--csv", type=Path, metavar="FILE.csv", help="append a row per file to this CSV file")
    report.add_argument("--jsonl", type=Path, metavar="FILE.jsonl", help="append a JSON line per file to FILE")
    if stdout_json:
        report.add_argument("--json", action="store_true", help="print one JSON object at the end, instead of lines")


def _engine_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("equalizer")
    group.add_argument("--genre",
                       help="preset to apply: one of `inteleq-rt presets` (shipped: classical, country, "
                            "disco, electronic, flat, hiphop, jazz, rock_pop); default: automatic, recognized "
                            "by the genre model")
    group.add_argument("--preset", type=Path, metavar="FILE.toml",
                       help="apply this preset file's EQ as written, e.g. one `process --save-preset` saved "
                            "and you edited (its name is the file's)")
    _weights_option(group)
    group.add_argument("--classify-every", type=float, default=1.0, metavar="SECONDS",
                       help="automatic mode: seconds between genre decisions (default: 1)")
    group.add_argument("--blend", action="store_true",
                       help="automatic match mode: steer toward the probability-weighted blend of the "
                            "genres' targets instead of the single decided genre")
    group.add_argument("--targets", type=Path, metavar="FILE.toml",
                       help="target balances for match mode (default: presets/targets.toml; "
                            "`train` writes one next to its weights)")
    group.add_argument("--mode", choices=MODES, default=None,
                       help="range: undo what looks like an EQ error against the spread of the genre's "
                            "1/3-octave balances (presets/ranges.toml); preset: the genre's EQ curve as written; match: "
                            "steer each band toward the genre's target balance (default: range, or preset "
                            "when the presets folder has no ranges.toml; match with --reference or --blend)")
    group.add_argument("--reference", type=Path, metavar="FILE|DIR",
                       help="match mode steers toward this track's long-term balance instead of a genre's "
                            "(a folder: its tracks' balances averaged)")
    group.add_argument("--amount", type=float, default=100.0, metavar="PERCENT",
                       help="scale every EQ gain, 0-100 (default: 100)")
    group.add_argument("--max-gain", type=float, default=6.0, metavar="DB",
                       help="range and match mode: no filter (match: no band) moves more than this, "
                            "0-12 dB (default: 6)")
    group.add_argument("--protect", action="append", default=[], metavar="LOW-HIGH",
                       help="range mode: leave this span alone (Hz, e.g. 10000-20000 or 10k-20k; repeatable)")
    group.add_argument("--crossfade", type=float, default=2.0, metavar="SECONDS",
                       help="crossfade time when the genre changes (default: 2)")
    group.add_argument("--bands", choices=BAND_SETS, default="paper",
                       help="analysis bands: the paper's five, 11 octaves or 31 third-octaves (default: paper)")
    _presets_option(group)
    group.add_argument("--plugin", action="append", default=[], metavar="PATH[:NAME=VALUE,...]",
                       help="insert a VST3 plugin, configured (repeatable; in the order given); "
                            f"`{PROG} plugins PATH` lists its parameters")
    group.add_argument("--plugin-position", choices=PLUGIN_POSITIONS, default="post",
                       help="plugins run before the EQ (the analysis and classifier hear them) or "
                            "after it (default: post)")
    sound = parent.add_argument_group("level and ceiling")
    sound.add_argument("--no-level-match", dest="level_match", action="store_false",
                       help="let the EQ change the loudness (default: the output is kept as loud as "
                            "the input, ITU-R BS.1770, so the EQ is heard as balance, not level)")
    sound.add_argument("--ceiling", type=float, default=-1.0, metavar="DBFS",
                       help="the limiter's sample-peak ceiling after the EQ and plugins, -20..0 "
                            "(default: -1; true peak may exceed it by a fraction of a dB)")
    group.add_argument("--report", type=Path, metavar="FILE.json",
                       help="write a timeline: time, genre, EQ gains, input/output band levels")
    group.add_argument("--force", action="store_true", help="overwrite existing output files")
    return parent


def _device_options(parser: argparse.ArgumentParser, with_input: bool) -> None:
    group = parser.add_argument_group("audio device")
    group.add_argument("-d", "--device", metavar="ID|NAME",
                       help="device index or name substring, e.g. 2 or \"system, JACK\"")
    if with_input:
        group.add_argument("--input-device", metavar="ID|NAME", help="capture device (overrides --device)")
    group.add_argument("--output-device", metavar="ID|NAME", help="playback device (overrides --device)")
    group.add_argument("-b", "--block-size", type=int, default=defaults.BLOCK_SIZE, metavar="FRAMES",
                       help=f"frames per audio callback (default: {defaults.BLOCK_SIZE})")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    engine = _engine_options()
    if command is None:
        parser = argparse.ArgumentParser(
            prog=PROG, parents=[engine],
            description="Genre-aware real-time equalizer. With no command, monitors a live input "
                        "through the EQ. Commands: process (files), analyze, classify, train, targets, bench, presets, plugins, demo; "
                        f"`{PROG} COMMAND --help` for each.",
            epilog=f"examples:\n  {PROG} --list-devices\n  {PROG} --device 2 --genre jazz\n"
                   f"  {PROG} --device \"system, JACK\" --mode match --genre hiphop\n"
                   f"  {PROG} process song.wav -o song-eq.flac --genre rock_pop --report song.json\n"
                   f"  {PROG} presets show hiphop",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
        _device_options(parser, with_input=True)
        parser.add_argument("-r", "--samplerate", type=int, metavar="HZ",
                            help="stream sample rate (default: the device's)")
        parser.add_argument("-c", "--channels", type=int, metavar="N", help="channels (default: up to 2)")
        parser.add_argument("--duration", type=float, metavar="SECONDS",
                            help="stop after this long (default: run until Ctrl+C)")
        return parser
    if command == "process":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} process", parents=[engine],
            description="Equalize an audio file: offline as fast as possible (default), or played in "
                        "real time to a device with --realtime. Any format libsndfile reads; the output "
                        "format follows its extension; sample rate and channels are preserved. Folders: "
                        "every audio file in them, in parallel, into the same layout under the -o folder, "
                        "tagged like its input; a rerun skips what is finished.")
        parser.add_argument("input", type=Path, nargs="+", help="audio file, or folders (and files) to process")
        parser.add_argument("-o", "--output", type=Path,
                            help="file to write, or the folder for folders (required unless --realtime)")
        parser.add_argument("--format", metavar="EXT",
                            help="folders: write every output in this format, e.g. flac (default: each input's own)")
        _library_options(parser, stdout_json=False)
        parser.add_argument("--realtime", action="store_true",
                            help="play through the engine to an output device, paced at real time")
        whole = parser.add_argument_group("offline render")
        whole.add_argument("--follow", action="store_true",
                           help="let the EQ and level follow the track as a live stream does (default: "
                                "one EQ and one gain for the whole track, decided from a first pass)")
        whole.add_argument("--target-lufs", type=float, metavar="LUFS",
                           help="deliver at this integrated loudness, -40..-5 (e.g. -14), under the ceiling")
        whole.add_argument("--no-dither", dest="dither", action="store_false",
                           help="round 8/16/24-bit outputs without TPDF dither")
        whole.add_argument("--save-preset", type=Path, metavar="FILE.toml",
                           help="also save the EQ the render applied as a preset file, to edit and apply "
                                "with --preset FILE.toml (its name is the file's)")
        _device_options(parser, with_input=False)
        return parser
    if command == "analyze":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} analyze", parents=[engine],
            description="Run a file through the engine (nothing written but the picture) and plot its band "
                        "levels over time, the genre probabilities over time, and what the EQ did: its "
                        "response, the input and output long-term spectra, the genre's target.")
        parser.add_argument("input", type=Path, help="audio file to analyse")
        parser.add_argument("--plot", type=Path, required=True, metavar="FILE.png", help="picture to write")
        parser.add_argument("--follow", action="store_true",
                            help="picture the EQ following the track as live monitoring does (default: as "
                                 "`process` renders it, one EQ for the whole track)")
        return parser
    if command == "train":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} train",
            description="Train and cross-validate the genre model on folders of genre folders "
                        "(GTZAN layout: blues/blues.00000.wav, ...; or folders named as the classes: "
                        "electronic/, rock_pop/, ...). Prints accuracy, macro-F1 and the confusion matrix, "
                        "and with several corpora, each one's head scored on the others; with -o, also "
                        "writes the weights, a model card and the genre targets for match mode.")
        parser.add_argument("datasets", type=Path, nargs="+", metavar="dataset",
                            help="folder of genre folders (several: trained on all, checked across them; a "
                                 "MANIFEST.tsv with artist_title and source_repo columns keeps each artist's "
                                 "and source's songs on one side of every split)")
        where = parser.add_mutually_exclusive_group()
        where.add_argument("-o", "--output", type=Path, metavar="DIR", help="weights folder to write")
        where.add_argument("--name", help="write the weights into the user's data folder under this name, "
                                          "where --weights NAME finds them")
        parser.add_argument("--model", choices=("tags", "filterbank", "paper"), default="tags",
                            help="tags: a genre head on the musicnn tagger's tags (default); filterbank: an MLP "
                                 "on 1/3-octave band statistics (for machines where the tagger costs too much); "
                                 "paper: the IntelEQ paper's 6-12-6 network")
        parser.add_argument("--baseline", action="store_true", help="the same as --model paper")
        parser.add_argument("--compare", action="store_true",
                            help="also evaluate the other two models on the same corpus, in the same run")
        parser.add_argument("--non-music", type=Path, metavar="DIR",
                            help="--model tags: recordings that are not music (speech, noise, ...) for the "
                                 "music detector (without: every input counts as music)")
        parser.add_argument("--mapping", type=Path, metavar="FILE.toml",
                            help='folder-to-class mapping, lines like rock = "rock_pop" (default: GTZAN)')
        parser.add_argument("--corpus-name", metavar="TEXT",
                            help="what the corpus is, for the model card and targets (default: the folder name)")
        parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--jobs", "--workers", dest="jobs", type=int, metavar="N",
                            help="feature extraction processes (default: one per core)")
        parser.add_argument("--dask", metavar="ADDRESS",
                            help="extract the features on a Dask cluster's workers (a shared corpus path)")
        parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                            help="feature cache (default: ~/.cache/inteleq-rt/features)")
        parser.add_argument("--no-cache", action="store_true", help="extract features afresh, keep none")
        parser.add_argument("--force", action="store_true", help="overwrite an existing weights folder")
        return parser
    if command == "bench":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} bench",
            description="Latency benchmark: the engine's time per block (median, p99, p99.9, max) as "
                        "a share of the block period, with the classifier beside it, against baselines "
                        "measured in the same run (scipy sosfilt, a plain pedalboard chain, a copy); "
                        "cost against analysis bands; offline real-time factor; classifier latency; "
                        "start-up time. No device needed; --device adds a live run with a loopback "
                        "round-trip measurement.")
        parser.add_argument("--block-sizes", default=",".join(map(str, BLOCK_SIZES)), metavar="N,N,...",
                            help="frames per block to measure (default: %(default)s)")
        parser.add_argument("--samplerate", type=int, default=defaults.SAMPLE_RATE, metavar="HZ")
        parser.add_argument("--channels", type=int, default=2)
        parser.add_argument("--bands", choices=BAND_SETS, default="paper")
        parser.add_argument("--seconds", type=float, default=4.0,
                            help="seconds of paced blocks per block size (the engine takes every block, "
                                 "the baselines take turns), or of the live run "
                                 "(default: 4; e.g. --block-sizes 256 --seconds 600 to soak)")
        _weights_option(parser)
        parser.add_argument("--no-classifier", action="store_true", help="measure the engine alone")
        parser.add_argument("--device", metavar="ID|NAME",
                            help="also run live on this duplex device; connect its outputs to its inputs "
                                 "to measure the round trip")
        parser.add_argument("--live-block-size", type=int, default=defaults.BLOCK_SIZE, metavar="FRAMES",
                            help=f"block size of the live run (default: {defaults.BLOCK_SIZE})")
        parser.add_argument("--jack-loopback", action="store_true",
                            help="with a JACK device: connect its outputs to its inputs for the round trip")
        parser.add_argument("--live-only", action="store_true", help="with --device: skip the offline part")
        parser.add_argument("--rounds", type=int, default=1,
                            help="with --device: alternate the engine with a pass-through callback (and "
                                 "the engine with its classifier stopped) this many times (default: 1)")
        parser.add_argument("--plugin", action="append", default=[], metavar="PATH[:NAME=VALUE,...]",
                            help="with --device: a plugin after the EQ in the live run (repeatable); "
                                 "the round trip shows the latency it adds")
        parser.add_argument("--profile", action="store_true",
                            help="only the time of each stage of a block (conditioning, ring, analysis, EQ, "
                                 "level match, limiter, ...) at each --block-sizes, paced")
        parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
        parser.add_argument("--force", action="store_true", help="overwrite an existing --json file")
        return parser
    if command == "classify":
        parser = argparse.ArgumentParser(prog=f"{PROG} classify",
                                         description="Print each file's genre probabilities. Folders: every "
                                                     "audio file in them, in parallel; with --csv or --json FILE "
                                                     "a rerun skips the files the report holds already.")
        parser.add_argument("files", type=Path, nargs="+", help="audio files or folders")
        _weights_option(parser)
        parser.add_argument("--tags", action="store_true", help="also print the tagger's own top tags")
        parser.add_argument("--force", action="store_true", help="classify again files the report holds already")
        _library_options(parser, stdout_json=True)
        return parser
    if command == "plugins":
        parser = argparse.ArgumentParser(prog=f"{PROG} plugins",
                                         description="List a VST3 plugin's parameters, their values and ranges.")
        parser.add_argument("plugin", metavar="PATH[:NAME=VALUE,...]")
        return parser
    if command == "targets":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} targets",
            description="Measure each genre's tonal range (1/3-octave balance: median and 10th-90th percentiles "
                        "across songs, 31.5 Hz-16 kHz, each band from the songs that reach it) from folders of "
                        "genre folders (GTZAN's genre names are mapped to ours).")
        parser.add_argument("folders", type=Path, nargs="+", metavar="DATASET")
        parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.toml")
        parser.add_argument("--force", action="store_true", help="overwrite an existing output")
        return parser
    if command == "presets":
        parser = argparse.ArgumentParser(prog=f"{PROG} presets",
                                         description="List, show or validate genre presets.")
        parser.add_argument("action", nargs="?", choices=("list", "show", "validate"), default="list")
        parser.add_argument("names", nargs="*", help="show: a preset name; validate: preset files")
        _presets_option(parser)
        parser.add_argument("--plot", type=Path, metavar="FILE.png", help="show: also draw the EQ response")
        parser.add_argument("--samplerate", type=int, default=defaults.SAMPLE_RATE, metavar="HZ",
                            help="--plot: the rate to draw the response at (default: %(default)s)")
        parser.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
        return parser
    parser = argparse.ArgumentParser(
        prog=f"{PROG} demo", parents=[engine],
        description="Synthesize a short music clip and equalize it (no audio device needed).")
    parser.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="folder for the demo files (default: a new ./inteleq-rt-demo*)")
    return parser


