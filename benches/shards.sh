#!/usr/bin/env bash
# Sharded scans on one machine: one process against N shards (--shard I/N, all started at once
# with GNU parallel, as examples/shards/parallel.sh does) on the same pairs, inside a network
# namespace of its own (127.0.0.0/24 is all local there: 256 hosts x 1,000 ports, -z).
#   benches/shards.sh          sequential and --randomize, N = 1 (one process), 2, 4, 8
# Needs: GNU parallel, GNU time, socat, nftables (apt-get install -y parallel time socat nftables).
# Touches only the namespace's loopback. Fails if a union of shards differs from one process.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INSIDE_BENCH_NS:-}" != 1 ]; then
    cargo build --release -q
    exec env INSIDE_BENCH_NS=1 unshare -rn "$0" "$@"
fi
. tests/testbed/lib.sh
ns_init
PP=$PWD/target/release/portprobe
# A deep accept queue: with socat's default backlog (5) concurrent shards overflow it and the
# kernel drops SYNs, which a scan rightly reports as filtered.
for port in 22 80; do
    socat -u "TCP-LISTEN:$port,reuseaddr,fork,backlog=4096" OPEN:/dev/null </dev/null >/dev/null 2>&1 &
    wait_port "$port"
done
W=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; ns_cleanup' EXIT
SCAN=(127.0.0.0/24 -p 1-1000 -z --retries 0 --timeout 500ms)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), $(parallel --version | head -1)"
echo "scan: portprobe scan ${SCAN[*]} (256,000 pairs)"

# One shard's cost: wall, user+sys CPU, peak RSS, written by GNU time per shard.
export PP W
run_shard() { # I N ORDER...
    local i=$1 n=$2; shift 2
    /usr/bin/time -f "%e %U %S %M" -o "$W/time-$i-of-$n" \
        "$PP" scan "${SCAN[@]}" --json --shard "$i/$n" "$@" >"$W/out-$i-of-$n.jsonl"
}
export -f run_shard
export SCAN_TEXT="${SCAN[*]}"

pairs() { jq -r 'select(.port) | "\(.ip) \(.port) \(.state)"' "$@" | sort; }

for order in sequential random; do
    extra=()
    [ "$order" = random ] && extra=(--randomize --seed 7)
    echo "== $order order"
    printf '%-10s %9s %14s %14s %12s\n' shards "total s" "cpu s (sum)" "cpu s/shard" "RSS MB/shard"
    for n in 1 2 4 8; do
        rm -f "$W"/out-* "$W"/time-*
        start=$(date +%s.%N)
        # shellcheck disable=SC2016
        parallel -j "$n" 'SCAN=($SCAN_TEXT); run_shard {} '"$n"' '"${extra[*]}" ::: $(seq 1 "$n")
        total=$(echo "$(date +%s.%N) - $start" | bc -l)
        cpu=$(cat "$W"/time-* | awk '{s += $2 + $3} END {printf "%.2f", s}')
        rss=$(cat "$W"/time-* | awk '{if ($4 > m) m = $4} END {printf "%.1f", m / 1024}')
        printf '%-10s %9.2f %14s %14.2f %12s\n' "$n" "$total" "$cpu" "$(echo "$cpu / $n" | bc -l)" "$rss"
        pairs "$W"/out-*-of-"$n".jsonl >"$W/pairs-$n"
        [ "$n" = 1 ] && cp "$W/pairs-1" "$W/pairs-ref"
        cmp -s "$W/pairs-ref" "$W/pairs-$n" || { echo "WRONG: $n shards differ from one process:"; diff "$W/pairs-ref" "$W/pairs-$n" | head; exit 1; }
        [ "$(uniq -d "$W/pairs-$n" | wc -l)" = 0 ] || { echo "WRONG: a pair twice"; exit 1; }
    done
done
echo "every union of shards equals the one-process scan ($(wc -l <"$W/pairs-ref") pairs)"
