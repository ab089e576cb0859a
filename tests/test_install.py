"""Installed from a wheel, every command runs from any folder; user folders outrank shipped data."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from inteleq_rt.resources import presets_dir, shipped_presets, shipped_weights, weights_dir

from .conftest import REPO, sine
from .synthetic import synthetic_clip

SHIPPED = ("classical", "country", "disco", "electronic", "flat", "hiphop", "jazz", "rock_pop")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from the checkout, installed into a fresh venv (its dependencies seen
    through a .pth file from the test venv, so nothing is downloaded twice)."""
    root = tmp_path_factory.mktemp("install")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"),
                            str(REPO)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    wheel, = (root / "dist").glob("inteleq_rt-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                              str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    elsewhere = root / "elsewhere"  # a folder with no checkout in sight
    elsewhere.mkdir()
    home = root / "home"  # no user presets or models
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"), "PYTHONPATH": ""}
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("INTELEQ_RT_PRESETS", None)
    env.pop("INTELEQ_RT_WEIGHTS", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "inteleq-rt"), *args], capture_output=True, text=True,
                              cwd=elsewhere, env=env, timeout=300)

    location = subprocess.run([python, "-c", "import inteleq_rt; print(inteleq_rt.__file__)"], capture_output=True,
                              text=True, cwd=elsewhere, env=env).stdout
    return run, elsewhere, location


def _installed_files(package: Path) -> set[str]:
    site = package.parent
    record, = site.glob("inteleq_rt-*.dist-info/RECORD")
    listed = {line.split(",")[0] for line in record.read_text().splitlines()}
    return {str(path.relative_to(site)) for path in package.rglob("*") if path.is_file()} - listed


@pytest.mark.slow
def test_the_wheel_is_what_runs(installed):
    _, _, location = installed
    assert "/venv/" in location and str(REPO) not in location


@pytest.mark.slow
def test_installed_commands_find_their_presets_and_model(installed):
    import soundfile as sf

    run, folder, location = installed
    presets = run("presets")
    assert presets.returncode == 0, presets.stderr
    assert [line.split()[0] for line in presets.stdout.splitlines()] == list(SHIPPED)
    demo = run("demo", "--out-dir", "demo")
    assert demo.returncode == 0, demo.stderr
    assert (folder / "demo" / "demo-output.wav").is_file() and "genre timeline" in demo.stdout
    sf.write(str(folder / "song.wav"), synthetic_clip("jazz", 6.0, 22050, 1), 22050)
    classify = run("classify", "song.wav")
    assert classify.returncode == 0, classify.stderr
    assert classify.stdout.startswith("song.wav: ")
    process = run("process", "song.wav", "-o", "out.flac", "--genre", "jazz")
    assert process.returncode == 0, process.stderr
    assert sf.info(str(folder / "out.flac")).frames == 6 * 22050
    # Nothing was written inside the installed package (pip's uninstall would leave it behind,
    # and a system install cannot write there): numba's cache went to the user's cache folder.
    package = Path(location.strip()).parent
    assert _installed_files(package) == set()
    assert any((folder.parent / "home" / ".cache" / "inteleq-rt" / "numba").rglob("*.nbi"))


def test_the_wheel_lists_every_package():
    """pyproject names its packages one by one: a new folder left out imports in an editable
    install and is missing from a regular one (range mode's tonal/ was, once)."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "inteleq_rt").rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)


def test_shipped_data_is_found_through_the_package():
    assert sorted(p.stem for p in shipped_presets().glob("*.toml") if p.stem not in ("targets", "ranges")) == list(SHIPPED)
    assert (shipped_presets() / "ranges.toml").is_file()  # the genre ranges --mode range corrects by
    assert weights_dir() == shipped_weights() / "musicnn-genres"
    assert weights_dir("gtzan") == shipped_weights() / "gtzan"


def test_a_users_folders_outrank_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.delenv("INTELEQ_RT_PRESETS", raising=False)
    monkeypatch.delenv("INTELEQ_RT_WEIGHTS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert presets_dir() == shipped_presets()  # the user's folder holds nothing yet
    mine = tmp_path / "config" / "inteleq-rt" / "presets"
    mine.mkdir(parents=True)
    (mine / "flat.toml").write_text((shipped_presets() / "flat.toml").read_text())
    assert presets_dir() == mine
    monkeypatch.setenv("INTELEQ_RT_PRESETS", str(tmp_path / "env"))
    assert presets_dir() == tmp_path / "env"
    assert presets_dir(tmp_path / "given") == tmp_path / "given"

    model = tmp_path / "data" / "inteleq-rt" / "weights" / "gtzan"
    model.mkdir(parents=True)
    (model / "model.json").write_text("{}")
    assert weights_dir("gtzan") == model  # a model trained under the shipped one's name wins
    assert weights_dir(str(tmp_path)) == tmp_path  # a folder is taken as given


def test_an_unknown_model_name_says_where_it_looked(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    source = tmp_path / "in.wav"
    import soundfile as sf

    sf.write(str(source), sine(440, 4.0, 22050), 22050)
    result = subprocess.run([sys.executable, "-m", "inteleq_rt", "classify", str(source), "--weights", "nosuch"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 1 and "no genre model named 'nosuch'" in result.stderr
    assert "Traceback" not in result.stderr
