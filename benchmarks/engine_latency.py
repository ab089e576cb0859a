"""The published engine numbers: per-block time at 32..1024 frames, 48 kHz stereo, with the
classifier beside the engine, against the baselines measured in the same run; cost against
analysis bands; offline real-time factor; classifier latency; start-up.

    python benchmarks/engine_latency.py            # ~2.5 minutes; writes results/engine_latency.*
"""

from pathlib import Path

from _common import histogram, parser, plt, progress, save

from inteleq_rt import bench
from inteleq_rt.genre.weights import load_model
from inteleq_rt.resources import weights_dir


def main() -> None:
    args = parser(__doc__.splitlines()[0], seconds=12.0).parse_args()
    weights = weights_dir()
    settings = bench.Settings(seconds=args.seconds, weights=weights)
    raw: dict = {}
    result = bench.run(settings, progress, load_model(weights), raw)
    print(bench.format_table(result))

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    histogram(left, {name: d * 1e6 for name, d in raw[256].items()}, 256 / settings.sample_rate * 1e6,
              "256-frame blocks, 48 kHz stereo, paced")
    sizes = [int(n) for n in result["block_sizes"]]
    for index, name in enumerate(("engine", *bench.BASELINES)):
        for key, style in (("p50_us", "-"), ("p99_us", ":")):
            values = [result["block_sizes"][str(n)][name][key] for n in sizes]
            right.plot(sizes, values, style, color=f"C{index}", marker="o", label=f"{name} {key[:-3]}")
    right.plot(sizes, [n / settings.sample_rate * 1e6 for n in sizes], "k--", label="block period")
    right.set(xscale="log", yscale="log", xlabel="block size (frames)", ylabel="time per block (us)",
              title="cost against block size")
    right.set_xticks(sizes, [str(n) for n in sizes])
    right.legend(fontsize=7, ncol=2)
    save(Path(args.out), "engine_latency", result, figure)


if __name__ == "__main__":
    main()
