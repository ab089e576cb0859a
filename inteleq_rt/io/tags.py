"""An equalized file keeps its input's tags and artwork (mutagen), with ReplayGain updated.

libsndfile writes audio, not metadata, so the output is tagged after it is rendered and
before it is put in place. Tags travel between the two families mutagen writes: Vorbis
comments (FLAC, Ogg Vorbis, Opus) and ID3 (WAV, AIFF, MP3); a container with neither (AU,
W64, CAF, ...) keeps none, and the result says so. ReplayGain is measured anew: the track
gain from the output's BS.1770 loudness (ReplayGain 2.0: -18 LUFS; Opus's R128 gain: -23),
the track peak from its samples. Album values no longer hold once tracks are equalized
one by one, so they are dropped, not copied.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

REPLAYGAIN_REFERENCE_LUFS = -18.0
R128_REFERENCE_LUFS = -23.0
# ID3 frames of the common fields, and their Vorbis comment names
ID3_TEXT = {"TIT2": "title", "TPE1": "artist", "TALB": "album", "TPE2": "albumartist", "TDRC": "date",
            "TCON": "genre", "TRCK": "tracknumber", "TPOS": "discnumber", "TCOM": "composer", "TSRC": "isrc",
            "TCOP": "copyright", "TPUB": "organization", "TBPM": "bpm", "TKEY": "initialkey"}
VORBIS_TO_ID3 = {name: frame for frame, name in ID3_TEXT.items()}
STALE = ("replaygain_", "r128_")  # loudness tags of the input: replaced or dropped


@dataclass
class Picture:
    data: bytes
    mime: str
    kind: int  # the APIC / FLAC picture type: 3 is the front cover
    description: str = ""


@dataclass
class Tags:
    text: dict[str, list[str]] = field(default_factory=dict)  # Vorbis comment names, lower case
    pictures: list[Picture] = field(default_factory=list)


def _open(path: Path):
    import mutagen

    try:
        return mutagen.File(str(path))
    except mutagen.MutagenError:
        return None


def _is_vorbis(audio) -> bool:
    from mutagen.flac import FLAC
    from mutagen.ogg import OggFileType

    return isinstance(audio, (FLAC, OggFileType))


def read_tags(path: Path) -> Tags:
    """What ``path`` is tagged with (nothing, if its container has no tags mutagen reads)."""
    from mutagen.flac import Picture as FlacPicture

    audio, tags = _open(path), Tags()
    if audio is None or audio.tags is None:
        return tags
    if _is_vorbis(audio):
        for key, value in audio.tags.items():
            if key.lower() == "metadata_block_picture":
                for encoded in value:
                    picture = FlacPicture(base64.b64decode(encoded))
                    tags.pictures.append(Picture(picture.data, picture.mime, picture.type, picture.desc))
            else:
                tags.text.setdefault(key.lower(), []).extend(value)
        tags.pictures += [Picture(p.data, p.mime, p.type, p.desc) for p in getattr(audio, "pictures", [])]
        return tags
    for frame in audio.tags.values():  # ID3
        if frame.FrameID in ID3_TEXT:
            tags.text[ID3_TEXT[frame.FrameID]] = [str(t) for t in frame.text]
        elif frame.FrameID == "TXXX":
            tags.text[frame.desc.lower()] = [str(t) for t in frame.text]
        elif frame.FrameID == "COMM" and frame.text:
            tags.text["comment"] = [str(t) for t in frame.text]
        elif frame.FrameID == "APIC":
            tags.pictures.append(Picture(frame.data, frame.mime, int(frame.type), frame.desc))
    return tags


def loudness_tags(lufs: float, peak: float, opus: bool) -> dict[str, list[str]]:
    """ReplayGain 2.0 track gain and peak (and Opus's R128 track gain) for a rendered file."""
    gain = REPLAYGAIN_REFERENCE_LUFS - lufs
    tags = {"replaygain_track_gain": [f"{gain:+.2f} dB"], "replaygain_track_peak": [f"{peak:.6f}"]}
    if opus:  # RFC 7845: Q7.8 fixed point, relative to the output gain, re -23 LUFS
        tags["r128_track_gain"] = [str(round(256 * (R128_REFERENCE_LUFS - lufs)))]
    return tags


def write_tags(path: Path, tags: Tags) -> bool:
    """Tag ``path`` (a fresh render, untagged); False when its container holds no tags."""
    audio = _open(path)
    if audio is None:
        return False
    if audio.tags is None:
        audio.add_tags()
    if _is_vorbis(audio):
        _write_vorbis(audio, tags)
    else:
        _write_id3(audio.tags, tags)
    audio.save()
    return True


def _write_vorbis(audio, tags: Tags) -> None:
    from mutagen.flac import FLAC
    from mutagen.flac import Picture as FlacPicture

    for key, values in tags.text.items():
        audio.tags[key.upper()] = values
    for picture in tags.pictures:
        flac_picture = FlacPicture()
        flac_picture.data, flac_picture.mime, flac_picture.type = picture.data, picture.mime, picture.kind
        flac_picture.desc = picture.description
        if isinstance(audio, FLAC):
            audio.add_picture(flac_picture)
        else:
            encoded = base64.b64encode(flac_picture.write()).decode("ascii")
            audio.tags["METADATA_BLOCK_PICTURE"] = audio.tags.get("METADATA_BLOCK_PICTURE", []) + [encoded]


def _write_id3(id3, tags: Tags) -> None:
    from mutagen import id3 as frames

    for key, values in tags.text.items():
        if key in VORBIS_TO_ID3:
            id3.add(getattr(frames, VORBIS_TO_ID3[key])(encoding=3, text=values))
        elif key == "comment":
            id3.add(frames.COMM(encoding=3, lang="eng", desc="", text=values))
        else:
            id3.add(frames.TXXX(encoding=3, desc=key.upper(), text=values))
    for picture in tags.pictures:
        id3.add(frames.APIC(encoding=3, mime=picture.mime, type=picture.kind, desc=picture.description,
                            data=picture.data))


def carry_tags(source: Path, output: Path, lufs: float, peak: float) -> str:
    """Copy ``source``'s tags and artwork onto ``output`` with its own ReplayGain; a short
    account of what was done, for the file's result."""
    import math

    tags = read_tags(source)
    tags.text = {k: v for k, v in tags.text.items() if not k.startswith(STALE)}
    copied = len(tags.text), len(tags.pictures)
    if math.isfinite(lufs):
        tags.text.update(loudness_tags(lufs, peak, Path(output).suffix.lower() == ".opus"))
    from mutagen import MutagenError

    try:
        if not write_tags(output, tags):
            return f"none ({Path(output).suffix or 'this format'} holds no tags)"
    except MutagenError as error:  # the audio is whole and right: a tag it cannot take is said, not fatal
        return f"none (mutagen could not write them: {error})"
    return f"{copied[0]} tags, {copied[1]} pictures" + (", ReplayGain" if math.isfinite(lufs) else "")
