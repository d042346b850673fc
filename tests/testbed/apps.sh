#!/usr/bin/env bash
# The apps test bed: application daemons of Debian (monitoring add-ons, downloaders, media,
# calendars, notebooks, webcams, proxies, backup, IRC, small mail servers) on loopback, in a network namespace
# of their own, then runs "$@" there. Needs real root (daemons switch users).
# Usage: unshare -n tests/testbed/apps.sh COMMAND [ARGS...]
#        tests/testbed/apps.sh --fetch   (first, outside the namespace: fetches and unpacks the
#        packages that cannot be installed beside the others: msmtp-mta would remove postfix,
#        popa3d dovecot-pop3d, ircd-irc2 and ircd-hybrid ngircd and inspircd)
# The TCP ports and daemons are listed in SERVICES below (PORT:NAME, NAME = start_NAME); Avahi
# answers mDNS on UDP 5353, on a D-Bus system bus of the bed's own, and shairport-sync (RTSP on
# 5000) publishes itself through it.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
. "$here/apps.lib.sh"
need_root
UNPACKED_PACKAGES="msmtp-mta popa3d ircd-irc2 ircd-hybrid"
if [ "${1:-}" = --fetch ]; then
    fetch_unpacked
    exit
fi
ns_init
testbed_dir
trap 'ns_cleanup; rm -rf "$TESTBED_DIR"' EXIT

SERVICES="25:msmtpd 110:popa3d 143:mu_imap4d 1110:mu_pop3d 4971:burp 5232:radicale 6667:ircd_irc2
6668:ircd_hybrid 6680:mopidy 6800:aria2
8080:trafficserver 8081:motion 8090:qbittorrent 8112:deluge_web 8888:jupyter 9091:pushgateway 9093:alertmanager
9115:blackbox_exporter 58846:deluged"

start_dbus
start_avahi 5353
start_resolver
ports=()
for spec in $SERVICES; do
    port=${spec%%:*} name=${spec#*:}
    ports+=("$port")
    "start_$name" "$port"
done
# The Python daemons (Jupyter, Deluge, Mopidy) take a few seconds to import.
for port in "${ports[@]}"; do
    wait_port "$port" || wait_port "$port" || wait_port "$port" || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/out 2>/dev/null >&2
        exit 99
    }
done
# Avahi answers on UDP 5353 and on the bus once its start-up is complete, as its log says.
for i in $(seq 1 100); do
    grep -q "Server startup complete" "$TESTBED_DIR"/avahi-5353/log && break
    [ "$i" = 100 ] && { echo "testbed: avahi-daemon did not start in 5 s" >&2; tail -n 20 "$TESTBED_DIR"/avahi-*/log >&2; exit 99; }
    sleep 0.05
done
# shairport-sync publishes itself through Avahi, which must be up first.
start_shairport 5000
wait_port 5000 || { tail -n 20 "$TESTBED_DIR"/shairport-*/log >&2; exit 99; }
run_command "$@"
