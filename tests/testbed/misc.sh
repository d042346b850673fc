#!/usr/bin/env bash
# The misc test bed: other Debian network daemons (admin consoles, chat, VPN, media, scanning,
# build farms, UPS, databases) on their usual ports on loopback, in a network namespace of their
# own, then runs "$@" there. Needs real root (daemons switch users).
# Usage: unshare -n tests/testbed/misc.sh COMMAND [ARGS...]
#        tests/testbed/misc.sh --fetch   (first, outside the namespace: fetches and unpacks the
#        packages that cannot be installed beside the others: apcupsd conflicts with nut-server)
# The ports and daemons are listed in MISC below (PORT:NAME, NAME = start_NAME).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
. "$here/misc.lib.sh"
need_root
UNPACKED_PACKAGES="apcupsd"
if [ "${1:-}" = --fetch ]; then
    fetch_unpacked
    exit
fi
ns_init
testbed_dir
trap 'ns_cleanup; rm -rf "$TESTBED_DIR"' EXIT

# Daemons with a second port name it after a slash (i2pd's proxy, Syncthing's sync port);
# rspamd also opens 11332 (its milter proxy) and 11334, ejabberd 5269, 5280, 5443 and 1883.
MISC="70:gophernicus 443:ocserv 667:darkstat 1511:uhub 1723:pptpd 3050:firebird 3551:apcupsd
4200:shellinabox 4242:quasselcore 5222:ejabberd 6566:saned 6667:bitlbee 6668:inspircd 6669:znc
7070/4444:i2pd 8200:minidlna 8384/22000:syncthing 8891:opendkim 9090:cockpit_ws 10245:iceccd
10809:nbd_server 11333:rspamd 19150:gkrellmd 19999:netdata 61208:glances"

ports=()
for spec in $MISC; do
    port=${spec%%:*} name=${spec#*:}
    case $port in
    */*) "start_$name" "${port%/*}" "${port#*/}"; ports+=("${port%/*}" "${port#*/}") ;;
    *) "start_$name" "$port"; ports+=("$port") ;;
    esac
done
ports+=(11332 11334 5269)
# Daemons start in parallel; rspamd takes longest (it compiles its URL suffix list).
for port in "${ports[@]}"; do
    wait_port "$port" || wait_port "$port" || wait_port "$port" || wait_port "$port" ||
        wait_port "$port" || wait_port "$port" || wait_port "$port" || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/*.log 2>/dev/null >&2
        exit 99
    }
done
run_command "$@"
