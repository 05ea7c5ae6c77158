# Sourced by the install-deps scripts: install_missing LABEL PACKAGE... installs with apt-get
# those of PACKAGE that are not installed, and nothing when all are (it then only runs
# dpkg-query). A function `before_install`, if the caller defines one, runs first with the
# missing packages as its arguments and SUDO (the prefix for root commands) set.
install_missing() {
    local label=$1
    shift
    local missing=() p status
    for p; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        echo "$label: all $# packages present"
        return 0
    fi
    echo "$label: installing ${missing[*]}"
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "$label: need root or sudo to run apt-get" >&2; return 1; }
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    if declare -F before_install >/dev/null; then before_install "${missing[@]}"; fi
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
