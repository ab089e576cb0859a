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


@pytest.mark.slow
def test_bench_reports_every_block_size_and_baseline(tmp_path):
    out = tmp_path / "bench.json"
    # 3.5 s a block size: the classifier decides after 3 s of statistics
    result = run_cli("bench", "--seconds", "3.5", "--block-sizes", "64,256", "--json", str(out), timeout=300)
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
