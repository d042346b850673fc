#!/usr/bin/env bash
# The services test bed: more real Debian daemons on their usual ports on loopback, in a
# network namespace of its own, then runs "$@" there. Needs real root (daemons switch users).
# Usage: unshare -n tests/testbed/services.sh COMMAND [ARGS...]
#        tests/testbed/services.sh --fetch   (first, outside the namespace: fetches and unpacks
#        the packages that cannot be installed beside the others, see services.lib.sh)
# The ports and daemons are listed in SERVICES below (PORT:NAME, NAME = start_NAME).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
need_root
if [ "${1:-}" = --fetch ]; then
    fetch_unpacked
    exit
fi
ns_init
testbed_dir
trap 'ns_cleanup; rm -rf "$TESTBED_DIR" /dev/shm/portprobe$$-*' EXIT

SERVICES="21:proftpd 80:apache 111:rpcbind 79:fingerd 113:oidentd 631:cupsd 783:spamd 873:rsyncd
1080:danted 1194:openvpn 1883:mosquitto 2401:cvs_pserver 2812:monit 2947:gpsd 3128:squid
3310:clamd 3493:upsd 3632:distccd 3690:svnserve 4190:managesieve 4369:epmd 4949:munin_node
5060:kamailio 5201:iperf3 5222:prosody 5666:nrpe 6081:varnish 6600:mpd 6667:ngircd
8000:icecast 8080:lighttpd 8404:haproxy 8888:tinyproxy 9001:supervisord 9050:tor
9090:prometheus 9100:node_exporter
9418:git_daemon 10023:postgrey 10050:zabbix_agent 26379:redis_sentinel 64738:murmurd"

make_certs "$TESTBED_DIR/certs" # OpenVPN's
ports=()
for spec in $SERVICES; do
    port=${spec%%:*} name=${spec#*:}
    ports+=("$port")
    case $name in
    rpcbind) start_rpcbind ;;
    openvpn) start_openvpn "$port" "$TESTBED_DIR/certs" ;;
    varnish) start_varnish "$port" 8080 ;;
    *) "start_$name" "$port" ;;
    esac
done
# Daemons start in parallel; spamd and clamd take longest (they load their rules).
for port in "${ports[@]}"; do
    wait_port "$port" || wait_port "$port" || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/*.log 2>/dev/null >&2
        exit 99
    }
done
run_command "$@"
