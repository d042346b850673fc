#!/usr/bin/env bash
# Connect-scan benchmark, side by side with nmap, inside a network namespace of its own.
#   benches/scan.sh            full 65,535-port scan (3 runs each) and 1,000 stealth ports
#   benches/scan.sh --slow     also times `nmap -sT -T4` on the 1,000 stealth ports (~100 s)
# Needs: nmap, socat, nftables, GNU time (apt-get install -y nmap socat nftables time).
# Touches only the namespace's loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INSIDE_BENCH_NS:-}" != 1 ]; then
    cargo build --release -q
    exec env INSIDE_BENCH_NS=1 unshare -rn "$0" "$@"
fi
. tests/testbed/lib.sh
ns_init
PP=./target/release/portprobe
LISTEN=48213   # inside the ephemeral range on purpose: self-connects must not show up

measure() { # label, command... -> "label: wall s, peak RSS KB"
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o /tmp/bench.$$ "$@" >/tmp/bench.out.$$ 2>/dev/null || true
    read -r wall rss </tmp/bench.$$
    printf '%-44s %6.2f s  %7.1f MB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), nmap $(nmap --version | awk 'NR==1{print $3}')"
echo "== full connect scan of 127.0.0.1, 65,535 ports, one listener on $LISTEN"
start_listener "$LISTEN"
for i in 1 2 3; do
    measure "portprobe scan -z -p - (run $i)" "$PP" scan 127.0.0.1 -z -p - --json --open
    open=$(cat /tmp/bench.out.$$ | tr '\n' ' ')
    [ "$(grep -c . /tmp/bench.out.$$)" = 1 ] && grep -q "\"port\":$LISTEN,.*\"open\"" /tmp/bench.out.$$ \
        || { echo "WRONG RESULT: $open"; exit 1; }
done
echo "   result: exactly one open port ($LISTEN), as expected"
for i in 1 2 3 4 5; do
    measure "nmap -sT -T4 -p- (run $i)" nmap -sT -T4 -p- -n 127.0.0.1
done
echo "   nmap open ports: $(grep -E '^[0-9]+/tcp +open' /tmp/bench.out.$$ | cut -d/ -f1 | tr '\n' ' ')"

echo "== 1,000 stealth (dropped) ports, --timeout 1s --retries 1"
nft -f - <<'NFT'
table inet bench {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 20001-21000 drop
    }
}
NFT
measure "portprobe scan -z (1,000 dropped)" "$PP" scan 127.0.0.1 -z -p 20001-21000 --timeout 1s --retries 1 --json
filtered=$(grep -c '"state":"filtered","reason":"no-response"' /tmp/bench.out.$$ || true)
echo "   result: $filtered of 1000 filtered/no-response"
[ "$filtered" = 1000 ] || { echo "WRONG RESULT"; exit 1; }
if [ "${1:-}" = --slow ]; then
    measure "nmap -sT -T4 (1,000 dropped)" nmap -sT -T4 -n -p 20001-21000 127.0.0.1
    echo "   nmap filtered: $(grep -oE '[0-9]+ filtered' /tmp/bench.out.$$ || grep -c filtered /tmp/bench.out.$$)"
fi
rm -f /tmp/bench.$$ /tmp/bench.out.$$
