"""Audio devices (sounddevice/PortAudio): choosing them by index or name, and what they can run.

sounddevice is imported on first use, so file processing needs no PortAudio. Devices are
given as an index ("2") or words of their name ("system, JACK"), as sounddevice matches.
"""

from __future__ import annotations

from .atomic import AudioError


def sounddevice():
    """sounddevice, imported on first device use: file processing needs no PortAudio."""
    try:
        import sounddevice
    except OSError as error:
        raise AudioError(f"audio devices need PortAudio ({error}); install it, e.g. "
                         "`apt-get install libportaudio2`") from None
    return sounddevice


def parse_device(spec: str | None) -> int | str | None:
    """A device given as an index ("2") or a name substring ("system, JACK")."""
    if spec is None or spec == "":
        return None
    return int(spec) if spec.strip().isdigit() else spec


def resolve_device(spec: int | str | None, kind: str) -> dict:
    """The device info for an index or a name substring, as sounddevice matches names."""
    sd = sounddevice()
    if not len(sd.query_devices()):
        raise AudioError(NO_DEVICES if spec is None else f"no {kind} device {spec!r}: {NO_DEVICES}")
    try:
        return dict(sd.query_devices(spec, kind=kind))
    except (ValueError, sd.PortAudioError) as error:
        if spec is None:
            raise AudioError(f"no default {kind} device; choose one with --device "
                             "(see `inteleq-rt --list-devices`)") from None
        wanted = f"device {spec!r}"
        first, *candidates = str(error).splitlines()  # an ambiguous name: one candidate per line
        if candidates:
            raise AudioError(f"{kind} {wanted} is ambiguous: it matches {', '.join(candidates)}; "
                             "give an index or more of the name") from None
        raise AudioError(f"no {kind} {wanted}: {first} (see `inteleq-rt --list-devices`)") from None


NO_DEVICES = ("no audio devices: PortAudio finds no sound card or audio server here (start one, e.g. "
              "`jackd -d dummy`, or process files offline with `inteleq-rt process`)")


def describe_devices() -> str:
    """PortAudio's device table; an error when it is empty (nothing to choose from)."""
    devices = sounddevice().query_devices()
    if not len(devices):
        raise AudioError(NO_DEVICES)
    return str(devices)


def check_output_rate(device: int | str | None, channels: int, sample_rate: int) -> None:
    """Raise AudioError if the output device cannot play this rate and channel count."""
    sd = sounddevice()
    try:
        sd.check_output_settings(device, channels=channels, samplerate=sample_rate)
    except (sd.PortAudioError, ValueError) as error:
        raise AudioError(f"output device cannot play {channels} ch at {sample_rate} Hz: {error}") from None


def device_stream_settings(
    input_device: int | str | None, output_device: int | str | None, channels: int | None,
    sample_rate: int | None = None,
) -> tuple[int, int]:
    """Sample rate (by default the output device's) and channel count a duplex stream on these
    devices can use."""
    sd = sounddevice()
    source = resolve_device(input_device, "input")
    sink = resolve_device(output_device, "output")
    available = min(source["max_input_channels"], sink["max_output_channels"])
    wanted = channels or min(2, available)
    if wanted > available:
        raise AudioError(
            f"{wanted} channels asked for, but {source['name']!r} / {sink['name']!r} offer {available}"
        )
    default_rate = int(sink["default_samplerate"])
    if sample_rate is not None and sample_rate != default_rate:
        try:
            sd.check_input_settings(input_device, channels=wanted, samplerate=sample_rate)
            sd.check_output_settings(output_device, channels=wanted, samplerate=sample_rate)
        except (sd.PortAudioError, ValueError):
            raise AudioError(f"{source['name']!r} / {sink['name']!r} cannot run at {sample_rate} Hz; "
                             f"leave out --samplerate to use their {default_rate} Hz") from None
    return sample_rate or default_rate, wanted


