#!/usr/bin/env bash
# Memory under load, in a network namespace of its own: peak RSS of a connect-only scan of
# 10,000 / 100,000 / 1,000,000 targets read from stdin (addresses in 127.0.0.0/8, one closed
# port each), and of detection against hostile servers (endless stream, 10 MB line).
# Needs socat and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INSIDE_BENCH_NS:-}" != 1 ]; then
    cargo build --release -q
    exec env INSIDE_BENCH_NS=1 unshare -rn "$0" "$@"
fi
. tests/testbed/lib.sh
ns_init
PP=$PWD/target/release/portprobe
targets() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "127.%d.%d.%d\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256 }'; }
echo "machine: $(nproc) cores, $(uname -r)"
for n in 10000 100000 1000000; do
    targets "$n" | /usr/bin/time -f "%e %M" -o /tmp/mem.$$ "$PP" scan - -p 9 -z --json | wc -l >/tmp/lines.$$
    read -r wall rss </tmp/mem.$$
    printf 'scan - -p 9 -z, %8d targets from stdin: %6.2f s, peak RSS %6.1f MB, %s JSON lines\n' \
        "$n" "$wall" "$(echo "$rss / 1024" | bc -l)" "$(cat /tmp/lines.$$)"
done
socat TCP-LISTEN:7001,fork,reuseaddr EXEC:yes </dev/null >/dev/null 2>&1 &
socat TCP-LISTEN:7002,fork,reuseaddr SYSTEM:"head -c 10485760 /dev/zero | tr '\\\\0' L" </dev/null >/dev/null 2>&1 &
wait_port 7001; wait_port 7002
for p in 7001 7002; do
    /usr/bin/time -f "%e %M" -o /tmp/mem.$$ "$PP" scan 127.0.0.1 -p $p --json --detect-timeout 5s >/dev/null
    read -r wall rss </tmp/mem.$$
    printf 'scan with detection, hostile port %s: %5.2f s, peak RSS %5.1f MB\n' "$p" "$wall" "$(echo "$rss / 1024" | bc -l)"
done
rm -f /tmp/mem.$$ /tmp/lines.$$
