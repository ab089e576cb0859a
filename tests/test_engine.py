"""The engine's contract: block limits, the doors other threads use, snapshots."""

import threading

import numpy as np
import pytest

from inteleq_rt.engine.commands import CommandRecord
from inteleq_rt.engine.config import CLASSIFIER_RING_S, EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.engine.ring import InputRing


def test_block_size_limits_are_enforced():
    engine = Engine(EngineConfig(max_block_size=1024))
    for frames in (8, 2048):
        block = np.zeros((frames, 2), np.float32)
        with pytest.raises(ValueError, match="frames per block"):
            engine.process(block, np.empty_like(block))


def test_unknown_genre_and_amount_are_rejected():
    engine = Engine()
    with pytest.raises(ValueError, match="unknown genre 'polka'"):
        engine.request_genre("polka")
    with pytest.raises(ValueError, match="outside 0..1"):
        engine.set_amount(1.5)
    with pytest.raises(ValueError, match="unknown genre"):
        Engine(genre="polka")


def test_snapshots_stay_consistent_while_the_audio_thread_runs():
    """A reader hammering snapshot() never sees a half-written state."""
    engine = Engine(EngineConfig(), genre="jazz")
    levels = (np.arange(1, 201, dtype=np.float32) / 400.0)
    stop = threading.Event()
    failures = []

    def audio_thread():
        out = np.empty((256, 2), np.float32)
        i = 0
        while not stop.is_set():
            # each block is constant: input overall mean square converges to level^2
            engine.process(np.full((256, 2), levels[i % 200], np.float32), out)
            i += 1

    worker = threading.Thread(target=audio_thread)
    worker.start()
    try:
        for _ in range(2000):
            snap = engine.snapshot()
            left, right = snap.input_overall_ms
            if left != right:  # both channels are written together: a torn read would differ
                failures.append((left, right))
    finally:
        stop.set()
        worker.join()
    assert engine.blocks > 0 and not failures


def test_input_ring_hands_over_every_frame_or_counts_it_lost():
    ring = InputRing(1000, 1, max_block=100)
    stream = np.arange(5000, dtype=np.float32)[:, None]
    out = np.empty((600, 1), np.float32)
    ring.write(stream[:70])
    ring.write(stream[70:370])
    frames, position, lost = ring.read(0, out)
    assert (frames, position, lost) == (370, 370, 0)
    np.testing.assert_array_equal(out[:frames], stream[:370])
    for start in range(370, 2370, 100):  # the reader sleeps while 2000 frames arrive
        ring.write(stream[start : start + 100])
    frames, position, lost = ring.read(position, out)
    # it resumes at the oldest frame the writer cannot be overwriting (one block of margin)
    assert lost == 2370 - 900 - 370 and position == 1470 + frames
    np.testing.assert_array_equal(out[:frames], stream[1470 : 1470 + frames])


def test_a_users_genre_outranks_the_classifiers():
    engine = Engine(EngineConfig(crossfade_s=0.05), genre="flat")
    out = np.empty((256, 2), np.float32)

    def blocks(count: int = 20) -> str:
        for _ in range(count):
            engine.process(np.zeros((256, 2), np.float32), out)
        return engine.snapshot().genre

    engine.classifier_port.post_decision("jazz")
    assert blocks() == "jazz"
    engine.request_genre("hiphop")
    assert blocks() == "hiphop"
    engine.classifier_port.post_decision("disco")  # the classifier changes its mind; the user's choice holds
    assert blocks() == "hiphop"
    engine.request_genre(None)  # back to automatic: the classifier's latest decision
    assert blocks() == "disco"


def test_the_classifiers_parts_move_before_the_first_block_only_and_only_as_shaped():
    engine = Engine(EngineConfig(input_ring_s=1.0), genre="jazz")
    frames, channels = engine.classifier_port.ring.buffer.shape
    ring = InputRing(frames, channels, engine.config.max_block_size)
    commands = CommandRecord(len(engine.genres))
    with pytest.raises(ValueError, match="shaped as the engine's"):
        engine.link_classifier(InputRing(frames // 2, channels, engine.config.max_block_size), commands)
    engine.link_classifier(ring, commands)
    assert engine.classifier_port.ring is ring
    commands.post_decision(engine.genres, "disco", None)
    block, out = np.full((256, 2), 0.1, np.float32), np.empty((256, 2), np.float32)
    for _ in range(3):
        engine.process(block, out)
    assert ring.written == 3 * 256 and engine.snapshot().genre == "disco"
    with pytest.raises(RuntimeError, match="before the first block"):
        engine.link_classifier(ring, commands)


def test_a_track_holds_its_gain_and_only_match_mode_a_balance():
    engine = Engine(genre="jazz")
    with pytest.raises(ValueError, match="only match mode"):
        engine.hold_track(balance_db=np.zeros(len(engine.config.bands)))
    with pytest.raises(ValueError, match="level matching is off"):
        Engine(EngineConfig(level_match=False)).hold_track(gain_db=1.0)
    block, out = np.full((256, 2), 0.1, np.float32), np.empty((256, 2), np.float32)
    engine.process(block, out)
    assert engine.figures().level_match_db is not None  # matching as it goes: its gain is reported
    engine.hold_track(gain_db=-2.0)
    engine.process(block, out)
    figures = engine.figures()
    assert figures.level_match_db is None and engine.snapshot().level_gain_db == pytest.approx(-2.0)
    assert figures.blocks == 2 and figures.limited_blocks == 0 and figures.look_ahead_frames > 0


def test_a_command_record_mid_write_is_left_for_the_next_block():
    record = CommandRecord(3)
    record.post(genre=2, amount=0.5)
    fields = record.read()
    assert CommandRecord.genre(fields) == 2 and CommandRecord.amount(fields) == 0.5
    assert record.read() is None  # nothing new
    record.fields["sequence"] += 1.0  # a writer (thread or process) stopped half-way
    record.fields["genre"] = 1.0
    assert record.read() is None
    record.fields["sequence"] += 1.0  # ... and finished
    assert CommandRecord.genre(record.read()) == 1


@pytest.mark.slow
def test_snapshots_pair_each_genre_with_its_own_gains_while_genres_switch():
    engine = Engine(EngineConfig(crossfade_s=0.01), genre="jazz")
    chains = {name: len(preset.eq) for name, preset in engine.presets.items()}
    assert chains["jazz"] != chains["hiphop"]
    stop = threading.Event()

    def audio_thread():
        out = np.empty((256, 2), np.float32)
        i = 0
        while not stop.is_set():
            if i % 5 == 0:
                engine.request_genre("hiphop" if i % 10 else "jazz")
            engine.process(np.zeros((256, 2), np.float32), out)
            i += 1

    worker = threading.Thread(target=audio_thread)
    worker.start()
    try:
        seen = set()
        while engine.blocks < 400:  # 40 switches
            snap = engine.snapshot()
            assert len(snap.eq_gains) == chains[snap.genre]
            seen.add(snap.genre)
    finally:
        stop.set()
        worker.join()
    assert seen == {"jazz", "hiphop"}


def test_the_compiled_front_end_conditions_keeps_and_analyses_as_the_parts_would():
    """Conditioning, the ring copy and the input analysis in one call: the ring holds exactly
    the conditioned input (wrapping around), and the analysis equals a filterbank's on it."""
    from inteleq_rt.engine.filterbank import FilterBank

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((96000, 2)) * 0.3).astype(np.float32)
    audio[100, 0], audio[5000, 1] = np.nan, 1e9
    engine = Engine(EngineConfig(input_ring_s=0.9), genre="jazz")
    out = np.empty((256, 2), np.float32)
    for start in range(0, len(audio) - 255, 256):
        engine.process(audio[start : start + 256], out)
    clean = np.clip(np.nan_to_num(audio, nan=0.0), -32768.0, 32768.0)
    ring = engine.classifier_port.ring
    written, size = ring.written, ring.buffer.shape[0]
    assert written == len(audio) and engine.repaired_samples == 2
    np.testing.assert_array_equal(np.roll(ring.buffer, -(written % size), axis=0), clean[written - size :])
    bank = FilterBank(engine.config.bands, 48000, 2, engine.config.rms_window_s)
    bank.process(clean)
    np.testing.assert_array_equal(engine.input_analysis.band_ms, bank.band_ms)


def test_the_compiled_back_end_matches_bypasses_limits_and_keeps_as_the_parts_would():
    """Level matching, the bypass, the limiter and the output meter's copy in one call give the
    very samples, states and counts the parts give one call each, across a bypass and back,
    with limiting and a ring that wraps."""
    from inteleq_rt.engine.back import back_end
    from inteleq_rt.engine.eq import Bypass
    from inteleq_rt.engine.limiter import Limiter
    from inteleq_rt.engine.loudness import LevelMatch
    from inteleq_rt.engine.ring import InputRing

    rng = np.random.default_rng(3)
    dry = (rng.standard_normal((256 * 187, 2)) * 0.3).astype(np.float32)
    wet = dry * np.float32(2.5)  # an EQ that adds level: matching has work, the limiter too
    fused, parts = [(LevelMatch(48000, 2, 12.0), Bypass(48000, 0.05), Limiter(-1.0, 48000, 2),
                     InputRing(1000, 2, 256)) for _ in range(2)]
    fused_out, parts_out = np.empty_like(wet), np.empty_like(wet)
    for start in range(0, len(dry), 256):
        block = slice(start, start + 256)
        for _, bypass, _, _ in (fused, parts):
            bypass.bypassed = 16000 < start < 32000
        fused_out[block] = wet[block]
        level, bypass, limiter, ring = fused
        back_end(dry[block], fused_out[block], *level.kernel_arrays, bypass.state, *limiter.kernel_arrays,
                 ring.buffer, ring.written % 1000)
        ring.advance(256)
        parts_out[block] = wet[block]
        level, bypass, limiter, ring = parts
        level.process(dry[block], parts_out[block])
        bypass.process(dry[block], parts_out[block])
        limiter.process(parts_out[block])
        ring.write(parts_out[block])
    np.testing.assert_array_equal(fused_out, parts_out)
    assert fused[2].limited_blocks == parts[2].limited_blocks > 0 and fused[2].blocks == parts[2].blocks
    assert fused[0].gain_db == parts[0].gain_db < -3.0
    np.testing.assert_array_equal(fused[3].buffer, parts[3].buffer)
    assert fused[1].position == parts[1].position == 0.0  # bypassed and back


def test_live_output_meters_read_beside_the_audio_path_what_the_block_would_have_measured():
    in_block, beside = Engine(genre="hiphop"), Engine(EngineConfig(output_meter_s=2.0), genre="hiphop")
    assert in_block.start_profile(1).names[-3:] == ["back end", "output analysis", "publish"]
    assert beside.start_profile(1).names[-2:] == ["back end", "publish"]  # only a copy in the block
    audio = (np.random.default_rng(1).standard_normal((48000 * 3, 2)) * 0.1).astype(np.float32)
    out = np.empty((256, 2), np.float32)
    for start in range(0, len(audio) - 255, 256):
        for engine in (in_block, beside):
            engine.process(audio[start : start + 256], out)
        if start % (256 * 90) == 0:  # the display's reads, twice a second
            beside.snapshot()
    expected, metered = in_block.snapshot(), beside.snapshot()
    np.testing.assert_array_equal(metered.output_band_ms, expected.output_band_ms)
    np.testing.assert_array_equal(metered.output_overall_ms, expected.output_overall_ms)
    assert metered.input_band_ms.tolist() == expected.input_band_ms.tolist()


@pytest.mark.parametrize("mode", ["range", "preset"])
def test_live_input_meters_read_the_classifiers_ring_beside_the_audio_path(mode):
    """Where nothing in the block needs the input's band levels, the block only conditions
    and copies into the ring; a reader's levels are still what the block would have measured."""
    ring_s = CLASSIFIER_RING_S
    in_block = Engine(EngineConfig(mode=mode, input_ring_s=ring_s), genre="hiphop")
    beside = Engine(EngineConfig(mode=mode, input_ring_s=ring_s, output_meter_s=2.0), genre="hiphop")
    assert beside.start_profile(1).names[0] == "front end (analysis beside)"
    assert in_block.start_profile(1).names[0] == "front end"
    audio = (np.random.default_rng(2).standard_normal((48000 * 3, 2)) * 0.1).astype(np.float32)
    out = np.empty((256, 2), np.float32)
    for start in range(0, len(audio) - 255, 256):
        for engine in (in_block, beside):
            engine.process(audio[start : start + 256], out)
        if start % (256 * 90) == 0:
            beside.snapshot()
    expected, metered = in_block.snapshot(), beside.snapshot()
    np.testing.assert_array_equal(metered.input_band_ms, expected.input_band_ms)
    np.testing.assert_array_equal(metered.input_overall_ms, expected.input_overall_ms)


def test_match_mode_keeps_the_input_analysis_in_the_block_it_steers_by():
    engine = Engine(EngineConfig(mode="match", input_ring_s=CLASSIFIER_RING_S, output_meter_s=2.0), genre="hiphop")
    assert engine.start_profile(1).names[0] == "front end"
