#!/usr/bin/env bash
# The netops test bed: network-operations daemons (routing suites, console and serial servers, a
# BMC simulator, container engine and registry, VNC, SSH, VPN and AAA servers, DNS front ends,
# network controllers, monitoring) on loopback, in a network namespace of their own, then runs
# "$@" there. Needs real root (daemons switch users, charon and chronyd bind privileged ports).
# Usage: unshare -n tests/testbed/netops.sh COMMAND [ARGS...]
#        tests/testbed/netops.sh --fetch   (first, outside the namespace: fetches and unpacks the
#        packages that cannot be installed beside the others: chrony removes systemd-timesyncd)
# The ports and daemons are listed in NETOPS_TCP and NETOPS_UDP below (PORT:NAME, NAME =
# start_NAME; a second or third port follows after a slash).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
. "$here/netops.lib.sh"
need_root
UNPACKED_PACKAGES="chrony"
if [ "${1:-}" = --fetch ]; then
    fetch_unpacked
    exit
fi
ns_init
testbed_dir
trap 'ns_cleanup; rm -rf "$TESTBED_DIR"' EXIT

# FRR also opens BGP on 179, GoBGP BGP on 1790, dnsdist DNS on UDP 53 too, the recursor on UDP
# 1053 too, chronyd its command port on UDP 323.
NETOPS_TCP="2601/2605:frr 515:lpd 782:conserver 2000/2001:ser2net 2222:tinysshd 2375:dockerd
5000:docker_registry 5901:tightvnc 6640:ovsdb_server 8000:kea_ctrl_agent 10051:zabbix_proxy
53/5199:dnsdist 1053:pdns_recursor 50051/1790:gobgpd 8649:gmond"
NETOPS_UDP="623:ipmi_sim 1812:freeradius 500:charon 1701:xl2tpd 123:chronyd"

tcp_ports=(179)
for spec in $NETOPS_TCP; do
    port=${spec%%:*} name=${spec#*:}
    case $port in
    */*) "start_$name" "${port%/*}" "${port#*/}"; tcp_ports+=("${port%/*}" "${port#*/}") ;;
    *) "start_$name" "$port"; tcp_ports+=("$port") ;;
    esac
done
udp_ports=(53 1053 323)
for spec in $NETOPS_UDP; do
    port=${spec%%:*} name=${spec#*:}
    "start_$name" "$port"
    udp_ports+=("$port")
done

# Waits until something is bound to UDP PORT (at most ~5 s).
wait_udp() {
    local port=$1 i
    for i in $(seq 1 100); do
        ss -Hlnu "sport = :$port" | grep -q . && return 0
        sleep 0.05
    done
    echo "testbed: nothing is bound to UDP port $port after 5 s" >&2
    return 1
}

# Daemons start in parallel; dockerd (its containerd first) and FreeRADIUS take longest.
for port in "${tcp_ports[@]}"; do
    wait_port "$port" || wait_port "$port" || wait_port "$port" || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/*.log 2>/dev/null >&2
        exit 99
    }
done
for port in "${udp_ports[@]}"; do
    wait_udp "$port" || wait_udp "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/*.log 2>/dev/null >&2
        exit 99
    }
done
run_command "$@"
