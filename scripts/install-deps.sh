#!/usr/bin/env bash
# Installs the Debian 12 packages dynpcm needs to build and test, and nothing else.
# Idempotent: when every package is already installed it only runs dpkg-query and exits.
set -euo pipefail

packages=(
    g++ cmake make pkg-config   # toolchain (g++ 12 on Debian 12)
    libgtest-dev libgmock-dev   # unit tests
    libbenchmark-dev            # bench/
    libcli11-dev                # the dynpcm CLI
    libfmt-dev                  # formatting off the realtime thread (GCC 12 has no <format>)
    libyaml-cpp-dev             # card files
    libasound2-dev alsa-utils   # the alsa backend; alsa-lib's null and file PCMs in the tests;
                                # alsatplg compiles topology .conf files
    linux-libc-dev              # <sound/asoc.h>: the topology binary format
    alsa-topology-conf          # Debian's topology confs (broadwell.conf) in the topology tests
    alsa-ucm-conf               # the stock UCM profiles alsaucm runs against dynpcmd in the tests
    libsndfile1-dev             # the wav backend
    libspeexdsp-dev             # sample-rate conversion on the realtime thread
    libsamplerate0-dev          # adaptive resampling: drift compensation between clock domains
    libsoxr-dev                 # bench_src: the resampler we measured speexdsp against
    nlohmann-json3-dev          # --json output
    graphviz                    # dynpcm graph -o FILE.svg|png
    clang libclang-rt-14-dev    # libFuzzer targets (fuzz/)
    liburcu-dev                 # bench_reclaim: the RCU we measured our epochs against
    relacy-dev spin             # model checks (tests/model/, models/)
)

# shellcheck source=apt.sh
source "$(dirname "$0")/apt.sh"
install_missing install-deps "${packages[@]}"
