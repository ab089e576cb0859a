"""The benchmark measures what it says: its baselines do the engine's work, its report has
the promised shape, and bad options get one line."""

import json

import numpy as np
import pytest

from inteleq_rt import bench
from inteleq_rt.bench import baselines
from inteleq_rt.engine.eq import usable_filters
from inteleq_rt.engine.config import band_set
from inteleq_rt.engine.filterbank import FilterBank
from inteleq_rt.engine.presets import load_presets

from .conftest import run_cli

RATE = 48_000


@pytest.mark.parametrize("genre", ["rock_pop", "hiphop", "classical"])
def test_scipy_baseline_does_the_engines_analysis_and_eq(genre):
    filters = usable_filters(load_presets()[genre].eq, RATE)
    audio = np.random.default_rng(0).normal(scale=0.1, size=(RATE, 2)).astype(np.float32)
    scipy_out, board_out = np.empty_like(audio), np.empty_like(audio)
    baseline = baselines.ScipyBaseline(band_set("paper"), filters, RATE, 2, 0.4)
    board = baselines.pedalboard_baseline(filters, RATE)
    bank = FilterBank(band_set("paper"), RATE, 2, 0.4)
    for start in range(0, RATE, 256):
        block = audio[start : start + 256]
        baseline.process(block, scipy_out[start : start + 256])
        board(block, board_out[start : start + 256])
        bank.process(block)
    np.testing.assert_allclose(baseline.band_ms.T, bank.band_ms, rtol=1e-3)
    error_db = 20 * np.log10(np.max(np.abs(scipy_out - board_out)) / np.max(np.abs(board_out)))
    assert error_db < -70  # the same EQ, designed by the same cookbook formulas
    assert not np.allclose(board_out, audio, atol=1e-3)  # and the EQ does act


def test_pacing_gives_the_engine_every_other_turn_and_each_baseline_its_share():
    """One call per period, in quarter-second turns: the lead (the engine) takes every other
    turn, with ``between`` after each of its calls; each other subject gets its turns, and
    the audio runs on across turns as a stream would."""
    from inteleq_rt.bench.harness import STRETCH_S, paced_run

    audio = np.arange(RATE * 4 * 2, dtype=np.float32).reshape(-1, 2)
    seen: dict[str, list[float]] = {"engine": [], "a": [], "b": []}
    subjects = {name: (lambda block, out, name=name: seen[name].append(float(block[0, 0]))) for name in seen}
    relayed = []
    durations = paced_run(subjects, audio, 256, RATE, 1.0, lead="engine", between=lambda: relayed.append(1))
    per_turn = round(STRETCH_S / (256 / RATE))
    assert {name: len(d) for name, d in durations.items()} == {"engine": 2 * per_turn, "a": per_turn, "b": per_turn}
    assert len(relayed) == 2 * per_turn and all(np.all(d > 0) for d in durations.values())
    starts = sorted(v for values in seen.values() for v in values)
    assert starts == [2 * 256 * i for i in range(4 * per_turn)]  # every block once, in order


def test_the_relay_hands_the_second_engine_what_the_first_was_told():
    from inteleq_rt.bench.harness import relay
    from inteleq_rt.engine.commands import CommandRecord

    source, target = CommandRecord(3, curve_filters=2), CommandRecord(3, curve_filters=2)
    follow = relay(source, target)
    follow()
    assert CommandRecord.curves(target.fields) is None and target.read() is None  # nothing posted yet
    source.post(genre=1, curves=np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    follow()
    fields = target.read()
    assert CommandRecord.genre(fields) == 1 and CommandRecord.curves(fields).tolist() == [[1, 2], [3, 4], [5, 6]]
    follow()
    assert target.read() is None  # posted once per post


@pytest.mark.slow
def test_bench_reports_every_block_size_and_baseline(tmp_path):
    out = tmp_path / "bench.json"
    # 7 s a block size: the engine takes half the turns, and the classifier beside it decides
    # after 3 s of statistics
    result = run_cli("bench", "--seconds", "7", "--block-sizes", "64,256", "--json", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    keys = {f"{stat}_{unit}" for stat in ("p50", "p99", "p999", "max") for unit in ("us", "share")}
    for frames in ("64", "256"):
        entry = document["block_sizes"][frames]
        for subject in ("engine", *bench.BASELINES):
            assert keys <= set(entry[subject]), subject
            assert 0 < entry[subject]["p50_us"] <= entry[subject]["p99_us"] <= entry[subject]["max_us"]
        assert entry["engine"]["p99_share"] == pytest.approx(entry["engine"]["p99_us"] / entry["period_us"], rel=1e-3)
        assert entry["ratios_p50"]["engine/copy"] > 1  # nothing beats a copy
    assert set(document["bands"]) == {"block_size", "5", "11", "31"}
    offline = document["offline"]
    assert set(offline) == {"fixed_genre", "automatic"}
    assert offline["fixed_genre"]["seconds_of_audio"] == 120 and offline["fixed_genre"]["realtime_factor"] > 1
    assert offline["automatic"]["realtime_factor"] > 1 and "whole track heard as" in offline["automatic"]["eq"]
    assert document["classifier"]["beside_engine"]["decisions"] >= 1  # it really ran beside the engine
    assert document["startup"]["total_s"] > 0 and "import_engine_s" in document["startup"]
    assert "x scipy" in result.stdout and "offline render" in result.stdout
    again = run_cli("bench", "--seconds", "0.2", "--block-sizes", "64", "--json", str(out))
    assert again.returncode == 1 and "exists; pass --force" in again.stderr


@pytest.mark.parametrize("args, message", [
    (["--block-sizes", "64,abc"], "--block-sizes '64,abc'"),
    (["--block-sizes", "4"], "4"),
    (["--live-only"], "--live-only needs --device"),
    (["--seconds", "0"], "--seconds 0"),
])
def test_bad_bench_options_get_one_line(args, message):
    result = run_cli("bench", *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and message in lines[0], result.stderr


def test_a_profile_times_every_stage_the_engine_runs_and_only_those():
    from inteleq_rt.engine.config import EngineConfig
    from inteleq_rt.engine.engine import Engine

    engine = Engine(EngineConfig(input_ring_s=4.0), genre="hiphop")
    audio = np.random.default_rng(1).normal(scale=0.1, size=(RATE, 2)).astype(np.float32)
    reference = Engine(EngineConfig(input_ring_s=4.0), genre="hiphop")
    profile = engine.start_profile(blocks=100)
    out, expected = np.empty((256, 2), np.float32), np.empty((256, 2), np.float32)
    for start in range(0, 50 * 256, 256):
        engine.process(audio[start : start + 256], out)
        reference.process(audio[start : start + 256], expected)
        np.testing.assert_array_equal(out, expected)  # timing changes nothing it runs
    assert profile.names == ["front end", "commands", "eq", "back end", "output analysis",
                             "publish"]  # no plugins, no meters: not there
    times = profile.recorded()
    assert times.shape == (50, len(profile.names)) and np.all(times > 0)


@pytest.mark.slow
def test_bench_profile_prints_the_stages_with_the_glue(tmp_path):
    out = tmp_path / "profile.json"
    result = run_cli("bench", "--profile", "--block-sizes", "64,256", "--seconds", "0.5", "--no-classifier",
                     "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "per-stage profile" in result.stdout and "python glue" in result.stdout
    profiles = json.loads(out.read_text())["profile"]
    assert [p["block_size"] for p in profiles] == [64, 256]
    for profile in profiles:
        stages = profile["stages"]
        assert {"eq", "back end", "python glue"} <= set(stages)
        parts = sum(s["p50_us"] for name, s in stages.items())
        assert 0.5 * profile["total"]["p50_us"] < parts < 2.0 * profile["total"]["p50_us"]
