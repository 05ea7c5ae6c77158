#!/usr/bin/env bash
# Loads every SOF topology under DIR with no overlay and counts how many load and how many of
# their FE streams reach a BE (dynpcm routes --tplg FILE --json). DIR is an unpacked
# firmware-sof-signed package (non-free-firmware; see docs/TOPOLOGY.md for fetching it once by
# hand); nothing here downloads anything.
#
#   scripts/sof-survey.sh DIR [DYNPCM]     (DYNPCM defaults to build/cli/dynpcm)
set -uo pipefail
dir=${1:?usage: sof-survey.sh DIR [DYNPCM]}
dynpcm=${2:-build/cli/dynpcm}
files=0 loaded=0 streams=0 routed=0
failed=()
while IFS= read -r -d '' f; do
    files=$((files + 1))
    if ! out=$("$dynpcm" routes --tplg "$f" --json 2>/dev/null); then
        failed+=("$f")
        continue
    fi
    loaded=$((loaded + 1))
    read -r s r < <(python3 -c '
import json, sys
j = json.load(sys.stdin)
print(len(j), sum(1 for v in j.values() if v["bes"]))' <<<"$out")
    streams=$((streams + s)) routed=$((routed + r))
done < <(find "$dir" -name '*.tplg' -print0 | sort -z)
echo "topologies: $files, loaded: $loaded; FE streams: $streams, reaching a BE: $routed"
for f in "${failed[@]}"; do echo "did not load: $f"; done
