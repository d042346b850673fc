#!/usr/bin/env bash
# The field test bed: radio, media and field-bus daemons (VLC's remote interfaces, Hamlib's rig
# and rotator daemons, OWFS, Argus, Liquidsoap, Dire Wolf, PulseAudio, a Buildbot master,
# knxd, Graphite carbon) on loopback, in a network namespace of their own, then runs "$@" there. Needs real root
# (argus captures on loopback; VLC and PulseAudio are started as nobody, since they refuse to
# run as root).
# Usage: unshare -n tests/testbed/field.sh COMMAND [ARGS...]
# The ports and daemons are listed in FIELD_TCP below (PORT:NAME, NAME = start_NAME; further
# ports follow after slashes).
# Left out: VLC's old rc interface (it serves one client at a time, so detection's parallel
# probes never reach it), owftpd (it aborts on a client that connects and closes), rtl_tcp
# (no device), dump1090's ports (silent without a receiver), knxd's KNXnet/IP server (its
# router set-up fails with the dummy bus).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
. "$here/field.lib.sh"
need_root
ns_init
testbed_dir
trap 'ns_cleanup; rm -rf "$TESTBED_DIR"' EXIT

FIELD_TCP="4212/8080:vlc 4532:rigctld 4533:rotctld 4304/2121:owfs 561:argus
1234:liquidsoap 8000/8001:direwolf 4713:pulseaudio 9989:buildbot 6720:knxd
2003/2004/7002:carbon_cache"

tcp_ports=()
for spec in $FIELD_TCP; do
    ports=${spec%%:*} name=${spec#*:}
    IFS=/ read -r -a list <<<"$ports"
    "start_$name" "${list[@]}"
    tcp_ports+=("${list[@]}")
done

# Daemons start in parallel; Liquidsoap and VLC load their plugins first.
for port in "${tcp_ports[@]}"; do
    wait_port "$port" || wait_port "$port" || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/*.log 2>/dev/null >&2
        exit 99
    }
done
run_command "$@"
