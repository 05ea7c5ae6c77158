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

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    echo "bench/plugin/install-deps: all ${#packages[@]} packages present"
    exit 0
fi

echo "bench/plugin/install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "bench/plugin/install-deps: need root or sudo for apt-get" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# jackd2 asks whether to enable realtime limits for the 'audio' group; answer no without asking
# (the benchmark runs jackd as the invoking user and does not rely on those limits).
if [[ " ${missing[*]} " == *" jackd2 "* ]] && command -v debconf-set-selections >/dev/null; then
    echo "jackd2 jackd/tweak_rt_limits boolean false" | "${sudo[@]}" debconf-set-selections
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
