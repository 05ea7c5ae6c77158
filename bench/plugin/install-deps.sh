#!/usr/bin/env bash
# bench/plugin/install-deps.sh: installs what bench/plugin/run needs to compare dynpcm with JACK
# and PipeWire, and only what is missing. These are benchmark-only packages: the project's build
# and tests do not need them (scripts/install-deps.sh covers those).
# Idempotent: with everything present it only runs dpkg-query and exits.
set -euo pipefail

packages=(
    gcc libasound2-dev          # bench/plugin/alsa_client.c
    alsa-utils                  # aplay, the unmodified client of the CPU runs
    jackd2                      # jackd with its dummy driver
    libasound2-plugins          # alsa-plugins' 'jack' PCM
    pipewire pipewire-bin       # the PipeWire daemon, pw-cli, pw-metadata, pw-dump
    pipewire-alsa               # the 'pipewire' ALSA PCM
    wireplumber                 # PipeWire's session manager (links the client to the sink)
    dbus dbus-user-session      # dbus-run-session: a private session bus for PipeWire
    python3                     # run: merges the JSON results and prints the table
)

# jackd2 asks whether to enable realtime limits for the 'audio' group; answer no without asking
# (the benchmark runs jackd as the invoking user and does not rely on those limits).
before_install() {
    if [[ " $* " == *" jackd2 "* ]] && command -v debconf-set-selections >/dev/null; then
        echo "jackd2 jackd/tweak_rt_limits boolean false" | "${SUDO[@]}" debconf-set-selections
    fi
}
# shellcheck source=../../scripts/apt.sh
source "$(dirname "$0")/../../scripts/apt.sh"
install_missing bench/plugin/install-deps "${packages[@]}"
