#!/usr/bin/env bash
# The enterprise test bed: real Debian daemons of Windows-style and name services, each on
# loopback port of its own address in a network (and mount) namespace of its own, then runs
# "$@" there. Needs real root and a private mount namespace (xrdp keeps its pid file in
# /run/xrdp, which gets a tmpfs of its own here).
# Usage: unshare -nm tests/testbed/enterprise.sh COMMAND [ARGS...]
#   127.0.0.1:3389 xrdp, 127.0.0.1:88 MIT krb5kdc (realm TESTBED.EXAMPLE),
#   127.0.0.1:135 samba-dcerpcd (endpoint mapper),
#   port 53 on 127.0.0.2 BIND, .3 Unbound, .4 NSD, .5 Knot DNS, .6 PowerDNS Authoritative,
#   .7 dnsmasq, .8 BIND with its version hidden (version none), .9 Unbound with hide-version
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
need_root
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
    echo "testbed: enterprise.sh needs a mount namespace of its own (unshare -nm)" >&2
    exit 97
fi
ns_init
testbed_dir
# BIND listens only on addresses interfaces have: give loopback the name servers' addresses.
for n in 2 3 4 5 6 7 8 9; do ip addr add "127.0.0.$n/32" dev lo; done

# xrdp on 127.0.0.1:PORT with the snakeoil certificate; its pid file directory is a tmpfs.
start_xrdp() {
    local port=$1 d="$TESTBED_DIR/xrdp"
    mkdir -p "$d" /run/xrdp
    mount -t tmpfs tmpfs /run/xrdp
    sed -e "s|^port=.*|port=tcp://127.0.0.1:$port|" \
        -e "s|^LogFile=.*|LogFile=$d/xrdp.log|" \
        -e "s|^EnableSyslog=.*|EnableSyslog=false|" \
        /etc/xrdp/xrdp.ini >"$d/xrdp.ini"
    setsid /usr/sbin/xrdp --nodaemon --config "$d/xrdp.ini" >"$d/log" 2>&1 &
}

# MIT krb5kdc on 127.0.0.1:PORT for a new realm TESTBED.EXAMPLE (database in $TESTBED_DIR).
start_krb5kdc() {
    local port=$1 d="$TESTBED_DIR/krb5kdc"
    mkdir -p "$d"
    cat >"$d/krb5.conf" <<CONF
[libdefaults]
 default_realm = TESTBED.EXAMPLE
[realms]
 TESTBED.EXAMPLE = {
  kdc = 127.0.0.1:$port
 }
CONF
    cat >"$d/kdc.conf" <<CONF
[kdcdefaults]
 kdc_listen = 127.0.0.1:$port
 kdc_tcp_listen = 127.0.0.1:$port
[realms]
 TESTBED.EXAMPLE = {
  database_name = $d/principal
  key_stash_file = $d/stash
  acl_file = $d/kadm5.acl
 }
[logging]
 kdc = FILE:$d/kdc.log
CONF
    KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf" \
        kdb5_util create -s -r TESTBED.EXAMPLE -P testbed-master >"$d/kdb5_util.log" 2>&1
    KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf" \
        setsid krb5kdc -n >"$d/log" 2>&1 &
}

# BIND's named on ADDR:53; extra lines go into its options block.
start_named() {
    local addr=$1; shift
    local d="$TESTBED_DIR/named-$addr"
    mkdir -p "$d"
    chown bind "$d"
    cat >"$d/named.conf" <<CONF
options {
    directory "$d";
    pid-file "$d/named.pid";
    session-keyfile "$d/session.key";
    listen-on port 53 { $addr; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    $(printf '%s\n' "$@")
};
controls { };
CONF
    setsid named -g -u bind -c "$d/named.conf" >"$d/log" 2>&1 &
}

# Unbound on ADDR:53; extra lines go into its server clause.
start_unbound() {
    local addr=$1; shift
    local d="$TESTBED_DIR/unbound-$addr"
    mkdir -p "$d"
    cat >"$d/unbound.conf" <<CONF
server:
    interface: $addr
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    use-syslog: no
    do-ip6: no
    $(printf '%s\n' "$@")
remote-control:
    control-enable: no
CONF
    setsid unbound -d -c "$d/unbound.conf" >"$d/log" 2>&1 &
}

# NSD on ADDR:53 with no zones.
start_nsd() {
    local addr=$1 d="$TESTBED_DIR/nsd-$1"
    mkdir -p "$d"
    cat >"$d/nsd.conf" <<CONF
server:
    ip-address: $addr
    port: 53
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    zonelistfile: "$d/zone.list"
    logfile: "$d/nsd.log"
    do-ip6: no
remote-control:
    control-enable: no
CONF
    setsid nsd -d -c "$d/nsd.conf" >"$d/log" 2>&1 &
}

# Knot DNS on ADDR:53 with no zones.
start_knot() {
    local addr=$1 d="$TESTBED_DIR/knot-$1"
    mkdir -p "$d/db"
    cat >"$d/knot.conf" <<CONF
server:
    rundir: "$d"
    listen: $addr@53
log:
  - target: stderr
    any: info
database:
    storage: "$d/db"
CONF
    setsid knotd -c "$d/knot.conf" >"$d/log" 2>&1 &
}

# PowerDNS Authoritative Server on ADDR:53 with an empty bind backend.
start_pdns() {
    local addr=$1 d="$TESTBED_DIR/pdns-$1"
    mkdir -p "$d"
    : >"$d/named.conf"
    cat >"$d/pdns.conf" <<CONF
launch=bind
bind-config=$d/named.conf
local-address=$addr
local-port=53
socket-dir=$d
guardian=no
daemon=no
write-pid=no
CONF
    setsid pdns_server --config-dir="$d" >"$d/log" 2>&1 &
}

# dnsmasq on ADDR:53, no upstream, no hosts file.
start_dnsmasq() {
    local addr=$1 d="$TESTBED_DIR/dnsmasq-$1"
    mkdir -p "$d"
    setsid dnsmasq -k --conf-file=/dev/null --listen-address="$addr" --bind-interfaces --port=53 \
        --no-resolv --no-hosts --pid-file="$d/pid" --log-facility=- >"$d/log" 2>&1 &
}

# Samba's samba-dcerpcd with its RPC services started at once (not on demand from smbd): the
# endpoint mapper on 127.0.0.1:135, the services on ports from 49152.
start_dcerpcd() {
    local d="$TESTBED_DIR/dcerpcd"
    mkdir -p "$d"/{lock,state,cache,private,ncalrpc,run}
    cat >"$d/smb.conf" <<CONF
[global]
workgroup = TESTBED
netbios name = RPCSRV
server role = standalone server
interfaces = 127.0.0.1
bind interfaces only = yes
disable netbios = yes
rpc start on demand helpers = no
pid directory = $d/run
lock directory = $d/lock
state directory = $d/state
cache directory = $d/cache
private dir = $d/private
ncalrpc dir = $d/ncalrpc
log file = $d/log.%m
CONF
    setsid /usr/libexec/samba/samba-dcerpcd --foreground --libexec-rpcds -s "$d/smb.conf" \
        --debug-stdout -d 1 >"$d/log" 2>&1 &
}

start_xrdp 3389
start_dcerpcd
start_krb5kdc 88
start_named 127.0.0.2
start_unbound 127.0.0.3
start_nsd 127.0.0.4
start_knot 127.0.0.5
start_pdns 127.0.0.6
start_dnsmasq 127.0.0.7
start_named 127.0.0.8 'version none;'
start_unbound 127.0.0.9 'hide-version: yes'

wait_addr() {
    local addr=$1 port=$2 i
    for i in $(seq 1 200); do
        (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "testbed: nothing listens on $addr:$port after 10 s" >&2
    tail -n 20 "$TESTBED_DIR"/*/log >&2 2>/dev/null || true
    return 1
}
for a in 127.0.0.1:3389 127.0.0.1:88 127.0.0.1:135 127.0.0.2:53 127.0.0.3:53 127.0.0.4:53 127.0.0.5:53 \
    127.0.0.6:53 127.0.0.7:53 127.0.0.8:53 127.0.0.9:53; do
    wait_addr "${a%:*}" "${a#*:}" || exit 99
done
run_command "$@"
