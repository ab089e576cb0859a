"""Offline render speed, stage by stage: a 4-minute 44.1 kHz stereo mp3 (the demo groove
encoded with LAME, or ``--track FILE``) to FLAC and to WAV.

End to end, `process` as a user runs it (decode, the plan's pass, the render, true peak and
its check, dither, encode, tags), with a chosen genre and in automatic mode (the model loaded
once, as a folder run loads it); and what each stage costs alone, on the decoded blocks:
ratios against the decoder alone, measured in the same run (the median of --rounds).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, plt, progress, save  # noqa: E402

from inteleq_rt.bench.harness import PRESET  # noqa: E402
from inteleq_rt.engine.loudness import IntegratedLoudness  # noqa: E402
from inteleq_rt.engine.truepeak import TruePeak  # noqa: E402
from inteleq_rt.genre.weights import load_genre_model  # noqa: E402
from inteleq_rt.genre.whole_file import classify_file  # noqa: E402
from inteleq_rt.io import files  # noqa: E402
from inteleq_rt.offline import process_file  # noqa: E402
from inteleq_rt.options import Options  # noqa: E402
from inteleq_rt.plan import plan_track  # noqa: E402
from inteleq_rt.session import Session, render_blocks, session_presets  # noqa: E402
from inteleq_rt.tonal.spectrum import LongTermSpectrum  # noqa: E402

TRACK_S = 240.0


def demo_mp3(path: Path) -> Path:
    from pedalboard.io import AudioFile

    from inteleq_rt.demo import demo_clip

    audio, rate = demo_clip(seconds=TRACK_S)
    with AudioFile(str(path), "w", rate, audio.shape[1], quality="V2") as mp3:
        mp3.write(audio.T)
    return path


def timed(run, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def stages(track: Path, model, rounds: int) -> dict[str, float]:
    """Seconds each stage takes alone, on the track's decoded blocks."""
    import soundfile as sf

    info = files.read_info(track)
    rate, channels = info.sample_rate, info.channels
    blocks = list(files.stream(track))
    options = Options(genre=PRESET)
    plan = plan_track(track, info, options, session_presets(options))

    def decode() -> None:
        with sf.SoundFile(str(track)) as reader:
            for _ in files.read_blocks(reader, track, files.FILE_BLOCK):
                pass

    def feed(meter) -> None:
        for block in blocks:
            meter.add(block)

    def engine() -> None:
        session = Session(plan.options, rate, channels, analyze=False, presets=plan.presets)
        plan.apply(session.engine)
        for _ in render_blocks(session.engine, blocks):
            pass

    def encode(container: str) -> None:
        quantize = files.Quantizer("PCM_24")
        with tempfile.TemporaryDirectory() as folder, \
                sf.SoundFile(str(Path(folder) / "out"), "w", rate, channels, "PCM_24", format=container) as out:
            for block in blocks:
                out.write(quantize(block.copy()))

    return {
        "decode (mp3, libsndfile)": timed(decode, rounds),
        "plan: 1/3-octave spectrum": timed(lambda: feed(LongTermSpectrum(rate)), rounds),
        "loudness meter (one of three)": timed(lambda: feed(IntegratedLoudness(rate, channels)), rounds),
        "genre verdict (automatic)": timed(lambda: classify_file(track, model), rounds),
        "engine (EQ, level, limiter)": timed(engine, rounds),
        "true peak": timed(lambda: feed(TruePeak(rate, channels)), rounds),
        "dither + FLAC encode": timed(lambda: encode("FLAC"), rounds),
        "dither + WAV write": timed(lambda: encode("WAV"), rounds),
    }


def end_to_end(track: Path, model, rounds: int) -> dict[str, float]:
    """`process`'s own render seconds (the model already loaded), per output and mode."""
    result = {}
    with tempfile.TemporaryDirectory() as folder:
        for extension in ("flac", "wav"):
            destination = Path(folder) / f"out.{extension}"
            for mode, options in (("chosen genre", Options(genre=PRESET, force=True)),
                                  ("automatic", Options(force=True))):
                result[f"{mode} -> {extension.upper()}"] = statistics.median(
                    process_file(track, destination, options, model).summary["render_seconds"] for _ in range(rounds))
    return result


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--track", type=Path, help="an audio file (default: the demo groove, 4 minutes, as mp3)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each measurement; the median counts (default: 3)")
    args = p.parse_args()
    model = load_genre_model(None, "")
    with tempfile.TemporaryDirectory() as folder:
        track = args.track or demo_mp3(Path(folder) / "groove.mp3")
        info = files.read_info(track)
        seconds = info.frames / info.sample_rate
        progress(f"{track.name}: {seconds:.0f} s; stages alone")
        alone = stages(track, model, args.rounds)
        progress("end to end")
        whole = end_to_end(track, model, args.rounds)
    decode = alone["decode (mp3, libsndfile)"]
    print(f"{'stage, alone':34} {'seconds':>8} {'x real time':>12} {'x decode':>9}")
    for name, spent in alone.items():
        print(f"{name:34} {spent:8.2f} {seconds / spent:12.0f} {spent / decode:9.2f}")
    print(f"{'process, end to end':34}")
    for name, spent in whole.items():
        print(f"{name:34} {spent:8.2f} {seconds / spent:12.0f} {spent / decode:9.2f}")
    result = {"track": str(args.track or "demo groove (mp3, V2)"), "seconds_of_audio": round(seconds, 2),
              "stages_s": alone, "end_to_end_s": whole,
              "realtime_factor": {name: seconds / spent for name, spent in whole.items()}}
    figure, axis = plt.subplots(figsize=(8, 4.5))
    names = list(alone) + list(whole)
    axis.barh(names, [alone.get(n, whole.get(n)) for n in names],
              color=["tab:gray"] * len(alone) + ["tab:blue"] * len(whole))
    axis.invert_yaxis()
    axis.set_xlabel(f"seconds for {seconds:.0f} s of audio")
    save(args.out, "offline_render", result, figure)


if __name__ == "__main__":
    main()
