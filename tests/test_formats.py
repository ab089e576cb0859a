"""Every input container into every container libsndfile writes: the output is written, whole,
in the input's sample format where the container holds it, else the nearest it holds."""

import numpy as np
import pytest
import soundfile as sf

from inteleq_rt.io.files import can_write
from inteleq_rt.offline import process_file
from inteleq_rt.options import Options

from .conftest import sine

RATE = 48_000  # Opus takes no other rate here
# (extension, sample format) of the inputs: what users bring, lossy and lossless.
INPUTS = [("wav", "PCM_16"), ("wav", "FLOAT"), ("flac", "PCM_24"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III"),
          ("opus", "OPUS"), ("aiff", "PCM_24"), ("caf", "ALAC_16"), ("w64", "DOUBLE")]
# Every container libsndfile writes music into, by an extension that names it: not the speech
# and sampler formats that hold one channel or none at this rate, nor SD2, whose data lives in a
# Mac resource fork that libsndfile cannot read back here.
OUTPUTS = ["wav", "flac", "ogg", "mp3", "opus", "aiff", "au", "caf", "w64", "rf64", "wavex", "nist", "ircam",
           "mat5", "paf", "voc", "avr", "pvf"]
# Bits of precision a sample format keeps; a lossy source decodes to more than 16 (24 is kept).
PRECISION = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "ALAC_16": 16, "PCM_24": 24, "FLOAT": 24, "PCM_32": 32,
             "DOUBLE": 53}
LOSSY = ("VORBIS", "OPUS", "MPEG_LAYER_III")
# The fast subset: one pair per output container, the lossy source into each.
FAST = {("mp3", "MPEG_LAYER_III")}
EXTENSION_FORMAT = {"opus": "OGG", "aiff": "AIFF", "wavex": "WAVEX"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sources")
    made = {}
    for extension, subtype in INPUTS:
        path = folder / f"in-{subtype.lower()}.{extension}"
        sf.write(str(path), sine(440, 0.5, RATE), RATE, subtype=subtype,
                 format=EXTENSION_FORMAT.get(extension, extension.upper()))
        made[(extension, subtype)] = path
    return made


def _pairs() -> list:
    return [pytest.param(source, output, id=f"{source[0]}-{source[1]}-to-{output}",
                         marks=[] if source in FAST else [pytest.mark.slow])
            for source in INPUTS for output in OUTPUTS]


@pytest.mark.parametrize("source, output", _pairs())
def test_every_input_goes_into_every_output_container(sources, tmp_path, source, output):
    path = sources[source]
    destination = tmp_path / f"out.{output}"
    outcome = process_file(path, destination, Options(genre="rock_pop"))
    written = sf.info(str(destination))
    assert (written.samplerate, written.channels) == (RATE, 2)
    assert abs(written.frames - sf.info(str(path)).frames) <= 2048  # lossy codecs pad
    container, own, made = written.format, source[1], written.subtype
    assert outcome.summary["format"].startswith(f"{container} {made}")
    if output == "opus":
        assert made == "OPUS"  # the extension names the codec
    elif can_write(container, own):
        assert made == own
    elif made not in LOSSY:  # a lossless container: as precise as the input (up to 24 bits) as it holds
        best = max(bits for subtype, bits in PRECISION.items() if can_write(container, subtype))
        assert PRECISION[made] >= min(PRECISION.get(own, 24), 24, best)
        assert f"nearest to the input's {own}, which {container} cannot hold" in outcome.summary["format"]


@pytest.mark.parametrize("extension", ["ogg", pytest.param("mp3", marks=pytest.mark.slow), pytest.param("opus", marks=pytest.mark.slow)])
def test_a_lossy_output_holds_the_ceiling_as_decoded_in_true_peak(tmp_path, extension):
    """Encoders overshoot: limited to -1 dBFS, Vorbis decoded at up to +0.6 dBFS before."""
    from inteleq_rt.demo import demo_clip
    from inteleq_rt.engine.truepeak import true_peak

    audio, _ = demo_clip(8.0, RATE)
    source, destination = tmp_path / "loud.wav", tmp_path / f"out.{extension}"
    sf.write(str(source), audio, RATE, subtype="PCM_24")
    outcome = process_file(source, destination, Options(genre="rock_pop", target_lufs=-9.0))
    decoded, _ = sf.read(str(destination), dtype="float32", always_2d=True)
    assert 20 * np.log10(true_peak(decoded, RATE)) <= -1.0 + 0.05
    assert outcome.summary["clipped_samples"] == 0
    assert "dBTP true, as decoded" in outcome.summary["output_peak"]
    assert outcome.measured["peak"] == pytest.approx(float(np.max(np.abs(decoded))), abs=1e-6)


def test_the_summary_gives_true_peak_beside_sample_peak(tmp_path):
    from inteleq_rt.engine.truepeak import true_peak

    source, destination = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(str(source), sine(440, 2.0, RATE), RATE, subtype="FLOAT")
    outcome = process_file(source, destination, Options(genre="flat"))
    written, _ = sf.read(str(destination), dtype="float32", always_2d=True)
    sample_db, true_db = 20 * np.log10(np.max(np.abs(written))), 20 * np.log10(true_peak(written, RATE))
    assert outcome.summary["output_peak"] == f"{sample_db:.1f} dBFS sample, {true_db:.1f} dBTP true"


def test_true_peak_finds_the_peak_between_samples():
    from inteleq_rt.engine.truepeak import TruePeak, true_peak

    n = np.arange(4800)
    quarter = np.sin(2 * np.pi * n / 4 + np.pi / 4)[:, None]  # fs/4, samples at +-0.707 of a 1.0 peak
    assert np.max(np.abs(quarter)) == pytest.approx(0.7071, abs=1e-4)
    assert 20 * np.log10(true_peak(quarter, RATE)) == pytest.approx(0.0, abs=0.25)  # BS.1770-4: within 0.3 dB here
    noise = np.random.default_rng(0).standard_normal((10_000, 2))
    meter = TruePeak(RATE, 2)
    for start in range(0, len(noise), 777):  # streamed in blocks, the same as whole
        meter.add(noise[start : start + 777])
    assert meter.peak == pytest.approx(true_peak(noise, RATE), rel=1e-12)
