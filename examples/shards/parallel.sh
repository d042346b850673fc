#!/usr/bin/env bash
# A sharded scan with GNU parallel: N shards of one scan, each a portprobe process with
# --shard I/N, on this machine or on several (SSHLOGIN, parallel's --sshlogin).
#
# Usage: examples/shards/parallel.sh N OUTDIR SCAN-ARGS...
#   e.g. examples/shards/parallel.sh 8 results 10.0.0.0/16 -p 1-1024 --randomize --seed 42
#
# Here: every shard writes OUTDIR/shard-I-of-N.jsonl with --resume, so running the same line
# again after a crash, a reboot or Ctrl-C continues every shard where it stopped (no pair twice,
# none lost). With SSHLOGIN=host1,host2 (or 4/host1,8/host2: jobs per host) the shards run on
# those machines (portprobe on their PATH) and their JSON Lines come back over ssh into the same
# files; a failed remote shard is run again whole (its file is overwritten).
# Then OUTDIR/all.jsonl is every shard's records concatenated: the same ports as one process.
# Environment: PORTPROBE (the binary, default portprobe), JOBS (shards at once, default N).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 N OUTDIR SCAN-ARGS..." >&2
    exit 2
fi
n=$1 out=$2
shift 2
portprobe=${PORTPROBE:-portprobe}
mkdir -p "$out"
status=0
if [ -n "${SSHLOGIN:-}" ]; then
    # -q: the scan arguments are passed as they are, not re-split by a remote shell.
    parallel -q --sshlogin "$SSHLOGIN" --results "$out/shard-{}-of-$n.jsonl" \
        "$portprobe" scan --json --shard "{}/$n" "$@" ::: $(seq 1 "$n") >/dev/null || status=$?
else
    # The shards' tables (stdout) are dropped: the files hold every port.
    parallel -q -j "${JOBS:-$n}" \
        "$portprobe" scan --resume "$out/shard-{}-of-$n.jsonl" --shard "{}/$n" "$@" ::: $(seq 1 "$n") >/dev/null || status=$?
fi
# Merging JSON Lines is concatenation.
for i in $(seq 1 "$n"); do cat "$out/shard-$i-of-$n.jsonl"; done >"$out/all.jsonl"
exit "$status"
