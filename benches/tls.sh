#!/usr/bin/env bash
# TLS detection benchmark on the TLS test bed (tests/testbed/tls.sh), side by side with
# `nmap -sV` on the same ports in the same run. Needs root, the test-bed packages and nmap.
set -euo pipefail
cd "$(dirname "$0")/.."
PORTS=${PORTS:-443,993,995,4443,7443,9443,8443}
if [ "${INSIDE_BENCH_NS:-}" != 1 ]; then
    cargo build --release -q
    exec env INSIDE_BENCH_NS=1 PORTS="$PORTS" unshare -n tests/testbed/tls.sh "$0" "$@"
fi
out=$(mktemp -d)
echo "machine: $(nproc) cores, $(uname -r), nmap $(nmap --version | awk 'NR==1{print $3}'), ports $PORTS"
for i in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$out/pp.time" ./target/release/portprobe scan localhost -4 -p "$PORTS" \
        --ca-file "$TESTBED_CA" >"$out/pp.txt"
    echo "portprobe scan, run $i: $(cut -d' ' -f1 "$out/pp.time") s wall, $(cut -d' ' -f2 "$out/pp.time") KB peak RSS"
done
/usr/bin/time -f "%e %M" -o "$out/nmap.time" nmap -sV -n -p "$PORTS" 127.0.0.1 >"$out/nmap.txt"
echo "nmap -sV: $(cut -d' ' -f1 "$out/nmap.time") s wall, $(cut -d' ' -f2 "$out/nmap.time") KB peak RSS"
echo "--- portprobe"
grep -E '^[0-9]+/tcp|verify:|tls error' "$out/pp.txt"
echo "--- nmap -sV"
grep -E '^[0-9]+/tcp' "$out/nmap.txt"
rm -rf "$out"
