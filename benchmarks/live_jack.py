"""The live numbers on a JACK dummy server this script starts: callback time, xruns,
callbacks over half the period, memory over the run, and the round trip through a loopback
(outputs wired to inputs) against the latency JACK reports; alternating in one sitting with a
pass-through callback (the floor) and the engine with its classifier stopped. Needs jackd2
(`apt-get install jackd2 libportaudio2`).

    python benchmarks/live_jack.py                                # 256 frames, 60 s per subject
    python benchmarks/live_jack.py --period 64 --realtime         # jackd -R: 64-frame periods
    python benchmarks/live_jack.py --seconds 600 --rounds 10      # soak: 10 min each, in 10 rounds
"""

import atexit
import os
import sys
from pathlib import Path

import numpy as np
from _common import histogram, parser, plt, progress, save

from inteleq_rt import bench, interrupts
from inteleq_rt.bench.jack import JackServer
from inteleq_rt.genre.weights import read_classes
from inteleq_rt.resources import weights_dir


def main() -> None:
    p = parser(__doc__.splitlines()[0], seconds=60.0)
    p.add_argument("--period", type=int, default=256, help="JACK period = block size (default: 256)")
    p.add_argument("--realtime", action="store_true", help="run jackd with realtime scheduling (-R)")
    p.add_argument("--rounds", type=int, default=3, help="alternations of the subjects (default: 3)")
    p.add_argument("--no-classifier", action="store_true", help="the engine alone, for comparison")
    args = p.parse_args()
    interrupts.install()  # SIGTERM and SIGHUP unwind too, so the exit hook below stops jackd
    server = JackServer(f"inteleq-bench-{os.getpid()}", period=args.period, realtime=args.realtime)
    server.use()
    # Registered before sounddevice is imported, so it runs after PortAudio's own exit hook:
    # PortAudio must leave the server before the server goes.
    atexit.register(server.stop)
    weights = weights_dir()
    settings = bench.Settings(seconds=args.seconds, weights=weights)
    raw: dict = {}
    classes = None if args.no_classifier else read_classes(weights)
    live = bench.measure_live("system, JACK", settings, args.period, classes, progress, jack_loopback=True, raw=raw,
                              rounds=args.rounds)
    live["jackd"] = {"period": args.period, "realtime": args.realtime, "backend": "dummy"}
    result = {"machine": bench.machine(), "live": live}
    print(bench.format_live(live))

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    period_us = args.period / settings.sample_rate * 1e6
    histogram(left, {"engine": raw["live"] * 1e6, "pass-through": raw["pass_through"] * 1e6}, period_us,
              f"live callbacks, {args.period} frames, JACK dummy{' -R' if args.realtime else ''}")
    tenths = np.arange(1, len(live["p99_drift_us"]) + 1) * args.seconds / len(live["p99_drift_us"])
    right.plot(tenths, live["p99_drift_us"], marker="o", label="callback p99 per tenth of the run")
    right.axhline(period_us, color="k", linestyle="--", linewidth=1, label="block period")
    right.set(yscale="log", xlabel="seconds into the run", ylabel="us",
              title=f"drift; xruns engine {live['xruns']}, pass-through {live['subjects']['pass_through']['xruns']}; "
                    f"RSS {live['rss_start_mb']} -> {live['rss_end_mb']} MB")
    right.legend(fontsize=8)
    name = f"live_jack_{args.period}{'_rt' if args.realtime else ''}{'_alone' if args.no_classifier else ''}"
    save(Path(args.out), name, result, figure)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
