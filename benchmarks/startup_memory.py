"""Start-up and memory per command, each run as a user runs it (a fresh `inteleq-rt` process):
time from the process's start to its first processed block and to "classifier ready" (live, on
a JACK dummy server this script starts), the whole command's wall time, peak resident memory,
and peak proportional set size summed over the command's processes (the classifier's
included; shared pages counted once). Needs jackd2 (`apt-get install jackd2 libportaudio2`).

    python benchmarks/startup_memory.py            # each command 3 times; medians
    python benchmarks/startup_memory.py --soak 600 # live automatic for 10 min, music played
                                                   # into it: PSS every 30 s (memory_soak.json)
"""

import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import parser, progress

from inteleq_rt.bench.jack import JackServer
from inteleq_rt.bench.stats import machine
from inteleq_rt.demo import demo_clip

DEVICE = "system, JACK"


def _pss(process) -> int:
    """Proportional set size of a process and its children (the classifier's, the resource
    tracker): shared pages counted once between their users. (inteleq_rt.memory.memory_mb
    sums the same for its own process; kept apart here, so this script runs against any
    version of the program, an old checkout on PYTHONPATH too.)"""
    import psutil

    total = 0
    for each in (process, *process.children(recursive=True)):
        try:
            total += each.memory_full_info().pss
        except psutil.Error:
            pass
    return total


def run(command: list[str], env: dict) -> dict:
    """One command: its wall time, peak RSS (sampled every 20 ms: the kernel's own peak counts
    the memory of this process, forked before the exec) and peak PSS over its processes
    (sampled every 0.5 s)."""
    import psutil

    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "inteleq_rt", *command], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched, peak_rss, peak_pss, samples = psutil.Process(child.pid), 0, 0, 0
    while child.poll() is None:
        try:
            peak_rss = max(peak_rss, watched.memory_info().rss)
            if samples % 25 == 24:
                peak_pss = max(peak_pss, _pss(watched))
        except psutil.Error:
            break
        samples += 1
        time.sleep(0.02)
    child.wait()
    wall = time.perf_counter() - began
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode().strip().splitlines()[-1:]}")
    entry = {"wall_s": wall, "peak_rss_mb": peak_rss / 2**20}
    if peak_pss:  # none sampled: the command ended within half a second
        entry["peak_pss_mb_all_processes"] = peak_pss / 2**20
    return entry


def from_report(path: Path) -> dict:
    summary = json.loads(path.read_text())["summary"]
    memory = summary.get("memory", {})
    return {key: value for key, value in (
        ("first_block_after_start_s", summary.get("first_block_after_start_s")),
        ("classifier_ready_after_start_s", summary.get("classifier_ready_after_start_s")),
        ("processes", memory.get("processes")),
        ("model_load_seconds", summary.get("model_load_seconds"))) if value is not None}


def soak(seconds: float, server: JackServer, env: dict) -> dict:
    """Live automatic mode for ``seconds`` while a JACK client of this process plays music into
    its inputs (so the classifier decides every second): PSS over its processes every 30 s. No
    --report, as a user monitors (a report keeps a sample every 0.5 s, by design); the figures
    come from the summary it prints."""
    import jack
    import psutil

    music, _ = demo_clip(seconds=8.0, sample_rate=48_000)
    player = jack.Client("inteleq-soak-player", servername=server.name)
    outs = [player.outports.register(f"out_{i}") for i in range(2)]
    position = [0]

    def play(frames: int) -> None:
        n = np.arange(position[0], position[0] + frames) % len(music)
        position[0] += frames
        for channel, port in enumerate(outs):
            port.get_array()[:] = music[n, channel] * 0.5

    player.set_process_callback(play)
    player.activate()
    child = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "--device", DEVICE, "--duration", str(seconds)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    began, wired, samples = time.monotonic(), False, []
    while child.poll() is None:
        if not wired and {"PortAudio:in_0", "PortAudio:in_1"} <= {p.name for p in player.get_ports()}:
            for channel, port in enumerate(outs):
                player.connect(port, f"PortAudio:in_{channel}")
            wired = True
        elapsed = time.monotonic() - began
        if elapsed >= 30 * len(samples) + 15:  # from 15 s: the classifier is ready and deciding
            samples.append((round(elapsed), round(_pss(psutil.Process(child.pid)) / 2**20, 1)))
        time.sleep(0.25)
    player.deactivate()
    player.close()
    summary = {}
    for line in child.stdout.read().splitlines():  # "  decisions: 596", "  memory: {...}"
        key, _, value = line.strip().partition(": ")
        if key in ("decisions", "xruns", "memory"):
            summary[key] = ast.literal_eval(value)
    return {"seconds": seconds, "pss_mb_all_processes_every_30_s": samples,
            "decisions": summary.get("decisions"), "xruns": summary.get("xruns"),
            "memory_at_end": summary.get("memory")}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--soak", type=float, metavar="SECONDS", help="instead: a live automatic soak this long")
    args = p.parse_args()
    server = JackServer(f"inteleq-startup-{os.getpid()}")
    server.use()
    env = {**os.environ, **server.env}
    if args.soak:
        try:
            result = soak(args.soak, server, env)
        finally:
            server.stop()
        print(json.dumps(result))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "memory_soak.json").write_text(json.dumps({"machine": machine(), **result}, indent=1))
        print(f"wrote {out / 'memory_soak.json'}")
        return
    folder = Path(tempfile.mkdtemp())
    music, rate = demo_clip(seconds=8.0, sample_rate=48_000)
    source = folder / "track.wav"
    sf.write(str(source), np.resize(music, (120 * rate, 2)), rate, subtype="PCM_24")
    report = folder / "report.json"
    commands = {
        "help": ["--help"],
        "live, fixed genre": ["--device", DEVICE, "--genre", "rock_pop", "--duration", "3"],
        "live, automatic": ["--device", DEVICE, "--duration", "8"],
        "process, fixed genre (120 s)": ["process", str(source), "-o", str(folder / "out.wav"), "--genre", "rock_pop"],
        "process, automatic (120 s)": ["process", str(source), "-o", str(folder / "out.wav")],
        "classify (120 s)": ["classify", str(source)],
    }
    results = {}
    try:
        for name, command in commands.items():
            runs = []
            for _ in range(args.repeats):
                progress(f"{name}: {' '.join(command)}")
                reported = "--device" in command or command[0] == "process"
                extra = ["--report", str(report), "--force"] if reported else []
                entry = run(command + extra, env)
                if reported:
                    entry.update(from_report(report))
                runs.append(entry)
            results[name] = {key: round(float(np.median([r[key] for r in runs])), 3) for key in runs[0]}
    finally:
        server.stop()
    print(f"{'command':<30} {'wall s':>7} {'first block s':>13} {'classifier ready s':>18} "
          f"{'peak RSS MB':>11} {'peak PSS MB':>11}")
    for name, entry in results.items():
        print(f"{name:<30} {entry['wall_s']:>7.2f} {entry.get('first_block_after_start_s', float('nan')):>13.2f} "
              f"{entry.get('classifier_ready_after_start_s', float('nan')):>18.2f} {entry['peak_rss_mb']:>11.0f} "
              f"{entry.get('peak_pss_mb_all_processes', float('nan')):>11.0f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shown = {name: "inteleq-rt " + " ".join(command).replace(str(folder), "TMP") for name, command in commands.items()}
    (out / "startup_memory.json").write_text(json.dumps({"machine": machine(), "repeats": args.repeats,
                                                         "commands": shown, "results": results}, indent=1))
    print(f"wrote {out / 'startup_memory.json'}")


if __name__ == "__main__":
    main()
