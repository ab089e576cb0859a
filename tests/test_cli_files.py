"""`inteleq-rt process`, `demo` and bad input, run as a user runs them."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from inteleq_rt.demo import demo_clip
from inteleq_rt.resources import shipped_presets

from .conftest import run_cli, sine


def write_clip(path, rate: int, channels: int, seconds: float = 2.0, subtype: str = "PCM_16"):
    audio, _ = demo_clip(seconds=seconds, sample_rate=rate)
    audio = audio[:, :channels] if channels <= 2 else np.tile(audio, (1, 2))[:, :channels]
    sf.write(str(path), audio, rate, subtype=subtype)
    return audio


@pytest.mark.parametrize("rate, channels", [pytest.param(22050, 1, marks=pytest.mark.slow), pytest.param(44100, 1, marks=pytest.mark.slow),
                                           pytest.param(48000, 1, marks=pytest.mark.slow), pytest.param(22050, 2, marks=pytest.mark.slow), (44100, 2),
                                           pytest.param(48000, 2, marks=pytest.mark.slow)])
def test_process_round_trip_with_report(tmp_path, rate, channels):
    source, output, report = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "r.json"
    write_clip(source, rate, channels)
    result = run_cli("process", str(source), "-o", str(output), "--genre", "hiphop", "--mode", "preset",
                     "--report", str(report))
    assert result.returncode == 0, result.stderr
    info_in, info_out = sf.info(str(source)), sf.info(str(output))
    assert (info_out.frames, info_out.channels, info_out.samplerate, info_out.subtype) == (
        info_in.frames, info_in.channels, info_in.samplerate, info_in.subtype)
    document = json.loads(report.read_text())
    assert document["sample_rate"] == rate and document["channels"] == channels
    timeline = document["timeline"]
    assert len(timeline) >= 3 and {e["genre"] for e in timeline} == {"hiphop"}
    entry = timeline[-1]
    assert len(entry["input_band_levels_db"]) == 5 and len(entry["output_band_levels_db"]) == 5
    assert [f["gain_db"] for f in entry["eq"]][0] == 4.0
    # the EQ changed the balance: hiphop boosts the low band relative to the rest
    assert entry["output_band_levels_db"][0] > entry["input_band_levels_db"][0]


def test_flat_round_trip_is_a_null(tmp_path):
    source, output = tmp_path / "in.flac", tmp_path / "out.wav"
    original = write_clip(source, 44100, 2, subtype="PCM_24")
    assert run_cli("process", str(source), "-o", str(output), "--genre", "flat").returncode == 0
    processed, _ = sf.read(str(output), dtype="float64")
    reference, _ = sf.read(str(source), dtype="float64")
    assert sf.info(str(output)).subtype == "PCM_24"
    assert processed.shape == original.shape
    assert 20 * np.log10(np.max(np.abs(processed - reference)) + 1e-30) < -90.0


@pytest.mark.slow
def test_formats_follow_the_extension(tmp_path):
    source = tmp_path / "in.wav"
    write_clip(source, 48000, 2, subtype="FLOAT")
    for name, container in (("o.flac", "FLAC"), ("o.ogg", "OGG"), ("o.aiff", "AIFF"), ("o.wav", "WAV")):
        assert run_cli("process", str(source), "-o", str(tmp_path / name), "--genre", "jazz").returncode == 0
        assert sf.info(str(tmp_path / name)).format == container
    assert sf.info(str(tmp_path / "o.wav")).subtype == "FLOAT"


@pytest.mark.slow
def test_existing_output_is_never_overwritten_without_force(tmp_path):
    source, output = tmp_path / "in.wav", tmp_path / "mine.wav"
    write_clip(source, 44100, 2)
    output.write_bytes(b"the user's precious take")
    result = run_cli("process", str(source), "-o", str(output), "--genre", "disco")
    assert result.returncode == 1 and "exists; pass --force" in result.stderr
    assert output.read_bytes() == b"the user's precious take"
    assert run_cli("process", str(source), "-o", str(output), "--genre", "disco", "--force").returncode == 0
    assert sf.info(str(output)).frames == sf.info(str(source)).frames
    assert run_cli("process", str(source), "-o", str(source), "--force").returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "mine.wav"]  # no partial files


@pytest.mark.parametrize("report", ["out.wav", pytest.param("sub/../out.wav", marks=pytest.mark.slow), pytest.param("link.wav", marks=pytest.mark.slow),
                                    pytest.param("hard.wav", marks=pytest.mark.slow)])
def test_two_outputs_of_one_run_that_are_one_file_are_refused(tmp_path, report):
    source, output = tmp_path / "in.wav", tmp_path / "out.wav"
    write_clip(source, 44100, 2, seconds=0.5)
    (tmp_path / "sub").mkdir()
    output.write_bytes(b"a take")
    (tmp_path / "link.wav").symlink_to(output)
    (tmp_path / "hard.wav").hardlink_to(output)
    result = run_cli("process", str(source), "-o", str(output), "--genre", "jazz", "--report",
                     str(tmp_path / report), "--force")
    assert result.returncode == 1 and "--report names the same file as -o" in result.stderr, result.stderr
    assert output.read_bytes() == b"a take" and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("setup, args, message", [
    (None, ["process", "missing.wav", "-o", "o.wav"], "missing.wav: no such file"),
    (None, ["process", "{tmp}", "-o", "{tmp}/o.wav"], "for folders, -o names the output folder, not a file"),
    (None, ["process", "{tmp}", "-o", "{tmp}/out"], "no audio files in"),
    ("text", ["process", "{tmp}/notaudio.wav", "-o", "{tmp}/o.wav"], "not a readable audio file"),
    ("clip", ["process", "{tmp}/in.wav", "-o", "{tmp}/o.xyz"], "unknown output format .xyz"),
    ("clip", ["process", "{tmp}/in.wav", "-o", "{tmp}/nofolder/o.wav"], "does not exist"),
    ("clip", ["process", "{tmp}/in.wav", "-o", "{tmp}/o.wav", "--genre", "polka"], "unknown genre 'polka'"),
    ("clip", ["process", "{tmp}/in.wav", "-o", "{tmp}/o.wav", "--amount", "150"], "--amount 150"),
    ("clip", ["process", "{tmp}/in.wav"], "-o/--output is required"),
    (None, ["--device", "no-such-device-anywhere", "--duration", "1"], "no-such-device-anywhere"),
    (None, ["presets", "show", "polka"], "unknown preset 'polka'"),
    ("clip", ["process", "{tmp}/in.wav", "-o", "{tmp}/o.wav", "--genre", ""], "--genre '': name a genre"),
    ("latin1", ["process", "{tmp}/in.wav", "-o", "{tmp}/o.wav", "--presets", "{tmp}/presets"],
     "presets/jazz.toml: not UTF-8 text"),
    ("noflat", ["process", "{tmp}/in.wav", "-o", "{tmp}/o.wav", "--presets", "{tmp}/presets"],
     "no flat.toml: every presets folder needs the flat preset"),
])
def test_bad_input_gets_one_line_and_nonzero_exit(tmp_path, setup, args, message):
    if setup == "text":
        (tmp_path / "notaudio.wav").write_text("hello, not audio")
    elif setup in ("clip", "latin1", "noflat"):
        write_clip(tmp_path / "in.wav", 44100, 2, seconds=0.5)
    if setup in ("latin1", "noflat"):
        shutil.copytree(shipped_presets(), tmp_path / "presets", ignore=shutil.ignore_patterns("*.py", "__*"))
        if setup == "latin1":
            (tmp_path / "presets" / "jazz.toml").write_bytes('name = "jazz caf\xe9"\n'.encode("latin-1"))
        else:
            (tmp_path / "presets" / "flat.toml").unlink()
    result = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_runs_without_a_device(tmp_path):
    result = run_cli("demo", "--out-dir", str(tmp_path / "demo"), "--mode", "match")
    assert result.returncode == 0, result.stderr
    assert sf.info(str(tmp_path / "demo" / "demo-output.wav")).frames == sf.info(
        str(tmp_path / "demo" / "demo-input.wav")).frames
    assert run_cli("demo", "--out-dir", str(tmp_path / "demo")).returncode == 1  # no silent overwrite


@pytest.mark.parametrize("fault", [pytest.param("nan", marks=pytest.mark.slow), pytest.param("silent", marks=pytest.mark.slow),
                                   pytest.param("one-sample", marks=pytest.mark.slow), "all-nan", pytest.param("tone", marks=pytest.mark.slow)])
def test_a_reference_is_heard_as_an_input_is_and_refused_when_it_holds_no_music(tmp_path, fault):
    source, reference, output = tmp_path / "in.wav", tmp_path / "ref.wav", tmp_path / "out.wav"
    audio = write_clip(source, 44100, 2, seconds=6.0)
    bad = {"nan": np.where(np.arange(len(audio))[:, None] % 5000 < 10, np.nan, audio[::-1]),
           "silent": np.zeros_like(audio), "one-sample": audio[:1], "all-nan": np.full_like(audio, np.nan),
           "tone": sine(440, 6.0, 44100)}[fault]
    sf.write(str(reference), bad.astype(np.float32), 44100, subtype="FLOAT")
    result = run_cli("process", str(source), "-o", str(output), "--reference", str(reference))
    if fault == "nan":  # a few bad samples: heard as silence, the rest steers
        assert result.returncode == 0, result.stderr
        made, _ = sf.read(str(output))
        assert np.all(np.isfinite(made)) and np.max(np.abs(made)) > 0.1
        assert "nan" not in result.stdout.lower()
    else:
        assert result.returncode == 1 and not output.exists()
        lines = result.stderr.strip().splitlines()
        expected = "not music to steer by" if fault == "tone" else "a reference needs 3 s of music"
        assert len(lines) == 1 and f"ref.wav: {expected}" in lines[0], result.stderr


@pytest.mark.slow
def test_one_file_keeps_its_tags_and_artwork_as_a_folder_run_does(tmp_path):
    from mutagen.flac import FLAC, Picture

    source, output = tmp_path / "song.flac", tmp_path / "out.flac"
    write_clip(source, 44100, 2, seconds=4.0)
    tagged = FLAC(str(source))
    tagged.update({"TITLE": "Blue in Green", "REPLAYGAIN_ALBUM_GAIN": "-3.00 dB"})
    cover = Picture()
    cover.type, cover.mime, cover.data = 3, "image/png", b"\x89PNG fake cover"
    tagged.add_picture(cover)
    tagged.save()
    result = run_cli("process", str(source), "-o", str(output), "--genre", "jazz")
    assert result.returncode == 0, result.stderr
    assert "tags: 1 tags, 1 pictures, ReplayGain" in result.stdout
    song = FLAC(str(output))
    assert song["TITLE"] == ["Blue in Green"] and song.pictures[0].data == b"\x89PNG fake cover"
    assert "REPLAYGAIN_TRACK_GAIN" in song and "REPLAYGAIN_ALBUM_GAIN" not in song


@pytest.mark.slow
def test_a_name_as_long_as_the_filesystem_takes_is_written(tmp_path):
    source = tmp_path / "in.wav"
    write_clip(source, 44100, 2, seconds=1.0)
    output = tmp_path / ("é" * 60 + "x" * 130 + ".flac")  # 255 bytes: the longest legal name
    assert len(output.name.encode()) == 255
    result = run_cli("process", str(source), "-o", str(output), "--genre", "jazz")
    assert result.returncode == 0, result.stderr
    assert sf.info(str(output)).frames == 44100
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.wav", output.name])


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["musicnn-genres", "gtzan"])
def test_silence_and_sound_under_the_gate_are_unsure(tmp_path, weights):
    """Digital silence was 'rock_pop, music 94%' (default model) and 'classical 100%' (gtzan)."""
    silent, quiet = tmp_path / "silent.wav", tmp_path / "quiet.wav"
    sf.write(str(silent), np.zeros((44100 * 8, 2), np.float32), 44100)
    audio = write_clip(quiet, 44100, 2, seconds=8.0)
    sf.write(str(quiet), audio * 10 ** (-67 / 20) / np.max(np.abs(audio)), 44100, subtype="FLOAT")
    result = run_cli("classify", str(silent), str(quiet), "--weights", weights, "--json")
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout)
    assert {v["genre"] for v in verdicts.values()} == {"unsure"}, verdicts
    made = run_cli("process", str(silent), "-o", str(tmp_path / "out.wav"), "--weights", weights)
    assert made.returncode == 0, made.stderr
    assert "eq: flat: silent (nothing above -60 dBFS)" in made.stdout


@pytest.mark.slow
def test_an_8_khz_file_is_classified_and_equalized_in_automatic_mode(tmp_path):
    source, output = tmp_path / "phone.wav", tmp_path / "out.wav"
    write_clip(source, 8000, 1, seconds=7.0)
    result = run_cli("process", str(source), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "the whole track heard as" in result.stdout or "not music enough" in result.stdout
    assert sf.info(str(output)).samplerate == 8000
    assert run_cli("classify", str(source)).returncode == 0


def test_presets_validate_names_a_file_that_is_not_utf8_and_goes_on(tmp_path):
    folder = tmp_path / "presets"
    shutil.copytree(shipped_presets(), folder, ignore=shutil.ignore_patterns("*.py", "__*"))
    (folder / "jazz.toml").write_bytes('name = "jazz caf\xe9"\n'.encode("latin-1"))
    result = run_cli("presets", "validate", "--presets", str(folder))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"invalid {folder}/jazz.toml: not UTF-8 text" in result.stdout
    assert f"ok      {folder}/rock_pop.toml" in result.stdout  # the files after it are validated too


@pytest.mark.slow
def test_the_summary_says_what_it_measured(tmp_path):
    """Numbers that misled: NaN input read 'silent', dithered silence read -inf, a 0.1 s clip
    'silent', a missed --target-lufs went unsaid, -b 0 was silently ignored offline."""
    audio = write_clip(tmp_path / "in.wav", 44100, 2, seconds=4.0)
    poisoned = audio.copy()
    poisoned[100:200] = np.nan
    sf.write(str(tmp_path / "nan.wav"), poisoned, 44100, subtype="FLOAT")
    sf.write(str(tmp_path / "silent.wav"), np.zeros((44100 * 4, 2), np.float32), 44100)
    sf.write(str(tmp_path / "short.wav"), audio[:4410], 44100)

    def process(name: str, *extra: str):
        return run_cli("process", str(tmp_path / name), "-o", str(tmp_path / f"out-{name}"), "--genre", "jazz",
                       "--force", *extra)

    nan = process("nan.wav")
    assert "loudness in: -" in nan.stdout and "LUFS" in nan.stdout.split("loudness in:")[1].splitlines()[0]
    silent = process("silent.wav")
    assert "loudness out: silent (below -70 LUFS)" in silent.stdout
    written, _ = sf.read(str(tmp_path / "out-silent.wav"), dtype="int16")
    assert not written.any()  # no dither on digital silence
    short = process("short.wav", "--target-lufs", "-14")
    assert "not measured (BS.1770 needs 0.4 s; the file is 0.10 s)" in short.stdout
    assert "--target-lufs -14 was not applied" in short.stderr
    loud = process("in.wav", "--target-lufs", "-5")
    assert "--target-lufs -5: delivered" in loud.stderr
    for size in ("0", "-5"):
        refused = process("in.wav", "-b", size)
        assert refused.returncode == 1 and f"--block-size {size}: must be between" in refused.stderr
    assert "electronic" in run_cli("process", "--help").stdout


@pytest.mark.slow
def test_output_formats_and_devices_that_cannot_be_are_said_in_our_words(tmp_path):
    source = tmp_path / "in.wav"
    write_clip(source, 44100, 2, seconds=0.5)
    six = tmp_path / "six.wav"
    sf.write(str(six), np.full((4800, 6), 0.01, np.float32), 48000)
    (tmp_path / "folder").mkdir()
    for args, message in (
            (["process", str(source), "-o", str(tmp_path / "folder"), "--force"], "folder: is a folder; name the file"),
            (["process", str(source), "-o", str(tmp_path / "o.opus")], "Opus takes 8, 12, 16, 24 or 48 kHz"),
            (["process", str(six), "-o", str(tmp_path / "o.mp3")], "MP3 takes 1 or 2 channels")):
        result = run_cli(*args, "--genre", "jazz")
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1 and message in lines[0], result.stderr
        assert "Error opening" not in result.stderr
    # with no audio server to find (and, in CI, no sound card) the listing says so, and fails
    import os
    import subprocess
    import sys

    env = {**os.environ, "JACK_DEFAULT_SERVER": f"inteleq-nowhere-{os.getpid()}", "JACK_NO_START_SERVER": "1"}
    count = subprocess.run([sys.executable, "-c", "import sounddevice; print(len(sounddevice.query_devices()))"],
                           capture_output=True, text=True, env=env).stdout.strip()
    listing = run_cli("--list-devices", env=env)
    if count == "0":
        assert listing.returncode == 1 and "no audio devices" in listing.stderr
    else:  # a machine with a sound card lists it
        assert listing.returncode == 0 and listing.stdout.strip()


def test_a_folder_of_references_is_averaged_and_each_checked(tmp_path):
    from inteleq_rt.engine.config import band_set
    from inteleq_rt.reference import reference_preset

    folder = tmp_path / "refs"
    folder.mkdir()
    bright = write_clip(folder / "a.wav", 44100, 2, seconds=5.0)
    sf.write(str(folder / "b.wav"), np.ascontiguousarray(np.cumsum(bright, axis=0) * 0.02 % 1.0 - 0.5).astype(
        np.float32), 44100)
    bands = band_set("paper")
    one = [np.array(reference_preset(folder / name, bands).target.levels_db) for name in ("a.wav", "b.wav")]
    both = reference_preset(folder, bands)
    np.testing.assert_allclose(both.target.levels_db, np.mean(one, axis=0), atol=1e-9)
    assert "2 tracks averaged" in both.description
    sf.write(str(folder / "c.wav"), sine(440, 5.0, 44100), 44100)
    with pytest.raises(Exception, match="c.wav: not music to steer by"):
        reference_preset(folder, bands)
