#!/usr/bin/env bash
# Everything the tests need on a fresh Debian/Ubuntu machine, then the tests themselves.
# System packages: PortAudio (sounddevice), libsndfile (soundfile), espeak-ng (speech for the
# genre model's non-music checks), zam-plugins (real VST3
# plugins for the plugin tests), JACK 2 (the live tests run the engine against a real jackd
# with its dummy backend; no sound card needed).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for package in libportaudio2 libsndfile1 jackd2 zam-plugins espeak-ng python3-venv; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python -m pytest "$@"
