#!/usr/bin/env bash
# Cluster benchmark (docs/cluster.md, "Throughput"): a 12-cell mlp-regression sweep run on this machine alone and on
# three local silos (TLS, localhost membership), each with one cell at a time and three at a time, alternating,
# REPS times. Prints one line per sweep: where, jobs, wall seconds, cells/s, mean cell seconds (from the sweep's log).
#   bash bench/cluster/run.sh [REPS]        (builds nothing: uses the Debug build of src/Telos.Cli)
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-1}
telos=(dotnet "$PWD/src/Telos.Cli/bin/Debug/net10.0/Telos.Cli.dll")
work=$(mktemp -d /tmp/telos-cluster-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/sweep.toml" <<'TOML'
experiment = "mlp-regression"
steps = 60
batch_size = 16
hidden = [8]
eval_points = 32
log_every = 10
checkpoint_every = 20

[sweep]
seeds = [1, 2, 3, 4, 5, 6]

[sweep.axes]
learning_rate = [0.01, 0.03]
TOML
"${telos[@]}" silo cert "$work/cluster.pfx" >/dev/null
cat > "$work/cluster.toml" <<'TOML'
primary_port = 22111
gateway_ports = [32000, 32001, 32002]
certificate = "cluster.pfx"
TOML
for i in 0 1 2; do
    "${telos[@]}" silo --cluster "$work/cluster.toml" --port $((22111 + i)) --gateway-port $((32000 + i)) --work "$work/silo-$i" \
        >"$work/silo-$i.out" 2>"$work/silo-$i.err" &
    pids+=($!)
    until grep -q " up: " "$work/silo-$i.out" 2>/dev/null; do sleep 0.5; done
done

sweep() {   # where jobs
    local root="$work/runs-$1-$2-$RANDOM" start end
    local args=(run "$work/sweep.toml" --jobs "$2" --quiet)
    [ "$1" = cluster ] && args+=(--cluster "$work/cluster.toml")
    start=$(date +%s.%N)
    TELOS_RUNS="$root" "${telos[@]}" "${args[@]}" >/dev/null
    end=$(date +%s.%N)
    local mean
    mean=$(grep -h -o 'completed in [0-9.]* s' "$root"/*/log.txt | awk '{s += $3; n++} END {printf "%.2f", s / n}')
    echo "$1 jobs=$2 wall=$(echo "$end - $start" | bc -l | xargs printf '%.1f') s cells/s=$(echo "12 / ($end - $start)" | bc -l | xargs printf '%.3f') mean_cell=$mean s load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
}

for _ in $(seq "$reps"); do
    for jobs in 1 3; do
        sweep local "$jobs"
        sweep cluster "$jobs"
    done
done
