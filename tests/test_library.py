"""Folders: the walk, parallel workers, a bad file in the middle, resume, Ctrl+C, tags, and a
real Dask cluster (a scheduler and two workers, each its own process)."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import mutagen
import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, TIT2
from mutagen.wave import WAVE

from inteleq_rt.errors import InteleqError
from inteleq_rt.library.walk import find_audio, output_paths
from inteleq_rt.resources import shipped_presets

from .conftest import REPO, run_cli
from .synthetic import make_corpus
from .test_cli_files import write_clip


def library(root, names=("a/one.wav", "a/deep/two.wav", "three.flac"), seconds=2.0):
    for number, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_clip(root / name, 44100, 2, seconds=seconds + number * 0.1)
    return root


def outputs_of(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_walk_keeps_the_layout_and_leaves_out_hidden_files_and_the_output_folder(tmp_path):
    root = library(tmp_path / "music")
    (root / "notes.txt").write_text("not audio")
    (root / ".hidden.wav").write_bytes(b"")
    (root / ".cache").mkdir()
    (root / ".cache" / "x.wav").write_bytes(b"")
    (root / "eq").mkdir()
    (root / "eq" / "old.wav").write_bytes(b"")  # a previous run's output inside the input
    found = find_audio([root], leave_out=root / "eq")
    assert [str(f.relative) for f in found] == ["three.flac", "a/one.wav", "a/deep/two.wav"]
    outputs = output_paths(found, root / "eq", ".flac")
    assert outputs[2] == root / "eq" / "a" / "deep" / "two.flac"
    (root / "three.wav").write_bytes(b"")
    with pytest.raises(InteleqError, match="would both be written to"):
        output_paths(find_audio([root], leave_out=root / "eq"), root / "eq", ".flac")
    with pytest.raises(InteleqError, match="would overwrite its input"):
        output_paths(found, root, None)


@pytest.mark.slow
def test_a_bad_file_in_the_middle_then_resume_change_and_force(tmp_path):
    root = library(tmp_path / "music")
    (root / "a" / "broken.wav").write_text("not audio at all")
    out, report, presets = tmp_path / "eq", tmp_path / "report.csv", tmp_path / "presets"
    shutil.copytree(shipped_presets(), presets)
    args = ["process", str(root), "-o", str(out), "--genre", "jazz", "--jobs", "2", "--presets", str(presets),
            "--csv", str(report)]
    first = run_cli(*args)
    assert first.returncode == 1, first.stderr
    assert "3 done, 0 unchanged since an earlier run (skipped), 1 failed" in first.stdout
    assert "broken.wav: not a readable audio file" in first.stdout and "jazz" in first.stdout
    assert outputs_of(out) == [".three.flac.inteleq-rt.json", "a/.one.wav.inteleq-rt.json",
                               "a/deep/.two.wav.inteleq-rt.json", "a/deep/two.wav", "a/one.wav", "three.flac"]
    for name in ("a/one.wav", "a/deep/two.wav", "three.flac"):
        assert sf.info(str(out / name)).frames == sf.info(str(root / name)).frames
        assert sf.info(str(out / name)).subtype == "PCM_16"
    rows = list(csv.DictReader(report.open()))
    assert sorted(r["status"] for r in rows) == ["done", "done", "done", "failed"]
    assert {r["genre"] for r in rows if r["status"] == "done"} == {"jazz"}
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*")}

    again = run_cli(*args)
    assert again.returncode == 1 and "0 done, 3 unchanged since an earlier run (skipped), 1 failed" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == written  # nothing redone
    assert len(list(csv.DictReader(report.open()))) == 5  # the failure's new row; the rest held already

    (root / "a" / "broken.wav").unlink()
    write_clip(root / "three.flac", 44100, 2, seconds=1.0)  # a new take under the same name
    changed = run_cli(*args)
    assert changed.returncode == 0 and "1 done, 2 unchanged" in changed.stdout, changed.stdout
    assert sf.info(str(out / "three.flac")).frames == 44100
    rows = len(list(csv.DictReader(report.open())))
    other = run_cli(*args, "--amount", "50")  # other options: other outputs, and their rows
    assert other.returncode == 0 and "3 done, 0 unchanged" in other.stdout
    assert len(list(csv.DictReader(report.open()))) == rows + 3

    (out / "a" / "one.wav").write_bytes(b"the user's own edit")  # not ours any more
    refused = run_cli(*args)
    assert refused.returncode == 1 and "one.wav: exists and was not written by inteleq-rt" in refused.stdout
    assert (out / "a" / "one.wav").read_bytes() == b"the user's own edit"
    forced = run_cli(*args, "--force")
    assert forced.returncode == 0 and "3 done" in forced.stdout
    with open(presets / "jazz.toml", "a") as preset:
        preset.write("# the user tuned the preset\n")
    edited = run_cli(*args)
    assert edited.returncode == 0 and "3 done, 0 unchanged" in edited.stdout
    assert not [p for p in out.rglob("*partial*")]


@pytest.mark.slow
def test_ctrl_c_leaves_no_partial_file_and_the_rerun_redoes_nothing(tmp_path):
    root = library(tmp_path / "music", names=[f"f{i:02d}.wav" for i in range(12)], seconds=20.0)
    out, report = tmp_path / "eq", tmp_path / "rows.jsonl"
    args = ["process", str(root), "-o", str(out), "--genre", "disco", "--target-lufs", "-14", "--jobs", "2",
            "--jsonl", str(report)]
    run = subprocess.Popen([sys.executable, "-m", "inteleq_rt", *args], cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (report.exists() and report.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    run.send_signal(signal.SIGINT)  # as Ctrl+C would, or `kill -INT`
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    assert "interrupted: the rest are left for the next run" in stdout
    assert "none is left half-written" in stderr and "Traceback" not in stderr
    assert not [p for p in out.rglob("*partial*")]
    finished = sorted(p for p in out.glob("*.wav"))
    assert 2 <= len(finished) < 12
    for path in finished:  # whole, each with its record
        assert sf.info(str(path)).frames == sf.info(str(root / path.name)).frames
        assert (out / f".{path.name}.inteleq-rt.json").is_file()
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert sorted(r["output"] for r in rows) == [str(p) for p in finished]
    kept = {p: p.stat().st_mtime_ns for p in finished}
    (out / ".f11.wav.x1y2.partial.wav").write_bytes(b"what a killed worker left")  # SIGKILL: no clean-up

    rerun = run_cli(*args, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{12 - len(finished)} done, {len(finished)} unchanged" in rerun.stdout
    assert {p: p.stat().st_mtime_ns for p in finished} == kept
    assert len(list(out.glob("*.wav"))) == 12 and not [p for p in out.rglob("*partial*")]


@pytest.mark.slow
def test_outputs_keep_tags_and_artwork_with_replaygain_anew(tmp_path):
    root = tmp_path / "music"
    root.mkdir()
    write_clip(root / "song.flac", 44100, 2, seconds=4.0)
    tagged = FLAC(str(root / "song.flac"))
    tagged.update({"TITLE": "Blue in Green", "ARTIST": "Someone", "REPLAYGAIN_ALBUM_GAIN": "-3.00 dB",
                   "REPLAYGAIN_TRACK_GAIN": "-9.99 dB"})
    cover = Picture()
    cover.type, cover.mime, cover.data = 3, "image/png", b"\x89PNG fake cover"
    tagged.add_picture(cover)
    tagged.save()
    write_clip(root / "take.wav", 44100, 2, seconds=4.0)
    wave = WAVE(str(root / "take.wav"))
    wave.add_tags()
    wave.tags.add(TIT2(encoding=3, text=["Take Five"]))
    wave.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=b"\xff\xd8 fake jpeg"))
    wave.save()
    out, report = tmp_path / "eq", tmp_path / "rows.jsonl"
    result = run_cli("process", str(root), "-o", str(out), "--genre", "rock_pop", "--format", "flac",
                     "--jsonl", str(report))
    assert result.returncode == 0, result.stderr
    rows = {json.loads(line)["input"]: json.loads(line) for line in report.read_text().splitlines()}

    song = FLAC(str(out / "song.flac"))
    assert song["TITLE"] == ["Blue in Green"] and song["ARTIST"] == ["Someone"]
    assert song.pictures[0].data == b"\x89PNG fake cover" and song.pictures[0].type == 3
    assert "REPLAYGAIN_ALBUM_GAIN" not in song  # no longer true of an equalized track
    loudness = rows[str(root / "song.flac")]["loudness_out_lufs"]
    assert float(song["REPLAYGAIN_TRACK_GAIN"][0].split()[0]) == pytest.approx(-18.0 - loudness, abs=0.011)
    audio, _ = sf.read(str(out / "song.flac"))
    assert float(song["REPLAYGAIN_TRACK_PEAK"][0]) == pytest.approx(np.max(np.abs(audio)), abs=1e-3)

    take = mutagen.File(str(out / "take.flac"))  # ID3 in WAV -> Vorbis comments in FLAC
    assert take["TITLE"] == ["Take Five"] and take.pictures[0].data == b"\xff\xd8 fake jpeg"
    assert "REPLAYGAIN_TRACK_GAIN" in take


@pytest.mark.slow
def test_classify_folders_appends_rows_and_skips_what_the_report_holds(tmp_path):
    root = library(tmp_path / "music", seconds=4.0)
    report, notes = tmp_path / "genres.jsonl", tmp_path / "notes.jsonl"
    notes.write_text("my own notes, not a report\n")
    refused = run_cli("classify", str(root), "--jsonl", str(notes))
    assert refused.returncode == 1 and "other than a report" in refused.stderr
    assert notes.read_text() == "my own notes, not a report\n"
    first = run_cli("classify", str(root), "--jsonl", str(report), "--jobs", "2")
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(rows) == 3 and all(r["status"] == "done" and r["genre"] and r["probabilities"] for r in rows)
    assert "3 done" in first.stdout and "genre" in first.stdout
    report.write_text(report.read_text() + '{"input": "cut short by a kil')  # a killed run's last line
    again = run_cli("classify", str(root), "--jsonl", str(report), "--jobs", "1")
    assert again.returncode == 0 and "0 done, 3 unchanged" in again.stdout
    for row in rows:  # the same verdicts, read back from the report
        assert f"{row['input']}: {row['genre']}" in again.stdout
    lines = report.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith('{"input": "cut short')
    write_clip(root / "four.wav", 44100, 2, seconds=4.0)
    more = run_cli("classify", str(root), "--jsonl", str(report))
    assert "1 done, 3 unchanged" in more.stdout
    assert json.loads(report.read_text().splitlines()[-1])["input"].endswith("four.wav")  # after the cut line


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two workers, each a process of its own, as on separate machines."""
    pytest.importorskip("distributed")
    scheduler_file = tmp_path / "scheduler.json"
    logs = open(tmp_path / "dask.log", "w")
    common = dict(cwd=tmp_path, stdout=logs, stderr=subprocess.STDOUT)
    processes = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(scheduler_file)], **common)]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    for number in range(2):
        processes.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file",
                                           str(scheduler_file), "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                           "--name", f"worker-{number}"], **common))
    from distributed import Client

    with Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
        client.wait_for_workers(2, timeout=60)
        address = client.scheduler.address
    yield address, {p.pid for p in processes[1:]}
    for process in processes[::-1]:
        process.terminate()
        process.wait(timeout=30)
    logs.close()


@pytest.mark.slow
def test_the_same_work_on_a_dask_cluster(tmp_path, dask_cluster):
    address, worker_pids = dask_cluster
    root = library(tmp_path / "music", seconds=4.0)
    (root / "a" / "broken.wav").write_text("not audio at all")
    out, report = tmp_path / "eq", tmp_path / "report.csv"
    args = ["process", str(root), "-o", str(out), "--genre", "hiphop", "--dask", address, "--csv", str(report)]
    result = run_cli(*args, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "3 done, 0 unchanged since an earlier run (skipped), 1 failed" in result.stdout
    assert f"on the Dask cluster at {address}" in result.stdout
    rows = [r for r in csv.DictReader(report.open()) if r["status"] == "done"]
    assert {int(r["worker"].rsplit(":", 1)[1]) for r in rows} <= worker_pids  # done by the cluster's workers
    assert len(outputs_of(out)) == 6 and sf.info(str(out / "a" / "deep" / "two.wav")).frames > 0
    here = run_cli(*args[:-4], "--jobs", "2", "--csv", str(report))  # the same work, on this machine
    assert "0 done, 3 unchanged" in here.stdout  # a cluster's run resumes locally, and the reverse
    classified = run_cli("classify", str(root / "a"), "--dask", address, "--json", timeout=300)
    assert classified.returncode == 1  # the broken file
    verdicts = json.loads(classified.stdout)
    assert sorted(os.path.basename(p) for p in verdicts) == ["one.wav", "two.wav"]
    corpus = make_corpus(tmp_path / "corpus", clips_per_class=3, seconds=4.0)
    trained = run_cli("train", str(corpus), "--model", "filterbank", "--folds", "2", "--no-cache", "--dask", address,
                      timeout=600)
    assert trained.returncode == 0, trained.stderr
    assert "accuracy" in trained.stdout


@pytest.mark.slow
def test_workers_leave_when_the_run_is_killed_outright(tmp_path):
    """SIGKILL gives the parent no chance to stop its workers: they notice, clean up, and go."""
    import psutil

    root = library(tmp_path / "music", names=[f"f{i:02d}.wav" for i in range(6)], seconds=60.0)
    out = tmp_path / "eq"
    run = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "process", str(root), "-o", str(out), "--genre",
                            "disco", "--target-lufs", "-14", "--jobs", "2"], cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(out.glob(".*partial*"))) < 2:  # both workers are writing
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    workers = psutil.Process(run.pid).children()
    assert len(workers) >= 2
    run.kill()
    run.wait()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
    assert not list(out.rglob("*partial*"))  # each removed what it was writing


@pytest.mark.slow
def test_a_report_option_never_swallows_an_input(tmp_path):
    song = tmp_path / "song.wav"
    write_clip(song, 44100, 2, seconds=4.0)
    printed = run_cli("classify", "--json", str(song))  # the flag first, the file after
    assert printed.returncode == 0, printed.stderr
    assert list(json.loads(printed.stdout)) == [str(song)]
    before = song.read_bytes()
    for option in ("--jsonl", "--csv"):
        refused = run_cli("classify", option, str(song), str(song))
        assert refused.returncode == 1 and f"{option} {song}: a report's name ends in" in refused.stderr
        refused = run_cli("process", str(tmp_path), "-o", str(tmp_path / "eq"), option, str(song))
        assert refused.returncode == 1 and "a report's name ends in" in refused.stderr
    assert song.read_bytes() == before and not (tmp_path / "eq").exists()
