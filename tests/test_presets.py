"""Presets are validated data: every shipped file loads; a bad file is named with its key."""

import pytest

from inteleq_rt.engine.presets import (MAX_BOOST_DB, PresetError, load_preset_file, load_presets, load_targets,
                                       write_targets)
from inteleq_rt.genre.weights import read_classes
from inteleq_rt.resources import shipped_presets, weights_dir

GENRE_CLASSES = read_classes(weights_dir())  # the shipped model's own description

from .conftest import run_cli

BANDS = ((20.0, 250.0), (250.0, 11025.0))

GOOD = '''name = "mine"
description = "test"
source = "test"
[[eq]]
type = "peak"
frequency_hz = 1000.0
gain_db = 2.0
q = 1.0
'''


def test_shipped_presets_cover_every_class_and_flat():
    presets = load_presets()
    assert set(presets) == set(GENRE_CLASSES) | {"flat", "electronic"}
    for name in GENRE_CLASSES:
        preset = presets[name]
        assert preset.eq and preset.target is not None, name
        assert all(abs(f.gain_db) <= MAX_BOOST_DB for f in preset.eq)
        assert "Pestana" in preset.source
        assert preset.target.measured_below_hz == 11025 and len(preset.target.bands_hz) == 5
    assert presets["flat"].eq == () and presets["flat"].target is None
    assert "GTZAN" in (shipped_presets() / "targets.toml").read_text()  # the corpus is named


@pytest.mark.parametrize("change, key", [
    (("gain_db = 2.0", "gain_db = 9.0"), "eq[0].gain_db"),
    (("q = 1.0", "q = 0.0"), "eq[0].q"),
    (('type = "peak"', 'type = "notch"'), "eq[0].type"),
    (("frequency_hz = 1000.0", 'frequency_hz = "1k"'), "eq[0].frequency_hz"),
    (("q = 1.0", "q = 1.0\nslope = 2"), "eq[0].slope"),
    (('description = "test"\n', ""), "description"),
    (("[[eq]]", "[eqs]"), "eqs"),
])
def test_bad_values_name_the_file_and_key(tmp_path, change, key):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(PresetError) as error:
        load_preset_file(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {key}"), message


def test_unparsable_and_misnamed_files(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(PresetError, match=f"{broken}: not valid TOML"):
        load_preset_file(broken)
    misnamed = tmp_path / "other.toml"
    misnamed.write_text(GOOD)
    with pytest.raises(PresetError, match="does not match the file name"):
        load_preset_file(misnamed)


@pytest.mark.slow
def test_cli_validate_reports_each_file(tmp_path):
    good, bad = tmp_path / "mine.toml", tmp_path / "bad.toml"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace('name = "mine"', 'name = "bad"').replace("gain_db = 2.0", "gain_db = 40.0"))
    result = run_cli("presets", "validate", str(good), str(bad))
    assert result.returncode == 1
    assert f"ok      {good}" in result.stdout
    assert f"invalid {bad}: eq[0].gain_db: 40 is outside -12..6" in result.stdout
    assert run_cli("presets", "validate").returncode == 0


def test_engine_refuses_a_bad_preset_folder(tmp_path):
    (tmp_path / "flat.toml").write_text('name = "flat"\ndescription = "x"\nsource = "y"\ngain = 1\n')
    result = run_cli("process", "in.wav", "-o", str(tmp_path / "o.wav"), "--presets-dir", str(tmp_path))
    assert result.returncode == 1  # the missing input is reported first, in one line
    assert len(result.stderr.strip().splitlines()) == 1


def test_targets_round_trip_and_bad_targets_are_named(tmp_path):
    path = tmp_path / "targets.toml"
    measured = {"jazz": {"levels_db": [-3.0, -6.0], "spread_db": [1.0, 2.0], "clips": 4}}
    write_targets(path, measured, BANDS, corpus="test corpus", measured_below_hz=11025.0)
    target = load_targets(path)["jazz"]
    assert target.levels_db == (-3.0, -6.0) and target.spread_db == (1.0, 2.0)
    assert target.measured_below_hz == 11025.0
    path.write_text(path.read_text().replace("levels_db = [-3.00, -6.00]", "levels_db = [-3.00]"))
    with pytest.raises(PresetError, match=f"{path}: jazz.levels_db: expected a list of 2 numbers"):
        load_targets(path)


def test_targets_for_an_unknown_preset_are_refused(tmp_path):
    (tmp_path / "mine.toml").write_text(GOOD)
    (tmp_path / "flat.toml").write_text((shipped_presets() / "flat.toml").read_text())  # every folder has it
    write_targets(tmp_path / "targets.toml", {"polka": {"levels_db": [-3.0, -6.0], "spread_db": [1.0, 1.0],
                                                       "clips": 1}}, BANDS, "c", 11025.0)
    with pytest.raises(PresetError, match="polka: no preset of that name"):
        load_presets(tmp_path)
    assert run_cli("presets", "validate", str(tmp_path / "targets.toml")).returncode == 0
