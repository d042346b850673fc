#!/usr/bin/env bash
# UDP scan and identification benchmark on the UDP test bed (tests/testbed/udp.sh), side by
# side with `nmap -sU -sV` on the same ports. Each run gets a fresh bed (OpenVPN's p2p server
# answers only its first peer). Needs root, the UDP test-bed packages (scripts/test), nmap and
# time. Touches only the namespace's loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
PORTS=${PORTS:-7,9,13,19,37,53,69,123,161,1194,3478,5060,7777,7778,11211}
cargo build --release -q
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, $(uname -r), nmap $(nmap --version | awk 'NR==1{print $3}'), UDP ports $PORTS"
for i in 1 2 3; do
    unshare -n tests/testbed/udp.sh /usr/bin/time -f "%e %M" -o "$out/pp.time" \
        ./target/release/portprobe scan -u 127.0.0.1 -p "$PORTS" >"$out/pp.txt"
    echo "portprobe scan -u (detection on), run $i: $(cut -d' ' -f1 "$out/pp.time") s wall, $(cut -d' ' -f2 "$out/pp.time") KB peak RSS"
done
unshare -n tests/testbed/udp.sh /usr/bin/time -f "%e %M" -o "$out/nmap.time" \
    nmap -sU -sV -n -p "$PORTS" 127.0.0.1 >"$out/nmap.txt"
echo "nmap -sU -sV: $(cut -d' ' -f1 "$out/nmap.time") s wall, $(cut -d' ' -f2 "$out/nmap.time") KB peak RSS"
echo "--- portprobe"
grep -E '^[0-9]+/udp' "$out/pp.txt"
echo "--- nmap -sU -sV"
grep -E '^[0-9]+/udp' "$out/nmap.txt"
