#!/usr/bin/env bash
# Runs one side-by-side comparison: the Telos workload and its peer in another stack, in one
# invocation, and prints one JSON line {"name","telos","peer","unit","ratio"} with ratio =
# telos / peer in that unit (for a time per step, below 1 means Telos is faster; for a rate,
# above 1 means Telos is faster).
#
#   bench/peers/run.sh NAME        e.g. mlp-adam
#
# The peer is bench/peers/NAME.py, run by Debian's own /usr/bin/python3 with python3-torch,
# python3-numpy and libopenblas0-pthread, installed with apt-get when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
name="${1:-}"
if [ -z "$name" ] || [ ! -f "$here/$name.py" ]; then
    echo "error: usage: bench/peers/run.sh NAME; known: $(cd "$here" && ls *.py 2>/dev/null | sed 's/\.py$//' | tr '\n' ' ')" >&2
    exit 2
fi
py=/usr/bin/python3
if ! "$py" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "installing python3-torch python3-numpy libopenblas0-pthread (apt-get)..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread >&2
fi
dotnet build -c Release "$repo/bench/Telos.Benchmarks" -v q -nologo >&2
telos_json="$(dotnet "$repo/bench/Telos.Benchmarks/bin/Release/net10.0/Telos.Benchmarks.dll" peer "$name")"
peer_json="$("$py" "$here/$name.py")"
"$py" - "$name" "$telos_json" "$peer_json" <<'PY'
import json, sys
name, t, p = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
if t["unit"] != p["unit"]:
    sys.exit(f"error: unit mismatch: telos {t['unit']} vs peer {p['unit']}")
print(json.dumps({"name": name, "telos": round(t["value"], 6), "peer": round(p["value"], 6),
                  "unit": t["unit"], "ratio": round(t["value"] / p["value"], 4)}))
PY
