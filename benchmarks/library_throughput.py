"""A whole library on this machine: `inteleq-rt process DIR -o OUT` over a corpus folder (the
path on the command line), as a user runs it, with --jobs 1 and --jobs 2, a fixed genre and
automatic, and on a local Dask cluster (a scheduler and two one-thread workers, processes this
script starts). Files/s, hours of audio per hour, the scaling efficiency (jobs 2 against 1,
same sitting) and the peak memory of each worker (RSS and PSS, sampled). Then resume: a run
stopped halfway (SIGINT; then SIGKILL to all its processes) and rerun: files redone, lost,
left partial.

    python benchmarks/library_throughput.py ../shared/data/genre-audio
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import soundfile as sf
from _common import parser, plt, progress, save

from inteleq_rt.bench.stats import machine

SAMPLE_EVERY_S = 0.5


def _memory(pids: set[int], peaks: dict[int, dict]) -> None:
    for pid in pids:
        try:
            info = psutil.Process(pid).memory_full_info()
        except psutil.Error:
            continue
        peak = peaks.setdefault(pid, {"rss_mb": 0.0, "pss_mb": 0.0})
        peak["rss_mb"] = max(peak["rss_mb"], info.rss / 2**20)
        peak["pss_mb"] = max(peak["pss_mb"], info.pss / 2**20)


def run(corpus: Path, out: Path, extra: list[str], workers: set[int] | None = None,
        stop_after_rows: int | None = None, how: str = "SIGINT", one_core: bool = False) -> dict:
    """One command to its end (or stopped once its report holds ``stop_after_rows`` rows):
    wall time, what its report says, and each worker's peak memory (``workers``: the cluster's
    processes; else the command's children, or the command itself with one job)."""
    report = out.with_suffix(".jsonl")
    rows_before = report.read_text().count("\n") if report.exists() else 0
    command = [sys.executable, "-m", "inteleq_rt", "process", str(corpus), "-o", str(out), "--jsonl", str(report), *extra]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True,
                             preexec_fn=(lambda: os.sched_setaffinity(0, {0})) if one_core else None)
    me, peaks, stopped = psutil.Process(child.pid), {}, False
    while child.poll() is None:
        try:
            # the pool's workers (multiprocessing's resource tracker is a child too; it starts as a
            # fork of the command, so it would show the command's memory until it execs)
            pids = workers or ({child.pid} if "1" in extra[extra.index("--jobs") + 1:][:1] else
                               {c.pid for c in me.children() if "spawn_main" in " ".join(c.cmdline())})
        except psutil.Error:
            pids = set()
        _memory(pids, peaks)
        rows = report.read_text().count("\n") - rows_before if report.exists() else 0
        if stop_after_rows is not None and not stopped and rows >= stop_after_rows:
            stopped = True
            if how == "SIGINT":
                child.send_signal(signal.SIGINT)
            else:  # the whole process group, workers too: no one cleans up
                os.killpg(child.pid, signal.SIGKILL)
        time.sleep(SAMPLE_EVERY_S)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - began
    lines = report.read_text().splitlines()[rows_before:] if report.exists() else []
    rows = [json.loads(line) for line in lines if line.endswith("}")]
    done = [r for r in rows if r["status"] == "done"]
    audio_h = sum(r["audio_seconds"] for r in done) / 3600
    counted = re.search(r"(\d+) done, (\d+) unchanged", stdout)  # the summary counts what the report holds already
    return {"command": " ".join(command[3:]), "exit": child.returncode, "wall_s": round(wall, 2),
            "files_done": len(done), "unchanged": int(counted.group(2)) if counted else None,
            "failed": sum(r["status"] == "failed" for r in rows), "audio_hours": round(audio_h, 3),
            "files_per_s": round(len(done) / wall, 3), "audio_hours_per_hour": round(audio_h * 3600 / wall, 1),
            "worker_peak_rss_mb": sorted(round(p["rss_mb"], 1) for p in peaks.values()),
            "worker_peak_pss_mb": sorted(round(p["pss_mb"], 1) for p in peaks.values()),
            "summary": stdout.strip().splitlines()[:2], "stderr_tail": stderr.strip().splitlines()[-2:]}


def dask_cluster(folder: Path) -> tuple[str, list[subprocess.Popen]]:
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")
    processes = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(scheduler_file)], stdout=log, stderr=log)]
    while not scheduler_file.exists():
        time.sleep(0.05)
    for number in range(2):
        processes.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file",
                                           str(scheduler_file), "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                           "--name", f"w{number}"], stdout=log, stderr=log))
    from distributed import Client

    with Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
        client.wait_for_workers(2, timeout=60)
        return client.scheduler.address, processes


def outputs_state(out: Path, corpus: Path) -> dict:
    """After a stop: outputs whole (as long as their input) or not, records, temporaries left."""
    outputs = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    whole = sum(sf.info(str(p)).frames == sf.info(str(corpus / p.relative_to(out))).frames for p in outputs)
    return {"outputs": len(outputs), "whole": whole,
            "records": len(list(out.rglob(".*.inteleq-rt.json"))), "partial_left": len(list(out.rglob("*partial*")))}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path, help="a folder of audio files (e.g. the genre corpus)")
    args = p.parse_args()
    result = {"machine": machine(), "corpus": str(args.corpus), "runs": {}, "resume": {}}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        address, cluster = dask_cluster(scratch)
        worker_pids = {c.pid for c in cluster[1:]}
        # jobs 1 runs in the command's own process, where XLA may use both cores: "one core"
        # pins it to one, the baseline of the scaling efficiency
        subjects = {"fixed genre, jobs 1, one core": ["--genre", "rock_pop", "--jobs", "1"],
                    "fixed genre, jobs 1": ["--genre", "rock_pop", "--jobs", "1"],
                    "fixed genre, jobs 2": ["--genre", "rock_pop", "--jobs", "2"],
                    "fixed genre, Dask (2 workers)": ["--genre", "rock_pop", "--dask", address],
                    "automatic, jobs 1, one core": ["--jobs", "1"], "automatic, jobs 1": ["--jobs", "1"],
                    "automatic, jobs 2": ["--jobs", "2"], "automatic, Dask (2 workers)": ["--dask", address]}
        try:
            for number, (name, extra) in enumerate(subjects.items()):
                progress(f"{name} ...")
                result["runs"][name] = run(args.corpus, scratch / f"run{number}", extra,
                                           worker_pids if "--dask" in extra else None, one_core="one core" in name)
                progress(f"  {result['runs'][name]['audio_hours_per_hour']} h/h, {result['runs'][name]['wall_s']} s")
        finally:
            for process in cluster[::-1]:
                process.terminate()
        for kind in ("fixed genre", "automatic"):
            runs = {n: r["audio_hours_per_hour"] for n, r in result["runs"].items() if n.startswith(kind)}
            two = runs[f"{kind}, jobs 2"]
            result[f"scaling efficiency, {kind} (jobs 2 / 2 x jobs 1 on one core)"] = round(
                two / (2 * runs[f"{kind}, jobs 1, one core"]), 3)
            result[f"speed-up, {kind} (jobs 2 / jobs 1)"] = round(two / runs[f"{kind}, jobs 1"], 3)
        total = len([p for p in args.corpus.rglob("*") if p.suffix.lower() in (".wav", ".flac", ".ogg", ".mp3")])
        for how in ("SIGINT", "SIGKILL"):
            progress(f"resume after {how} halfway ...")
            out = scratch / f"resume-{how}"
            stopped = run(args.corpus, out, ["--jobs", "2"], stop_after_rows=total // 2, how=how)
            state = outputs_state(out, args.corpus)
            again = run(args.corpus, out, ["--jobs", "2"])
            result["resume"][how] = {"stopped": stopped, "after_stop": state, "rerun": again,
                                     "after_rerun": outputs_state(out, args.corpus),
                                     "redone": again["files_done"] - (total - state["records"]),
                                     "skipped_on_rerun": again["unchanged"]}
    figure, axis = plt.subplots(figsize=(8, 3.5))
    names = list(result["runs"])
    axis.barh(names, [result["runs"][n]["audio_hours_per_hour"] for n in names])
    axis.set(xlabel="hours of audio per hour (higher is better)", title=f"process DIR over {args.corpus.name}")
    save(args.out, "library_throughput", result, figure)
    print(json.dumps({n: {k: r[k] for k in ("files_per_s", "audio_hours_per_hour", "wall_s", "worker_peak_rss_mb",
                                            "worker_peak_pss_mb")} for n, r in result["runs"].items()}, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k.startswith(("scaling", "speed-up"))}, indent=1))
    print(json.dumps({h: {k: v for k, v in r.items() if k not in ("stopped", "rerun")} for h, r in result["resume"].items()},
                     indent=1))


if __name__ == "__main__":
    main()
