#!/usr/bin/env bash
# Session throughput: 1 GiB through `portprobe listen` <- `portprobe connect` on loopback,
# measured in the same run as socat and ncat doing the same (listener to /dev/null, client
# from a file), in a network namespace of its own. Wall time from the client's start to the
# listener's exit; CPU time (user+sys) of both processes from GNU time.
# Needs: socat, ncat, GNU time (apt-get install -y socat ncat time).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INSIDE_BENCH_NS:-}" != 1 ]; then
    cargo build --release -q
    exec env INSIDE_BENCH_NS=1 unshare -rn "$0" "$@"
fi
. tests/testbed/lib.sh
ns_init
PP=$PWD/target/release/portprobe
d=$(mktemp -d)
head -c 1073741824 /dev/urandom >"$d/src"
port=7400
run() { # label, listener command, client command (both read $port)
    local label=$1 listen=$2 client=$3
    port=$((port + 1))
    /usr/bin/time -f "%U %S" -o "$d/l.time" bash -c "${listen//PORT/$port}" >/dev/null 2>&1 &
    local l=$!
    wait_port_quiet "$port"
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$d/c.time" bash -c "${client//PORT/$port}" <"$d/src" >/dev/null 2>&1
    wait "$l"
    t1=$(date +%s.%N)
    local cpu
    cpu=$(cat "$d/l.time" "$d/c.time" | awk '{u+=$1; s+=$2} END {printf "%.2f", u+s}')
    printf '%-34s %6.2f s wall  %7.0f MiB/s  %5s s CPU (both ends)\n' "$label" \
        "$(echo "$t1 - $t0" | bc -l)" "$(echo "1024 / ($t1 - $t0)" | bc -l)" "$cpu"
}
# Waits for a listener without connecting to it (a probe connection would be its one client).
wait_port_quiet() {
    for _ in $(seq 1 100); do
        ss -ltn "sport = :$1" | grep -q LISTEN && return 0
        sleep 0.05
    done
}
echo "machine: $(nproc) cores, $(uname -r); 1 GiB from a file, listener to /dev/null"
for i in 1 2 3; do
    run "portprobe listen <- connect ($i)" "$PP listen 127.0.0.1:PORT" "$PP connect 127.0.0.1 PORT"
    run "socat -> socat ($i)" "socat -u TCP-LISTEN:PORT,reuseaddr STDOUT" "socat -u STDIN TCP:127.0.0.1:PORT"
    run "ncat -> ncat ($i)" "ncat -l 127.0.0.1 PORT" "ncat --send-only 127.0.0.1 PORT"
done
rm -rf "$d"
