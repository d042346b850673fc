#!/usr/bin/env bash
# The binary-protocol test bed: real Debian daemons that answer only when spoken to, on
# loopback in a network namespace of its own, then runs "$@" there. Needs real root.
# Usage: unshare -n tests/testbed/directory.sh COMMAND [ARGS...]
#   smb 445 (samba smbd, netbios name FILESRV), ldap 389 (slapd), X11 6005 (Xvfb :5),
#   vnc 5900 (x11vnc on :5)
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
need_root
ns_init
testbed_dir
start_smbd 445
start_slapd 389
start_xvfb 5
wait_port 6005 || { cat "$TESTBED_DIR"/xvfb-5.log >&2; exit 99; }
start_x11vnc 5 5900
for port in 445 389 5900; do
    wait_port "$port" || { tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*.log 2>/dev/null >&2; exit 99; }
done
run_command "$@"
