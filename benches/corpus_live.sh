#!/usr/bin/env bash
# Real-world responses served live, scanned by portprobe and nmap -sV side by side (see
# benches/corpus_live.py). Everything happens on the loopback of a network namespace of its own.
# Usage: benches/corpus_live.sh [--no-nmap] [-v]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec unshare -rn bash -c 'ip link set lo up && python3 benches/corpus_live.py target/release/portprobe "$@"' _ "$@"
