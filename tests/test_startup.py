"""What each part of the program loads: start-up time and memory are mostly the libraries a
command imports (numba and LLVM ~150 MB and 0.5 s, jax ~200 MB and 1 s, scipy.signal 75 MB
and 0.8 s), so each is held to the places that use it."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from .conftest import REPO, run_cli, sine

HEAVY = ("numba", "jax", "scipy.signal", "matplotlib", "sounddevice")


def loaded_after(code: str) -> dict[str, bool]:
    """Which heavy libraries a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_parsing_the_command_line_loads_no_heavy_library():
    loaded = loaded_after("from inteleq_rt.cli.parser import build_parser\n"
                          "build_parser('process').parse_args(['a.wav', '-o', 'b.wav'])")
    assert not any(loaded.values()), loaded


def test_the_engine_loads_numba_but_not_scipy_signal_jax_or_plots():
    loaded = loaded_after("from inteleq_rt.engine.engine import Engine\nEngine(genre='jazz')")
    assert loaded["numba"], loaded
    assert not loaded["scipy.signal"] and not loaded["jax"] and not loaded["matplotlib"], loaded


def test_the_classifier_process_loads_no_numba():
    """Its modules (and the tag model) never import the engine's compiled code: the child
    holds jax alone."""
    loaded = loaded_after("import inteleq_rt.genre.process, inteleq_rt.genre.classifier, inteleq_rt.genre.musicnn.tag_model")
    assert not loaded["numba"] and not loaded["sounddevice"], loaded


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["genre", "automatic"])
def test_a_render_without_a_report_sounds_the_same_as_with_one(tmp_path, mode):
    """A whole-track render without a report skips the band meters: the audio is the same."""
    source = tmp_path / "in.wav"
    sf.write(str(source), sine(220.0, 4.0, 48_000) + sine(3000.0, 4.0, 48_000, amplitude=0.1), 48_000,
             subtype="FLOAT")
    choice = ["--genre", "jazz"] if mode == "genre" else []
    outputs = []
    for extra in ([], ["--report", str(tmp_path / "report.json")]):
        output = tmp_path / f"out{len(outputs)}.wav"
        result = run_cli("process", str(source), "-o", str(output), *choice, *extra)
        assert result.returncode == 0, result.stderr
        outputs.append(sf.read(str(output), dtype="float32")[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert np.abs(outputs[0]).max() > 0.1


def test_a_live_run_without_a_report_keeps_genre_changes_not_every_sample(tmp_path):
    """Hours of live monitoring: the timeline keeps the genre changes only, unless a report
    asks for every sample (a 10-minute soak grew 0.8 MB a minute before)."""
    from inteleq_rt.options import Options
    from inteleq_rt.session import Session

    block = sine(440.0, 4096 / 48000, 48000).astype(np.float32)
    out = np.empty_like(block)
    for report in (None, tmp_path / "r.json"):
        session = Session(Options(genre="jazz", report=report), 48000, 2, live=True)
        for _ in range(700):  # 60 s of stream, a sample due every 0.5 s
            session.engine.process(block, out)
            session.timeline.sample()
        assert len(session.timeline.entries) == (0 if report is None else pytest.approx(117, abs=3))
        assert [genre for _, genre in session.timeline.genre_changes()] == ["jazz"]
