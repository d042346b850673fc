#!/usr/bin/env bash
# The storage test bed: storage, backup, database, cluster and version-control daemons of
# Debian on loopback, in a network namespace of its own, then runs "$@" there. Needs real root.
# Usage: unshare -n tests/testbed/storage.sh COMMAND [ARGS...]
#        tests/testbed/storage.sh --fetch   (first, outside the namespace: fetches and unpacks
#        pgpool2, which cannot be installed beside pcp)
# The ports and daemons are listed in SERVICES below (PORT:NAME, NAME = start_NAME).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
. "$here/storage.lib.sh"
UNPACKED_PACKAGES="pgpool2 libpgpool2"
need_root
if [ "${1:-}" = --fetch ]; then
    fetch_unpacked
    exit
fi
ns_init
testbed_dir
trap 'stop_tgtd; ns_cleanup; rm -rf "$TESTBED_DIR"' EXIT

SERVICES="3301:tarantool 3142:apt_cacher_ng 8080:fossil 8000:hg_serve
4155:brz_serve 9101:bacula_dir 9102:bacula_fd 9103:bacula_sd 24007:glusterd 3260:tgtd
9419:mfsmaster 1094:xrootd 9999:pgpool
3143:apt_cacher 30865:csync2 3300:ceph_mon 464:kadmind"

ports=()
for spec in $SERVICES; do
    port=${spec%%:*} name=${spec#*:}
    ports+=("$port")
    "start_$name" "$port"
done
for port in "${ports[@]}"; do
    wait_port "$port" || wait_port "$port" || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/out >&2 2>/dev/null || true
        exit 99
    }
done
run_command "$@"
