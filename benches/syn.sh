#!/usr/bin/env bash
# SYN-scan benchmark, side by side with `nmap -sS` and portprobe's own connect scan, inside a
# network namespace of its own (which grants CAP_NET_RAW there):
#   1. all 65,535 ports of 127.0.0.1, one listener;
#   2. a /16 (10.77.0.0/16, made local to the namespace's loopback, so no packet leaves it)
#      x one port, one host listening.
# Needs: nmap, socat, GNU time, bc. Touches only the namespace's loopback. NMAP=0 skips nmap's
# /20 run at the end (about three minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INSIDE_BENCH_NS:-}" != 1 ]; then
    cargo build --release -q
    exec env INSIDE_BENCH_NS=1 unshare -rn "$0" "$@"
fi
. tests/testbed/lib.sh
ns_init
PP=./target/release/portprobe
LISTEN=48213
RUNS=${RUNS:-3}
OUT=$(mktemp); TIMES=$(mktemp)

measure() { # label, command... -> "label: wall s, CPU (user + system) s, peak RSS MB"
    local label=$1; shift
    /usr/bin/time -f "%e %M %U %S" -o "$TIMES" "$@" >"$OUT" 2>/dev/null || true
    read -r wall rss user sys <"$TIMES"
    printf '%-48s %6.2f s  cpu %5.2f s  %7.1f MB\n' "$label" "$wall" "$(echo "$user + $sys" | bc -l)" \
        "$(echo "$rss / 1024" | bc -l)"
}
check_one_open() { # port-or-ip pattern: exactly one port record, and it is that one
    [ "$(grep -c '"type":"port"' "$OUT")" = 1 ] && grep '"type":"port"' "$OUT" | grep -q "$1" ||
        { echo "WRONG RESULT: $(head -c 400 "$OUT")"; exit 1; }
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), nmap $(nmap --version | awk 'NR==1{print $3}')"
echo "== 127.0.0.1, all 65,535 ports, one listener on $LISTEN"
start_listener "$LISTEN"
for i in $(seq "$RUNS"); do
    measure "portprobe scan --syn -z -p - (run $i)" "$PP" scan 127.0.0.1 --syn -z -p - --json --open
    check_one_open "\"port\":$LISTEN,.*\"open\""
done
for i in $(seq "$RUNS"); do
    measure "portprobe scan -z -p - (connect, run $i)" "$PP" scan 127.0.0.1 -z -p - --json --open
    check_one_open "\"port\":$LISTEN,.*\"open\""
done
for i in $(seq "$RUNS"); do
    measure "nmap -sS -T4 -p- (run $i)" nmap -sS -T4 -p- -n -Pn 127.0.0.1
done
echo "   nmap open ports: $(grep -E '^[0-9]+/tcp +open' "$OUT" | cut -d/ -f1 | tr '\n' ' ')"

LISTEN16=48214   # not the first listener's port: that one listens on every address
echo "== 10.77.0.0/16 x port $LISTEN16 (65,536 hosts local to the namespace), 10.77.3.7 listening"
ip route add local 10.77.0.0/16 dev lo
socat -u "TCP-LISTEN:$LISTEN16,bind=10.77.3.7,reuseaddr,fork" OPEN:/dev/null </dev/null >/dev/null 2>&1 &
sleep 0.3
# Interleaved, so a change in the machine's load hits both alike.
for i in $(seq "$RUNS"); do
    measure "portprobe scan --syn -z /16 (run $i)" "$PP" scan 10.77.0.0/16 -p "$LISTEN16" --syn -z --json --open
    check_one_open '"ip":"10.77.3.7".*"open"'
    measure "portprobe scan -z /16 (connect, run $i)" "$PP" scan 10.77.0.0/16 -p "$LISTEN16" -z --json --open
    check_one_open '"ip":"10.77.3.7".*"open"'
done
[ "${NMAP:-1}" = 0 ] && { rm -f "$OUT" "$TIMES"; exit 0; }
# nmap -sS spends ~40 ms per host here: a /16 ran over 18 minutes (stopped), so it is timed on
# a /20 (4,096 hosts) by default; NMAP16=1 times the whole /16.
if [ "${NMAP16:-}" = 1 ]; then
    measure "nmap -sS -T4 -Pn /16" nmap -sS -T4 -n -Pn -p "$LISTEN16" --open 10.77.0.0/16
else
    measure "nmap -sS -T4 -Pn /20 (4,096 hosts)" nmap -sS -T4 -n -Pn -p "$LISTEN16" --open 10.77.0.0/20
    measure "portprobe scan --syn -z /20 (4,096 hosts)" "$PP" scan 10.77.0.0/20 -p "$LISTEN16" --syn -z --json --open
fi
echo "   last: $(grep -E 'Nmap done|open' "$OUT" | tr '\n' ' ' | head -c 300)"
rm -f "$OUT" "$TIMES"
