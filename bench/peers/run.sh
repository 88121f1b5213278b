#!/usr/bin/env bash
# Runs one side-by-side comparison: the Telos workload and its peer in another stack, in one
# invocation, alternating the two sides for ROUNDS rounds (default 3) so that load from other
# jobs on a shared machine falls on both, and prints one JSON line
# {"name","telos","peer","unit","ratio","rounds","ratios"}: telos and peer are the medians over
# rounds of each side's own median, ratios the per-round telos / peer, ratio their median (for a
# time per step, below 1 means Telos is faster; for a rate, above 1 means Telos is faster).
#
#   bench/peers/run.sh NAME [ROUNDS]        e.g. bench/peers/run.sh mlp-adam 5
#
# The peer is bench/peers/NAME.py, run by Debian's own /usr/bin/python3 with python3-torch,
# python3-numpy and libopenblas0-pthread, installed with apt-get when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
name="${1:-}"
rounds="${2:-3}"
if [ -z "$name" ] || [ ! -f "$here/$name.py" ]; then
    echo "error: usage: bench/peers/run.sh NAME; known: $(cd "$here" && ls *.py 2>/dev/null | sed 's/\.py$//' | tr '\n' ' ')" >&2
    exit 2
fi
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: ROUNDS must be a positive integer, got '$rounds'" >&2
    exit 2
fi
py=/usr/bin/python3
if ! "$py" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "installing python3-torch python3-numpy libopenblas0-pthread (apt-get)..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread >&2
fi
dotnet build -c Release "$repo/bench/Telos.Benchmarks" -v q -nologo >&2
telos_runs=()
peer_runs=()
for ((round = 1; round <= rounds; round++)); do
    telos_runs+=("$(dotnet "$repo/bench/Telos.Benchmarks/bin/Release/net10.0/Telos.Benchmarks.dll" peer "$name")")
    peer_runs+=("$("$py" "$here/$name.py")")
    echo "round $round/$rounds: telos ${telos_runs[-1]} peer ${peer_runs[-1]}" >&2
done
"$py" - "$name" "$rounds" "${telos_runs[@]}" "${peer_runs[@]}" <<'PY'
import json, statistics, sys
name, rounds = sys.argv[1], int(sys.argv[2])
telos = [json.loads(a) for a in sys.argv[3:3 + rounds]]
peer = [json.loads(a) for a in sys.argv[3 + rounds:3 + 2 * rounds]]
units = {r["unit"] for r in telos + peer}
if len(units) != 1:
    sys.exit(f"error: unit mismatch between telos and peer: {sorted(units)}")
ratios = [t["value"] / p["value"] for t, p in zip(telos, peer)]
print(json.dumps({"name": name,
                  "telos": round(statistics.median(t["value"] for t in telos), 6),
                  "peer": round(statistics.median(p["value"] for p in peer), 6),
                  "unit": telos[0]["unit"], "ratio": round(statistics.median(ratios), 4),
                  "rounds": rounds, "ratios": [round(r, 4) for r in ratios]}))
PY
