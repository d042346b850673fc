#!/usr/bin/env bash
# Service detection benchmark on the daemon test bed (tests/testbed/daemons.sh), side by side
# with `nmap -sV` on the same ports in the same run. Needs root and the test-bed packages plus
# nmap (apt-get install -y nmap time). Touches only the namespace's loopback.
# BED=services.sh runs it on the services test bed (tests/testbed/services.sh, 40 daemons) instead;
# BED=mailweb.sh, BED=storage.sh or BED=apps.sh on those beds (run the bed with --fetch once first).
set -euo pipefail
cd "$(dirname "$0")/.."
BED=${BED:-daemons.sh}
if [ "$BED" != daemons.sh ]; then
    # Every port of the bed's SERVICES list (services.sh, mailweb.sh, storage.sh).
    default=$(sed -n '/^SERVICES="/,/"$/p' "tests/testbed/$BED" | tr -d '"' | sed 's/SERVICES=//' |
        tr ' ' '\n' | grep . | cut -d: -f1 | sort -n | paste -sd,)
else
    default=21,22,25,80,110,143,3306,5432,6379,11211
fi
PORTS=${PORTS:-$default}
if [ "${INSIDE_BENCH_NS:-}" != 1 ]; then
    cargo build --release -q
    exec env INSIDE_BENCH_NS=1 PORTS="$PORTS" unshare -n "tests/testbed/$BED" "$0" "$@"
fi
out=$(mktemp -d)
echo "machine: $(nproc) cores, $(uname -r), nmap $(nmap --version | awk 'NR==1{print $3}'), ports $PORTS"
for i in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$out/pp.time" ./target/release/portprobe scan 127.0.0.1 -p "$PORTS" >"$out/pp.txt"
    echo "portprobe scan (detection on), run $i: $(cut -d' ' -f1 "$out/pp.time") s wall, $(cut -d' ' -f2 "$out/pp.time") KB peak RSS"
done
/usr/bin/time -f "%e %M" -o "$out/nmap.time" nmap -sV -n -p "$PORTS" 127.0.0.1 >"$out/nmap.txt"
echo "nmap -sV: $(cut -d' ' -f1 "$out/nmap.time") s wall, $(cut -d' ' -f2 "$out/nmap.time") KB peak RSS"
echo "--- portprobe"
grep -E '^[0-9]+/tcp' "$out/pp.txt"
echo "--- nmap -sV"
grep -E '^[0-9]+/tcp' "$out/nmap.txt"
rm -rf "$out"
