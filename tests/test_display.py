"""The live status display: the terminal panel, the plain lines for logs, and the panel's
own process, on a real pseudo-terminal."""

import io
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import asdict

import numpy as np
import pytest
from rich.console import Console

from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.display import StatusDisplay, read_status
from inteleq_rt.panel import Status, plain_line, render
from inteleq_rt.engine.engine import Engine
from inteleq_rt.tonal.spectrum import CENTRES_HZ

from .conftest import JACK_RATE, REPO, sine

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def status(**changes) -> Status:
    fields = dict(
        time_s=12.5, genre="jazz", crossfade=0.4, mode="automatic",
        bands=[(20.0, 250.0), (250.0, 500.0), (500.0, 2000.0), (2000.0, 6000.0), (6000.0, 20000.0)],
        input_db=[-18.0, -24.0, -22.0, -30.0, -120.0], output_db=[-17.0, -24.0, -22.5, -30.0, -120.0],
        input_overall_db=-15.0, output_overall_db=-14.5,
        eq_gains=[("low shelf 100Hz", 1.0), ("peak 500Hz", 1.0), ("high shelf 8kHz", -1.0)],
        probabilities={"jazz": 0.62, "country": 0.3, "rock_pop": 0.08},
        callback_p99_s=170e-6, block_period_s=256 / 48000, xruns=3,
    )
    return Status(**{**fields, **changes})


def drawn(renderable) -> str:
    console = Console(record=True, width=100, force_terminal=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_the_panel_shows_meters_genre_fade_eq_probabilities_and_load():
    text = drawn(render(status()))
    assert "-> jazz (crossfade 40%)" in text and "automatic" in text
    assert re.search(r"20-250 .* -18\.0 .* -17\.0", text)  # input and output meters per band
    assert re.search(r"6k-20k .* -inf .* -inf", text)  # silence floors, never NaN
    assert re.search(r"all .* -15\.0 .* -14\.5", text)
    assert re.search(r"high shelf 8kHz .* -1\.0", text)
    assert re.search(r"jazz .* 62%", text) and text.index("jazz  ") < text.index("country")
    assert "callback p99 170 us = 3.2% of the 5.33 ms block" in text and "xruns 3" in text


def test_meters_and_gain_bars_are_drawn_to_scale():
    lines = {line.split()[0] + (line.split()[1] if line.startswith(("low", "high")) else ""): line
             for line in drawn(render(status(eq_gains=[("low shelf 100Hz", 6.0), ("high shelf 8kHz", -12.0)])))
             .splitlines() if line.strip()}
    # 0 dBFS fills the 24-cell meter; -18 dBFS fills (72 - 18) / 72 of it: 18 cells
    assert lines["20-250"].split("-18.0")[0].count("\u2588") == 18
    boost, cut = lines["lowshelf"][18:35], lines["highshelf"][18:35]
    assert boost == " " * 8 + "|" + "\u2588" * 4 + " " * 4  # +6 of 12 dB: half the right side
    assert cut == "\u2588" * 8 + "|" + " " * 8  # -12 dB: the whole left side


def test_the_panel_without_output_analysis_or_classifier():
    text = drawn(render(status(output_db=None, output_overall_db=None, probabilities=None, crossfade=None,
                               callback_p99_s=None, mode="genre jazz")))
    assert "output" not in text and "probability" not in text and "callback: waiting" in text
    assert "genre jazz   (set by --genre)" in text and "crossfade" not in text


def test_plain_lines_for_logs_are_rate_limited():
    log = io.StringIO()
    with StatusDisplay(log, every_s=60.0) as display:
        for _ in range(5):
            display.show(status())
    lines = log.getvalue().splitlines()
    assert len(lines) == 1  # not a terminal: no panel, one line per minute here
    assert lines[0] == plain_line(status())
    assert "jazz 62% country 30%" in lines[0] and "[-3 -9 -7 -15 -105]" in lines[0] and "xruns 3" in lines[0]


def test_read_status_from_a_running_engine():
    engine = Engine(EngineConfig(), genre="hiphop")
    tone = sine(100.0, 1.0, 48000)
    out = np.empty((256, 2), np.float32)
    for start in range(0, len(tone) - 255, 256):
        engine.process(tone[start : start + 256], out)
    snapshot = read_status(engine, None, None, 256, "genre hiphop")
    assert snapshot.input_db[0] > -16 > -30 > snapshot.input_db[2]  # a -15 dBFS tone at 100 Hz: lowest band
    assert snapshot.output_db[0] > snapshot.input_db[0]  # under hiphop's low shelf boost
    assert snapshot.probabilities is None and snapshot.callback_p99_s is None
    json.dumps(asdict(snapshot))  # it travels to the panel's process as JSON


def read_all(master: int, seconds: float) -> str:
    out, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            out += chunk
    return ANSI.sub("", out.decode(errors="replace"))


@pytest.mark.slow
def test_live_range_mode_shows_the_streams_balance_against_the_genres_range():
    """The follower's process publishes the balance it judged; the panel draws it against
    the range of the genre playing, with the correction applied, and says what lies outside."""
    from inteleq_rt.options import Options
    from inteleq_rt.session import Session

    rate = 48000
    noise = np.random.default_rng(4).standard_normal(rate * 8)
    spectrum = np.fft.rfft(noise)
    frequencies = np.fft.rfftfreq(len(noise), 1 / rate)
    shaped = np.fft.irfft(spectrum / np.sqrt(np.maximum(frequencies, 20.0)) * (1 + 5 * (frequencies > 3000)))
    audio = np.repeat((0.3 * shaped / np.abs(shaped).max()).astype(np.float32)[:, None], 2, axis=1)
    session = Session(Options(genre="rock_pop", mode="range"), rate, 2, block_size=256, live=True)
    out = np.empty((256, 2), np.float32)
    with session.beside_audio():
        assert session.classifier.wait_ready() and session.range_verdict() is None  # nothing judged yet
        verdict, started = None, time.monotonic()
        for start in range(0, len(audio) - 255, 256):
            session.engine.process(audio[start : start + 256], out)
            time.sleep(256 / rate / 4)  # four times real time: the follower keeps up
        while verdict is None and time.monotonic() - started < 30.0:
            time.sleep(0.1)
            verdict = session.range_verdict()
        status = read_status(session.engine, session.classifier, None, 256, "genre rock_pop", tonal=verdict)
    assert verdict is not None and verdict.genre == "rock_pop" and verdict.genre_range is not None
    highs = CENTRES_HZ >= 4000
    assert (verdict.balance_db[highs] > verdict.genre_range.high_db[highs]).any()  # the harsh top lies over
    json.dumps(asdict(status))
    drawn_panel = drawn(render(status))
    assert "rock_pop's range" in drawn_panel and re.search(r"8k .* \+\d+\.\d over +eq", drawn_panel)
    assert "outside" in plain_line(status)


@pytest.mark.slow
def test_the_panel_process_draws_in_place_and_falls_back_to_lines_if_it_dies():
    master, slave = pty.openpty()
    terminal = os.fdopen(slave, "w")
    try:
        with StatusDisplay(terminal, every_s=0.0) as display:
            painter = display._painter
            assert painter is not None
            display.show(status(time_s=1.0))
            display.show(status(time_s=2.0, genre="disco", crossfade=None))
            text = read_all(master, 3.0)
            assert "genre disco" in text and "callback p99 170 us" in text
            painter.kill()
            painter.wait()
            display.show(status(time_s=3.0))
            assert "  3.0s  -> jazz" in read_all(master, 1.0)
    finally:
        terminal.close()
        os.close(master)


def on_a_terminal(jack_server, *args: str, steps: tuple[tuple[float, bytes], ...]) -> str:
    """Live monitoring on JACK, on a real pseudo-terminal as a user runs it: for each step,
    read for its seconds, then type its keys; then Ctrl+C to the whole foreground group (the
    panel's process too). Returns all it printed, and checks it ended with exit status 0."""
    master, slave = pty.openpty()
    engine = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "--device", "system, JACK", *args],
                              stdin=slave, stdout=slave, stderr=slave, env=jack_server.env, cwd=REPO,
                              start_new_session=True)
    os.close(slave)
    try:
        text = ""
        for seconds, keys in steps:
            text += read_all(master, seconds)
            os.write(master, keys)
        os.killpg(engine.pid, signal.SIGINT)
        text += read_all(master, 15.0)
        assert engine.wait(timeout=10) == 0, text
    finally:
        if engine.poll() is None:
            os.killpg(engine.pid, signal.SIGKILL)
        os.close(master)
    return text


@pytest.mark.slow
def test_live_monitoring_on_a_terminal_shows_the_panel_and_ctrl_c_stops_it(jack_server):
    text = on_a_terminal(jack_server, "--genre", "jazz", "--mode", "preset", steps=((8.0, b""),))
    assert "band Hz" in text and "low shelf 100Hz" in text and "genre jazz" in text
    assert re.search(r"xruns \d+\s+EQ on .*\+/- amount\s+stopped", text), text  # the last panel, then the summary
    assert "Traceback" not in text and f"{JACK_RATE} Hz" in text


@pytest.mark.slow
def test_keys_on_a_terminal_bypass_switch_genre_and_set_amount_while_jack_runs(jack_server, tmp_path):
    """b, b, n, - and - typed on the terminal reach the engine through its record, and the
    panel shows what they set."""
    from inteleq_rt.engine.presets import load_presets

    presets = load_presets()
    genres = list(presets)
    following = genres[(genres.index("jazz") + 1) % len(genres)]
    report = tmp_path / "keys.json"
    text = on_a_terminal(jack_server, "--genre", "jazz", "--mode", "preset", "--report", str(report),
                         steps=((5.0, b"b"), (2.0, b"bn--"), (4.0, b"")))
    assert "BYPASSED  amount 100%  genre jazz" in text
    assert f"EQ on  amount 80%  genre {following}" in text
    timeline = json.loads(report.read_text())["timeline"]
    assert any(entry["bypass"] == 1.0 and entry["genre"] == "jazz" for entry in timeline)
    last = timeline[-1]
    assert last["bypass"] == 0.0 and last["genre"] == following
    nominal = [f.gain_db for f in presets[following].eq]
    assert [f["gain_db"] for f in last["eq"]] == pytest.approx([0.8 * g for g in nominal], abs=0.01)


def test_controls_are_off_without_a_terminal():
    from inteleq_rt.controls import Controls

    engine = Engine(EngineConfig(), genre="jazz")
    with Controls(engine, "jazz", stream=io.StringIO()) as controls:
        assert controls.describe() is None and controls._thread is None
    for key in "p+a-":  # keys still act when pressed through the library
        controls.press(key)
    assert controls.genre == "jazz" and controls.amount == 0.9


def test_the_header_says_who_chose_the_genre():
    """It said "(automatic)" after a genre was chosen with the keys."""
    from inteleq_rt.controls import Controls

    engine = Engine(EngineConfig(), genre="flat")
    with Controls(engine, None, stream=io.StringIO()) as controls:
        assert controls.mode("automatic") == "automatic"
        controls.press("n")
        assert controls.mode("automatic") == "keys"
        assert "(chosen with the keys)" in drawn(render(status(mode=controls.mode("automatic"))))
        controls.press("a")
        assert controls.mode("automatic") == "automatic"
    assert "(set by --reference)" in drawn(render(status(mode="reference song.wav")))
