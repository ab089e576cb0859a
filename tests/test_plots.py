"""Pictures: a preset's response and a file's analysis, drawn from the real chain."""

import re

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

from inteleq_rt.demo import demo_clip
from inteleq_rt.plots import chain_response
from inteleq_rt.engine.presets import EqFilter

from .conftest import run_cli


def test_chain_response_is_measured_through_the_real_chain():
    freqs, db = chain_response((EqFilter("peak", 1000.0, 6.0, 1.0), EqFilter("high_shelf", 8000.0, -4.0, 0.707)), 48000)
    at = lambda hz: db[np.argmin(np.abs(freqs - hz))]  # noqa: E731
    assert abs(at(1000.0) - 6.0) < 0.3 and abs(at(30.0)) < 0.1 and abs(at(19000.0) + 4.0) < 0.3


@pytest.mark.slow
def test_preset_plot(tmp_path):
    picture = tmp_path / "hiphop.png"
    result = run_cli("presets", "show", "hiphop", "--plot", str(picture))
    assert result.returncode == 0, result.stderr
    assert matplotlib.image.imread(str(picture)).shape[:2] == (450, 900)
    again = run_cli("presets", "show", "hiphop", "--plot", str(picture))
    assert again.returncode == 1 and "exists; pass --force" in again.stderr


@pytest.mark.slow
def test_analyze_plots_a_file(tmp_path):
    audio, rate = demo_clip(seconds=8.0)
    source, picture = tmp_path / "song.wav", tmp_path / "song.png"
    sf.write(str(source), audio, rate)
    result = run_cli("analyze", str(source), "--plot", str(picture), "--mode", "match")
    assert result.returncode == 0, result.stderr
    rendered = run_cli("process", str(source), "-o", str(tmp_path / "out.wav"), "--mode", "match")
    decided = re.search(r"genre timeline: (.*)", rendered.stdout).group(1)
    assert f"song.wav: {decided}" in result.stdout  # the picture is of what process renders: one genre
    (tmp_path / "out.wav").unlink()
    following = run_cli("analyze", str(source), "--plot", str(picture), "--mode", "match", "--follow", "--force")
    assert following.returncode == 0 and "0.1s flat" in following.stdout  # as live: flat until it decides
    assert matplotlib.image.imread(str(picture)).shape[:2] == (1100, 1100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.png", "song.wav"]
    missing = run_cli("analyze", str(tmp_path / "nothing.wav"), "--plot", str(tmp_path / "x.png"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_range_mode_pictures_the_balance_against_the_genres_range(tmp_path):
    audio, rate = demo_clip(seconds=4.0)
    source = tmp_path / "song.wav"
    sf.write(str(source), audio, rate)
    picture = tmp_path / "range.png"
    made = run_cli("analyze", str(source), "--plot", str(picture), "--genre", "electronic", "--mode", "range")
    assert made.returncode == 0, made.stderr
    # a fourth panel (the range, the input's and the output's balance) below the three other modes draw
    assert matplotlib.image.imread(str(picture)).shape[:2] == (1400, 1100)
