#!/usr/bin/env bash
# The UDP test bed: real Debian daemons on their usual UDP ports on loopback, in a network
# namespace of its own, then runs "$@" there. Needs real root (the daemons switch users).
# Usage: unshare -n tests/testbed/udp.sh COMMAND [ARGS...]
#   dns 53 (unbound; BIND 9 on 127.0.0.2, dnsmasq on 127.0.0.3), ntp 123 (ntpsec), snmp 161 (snmpd),
#   tftp 69 (tftpd-hpa), stun 3478 (coturn), sip 5060 (kamailio), openvpn 1194, memcached 11211,
#   echo 7, daytime 13, chargen 19, time 37 (inetutils-inetd), netbios-ns 137 (nmbd),
#   ssdp 1900 on 10.99.0.1 (miniupnpd: it listens on the veth pp0 only, not on loopback);
#   9 closed, 7777 dropped (open|filtered), 7778 rejected with ICMP admin-prohibited (filtered).
# ntpsec would replace systemd-timesyncd, so it is unpacked from its .deb, not installed.
# Samba's nmbd refuses to run without a broadcast interface: a veth pair inside the namespace
# gives it one (10.99.0.1/24; nothing is connected to it, no packet leaves the namespace).
# miniupnpd serves SSDP on that interface (pp0) and takes the peer end (pp1, 10.99.1.1/24) as its
# "external" interface; its nftables rules live in this namespace and go with it.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
need_root
ns_init
testbed_dir
# Loopback is exempt from Linux's ICMP rate limit; this namespace's own limit is switched off too,
# so a kernel without the exemption cannot turn the closed port silent (the bed only: portprobe
# itself never relies on it).
sysctl -qw net.ipv4.icmp_ratelimit=0 2>/dev/null || true

nft -f - <<'NFT'
table inet portprobe_udp {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport 7777 drop
        udp dport 7778 reject with icmpx type admin-prohibited
    }
}
NFT

d=$TESTBED_DIR

# unbound 53: version.bind answers with its version (hide-version: no is the default).
mkdir -p "$d/unbound"
cat >"$d/unbound/unbound.conf" <<CONF
server:
    interface: 127.0.0.1
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$d/unbound"
    pidfile: "$d/unbound/pid"
    use-syslog: no
    logfile: ""
    access-control: 127.0.0.0/8 allow
    do-ip6: no
CONF
unbound -d -c "$d/unbound/unbound.conf" >"$d/unbound/log" 2>&1 &

# BIND 9 on 127.0.0.2:53 and dnsmasq on 127.0.0.3:53 (authoritative only, no recursion).
mkdir -p "$d/bind"
ip addr add 127.0.0.2/8 dev lo # named listens only on addresses an interface has
cat >"$d/bind/named.conf" <<CONF
options {
    directory "$d/bind";
    pid-file "$d/bind/pid";
    listen-on port 53 { 127.0.0.2; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
};
CONF
named -g -c "$d/bind/named.conf" >"$d/bind/log" 2>&1 &
dnsmasq -k --conf-file=/dev/null --listen-address=127.0.0.3 --bind-interfaces --port=53 \
    --no-resolv --no-hosts --pid-file="$d/dnsmasq.pid" --user=root >"$d/dnsmasq.log" 2>&1 &

# ntpsec 123: no upstream (stratum 16), mode 6 queries allowed from loopback.
ntpd=/usr/sbin/ntpd
if [ ! -x "$ntpd" ] || ! "$ntpd" --version 2>&1 | grep -q ntpsec; then
    ntpd=/var/cache/portprobe-debs/ntpsec/usr/sbin/ntpd
fi
mkdir -p "$d/ntp"
cat >"$d/ntp/ntp.conf" <<CONF
driftfile $d/ntp/drift
interface ignore all
interface listen 127.0.0.1
restrict default kod nomodify nopeer limited
restrict 127.0.0.1
CONF
"$ntpd" -n -c "$d/ntp/ntp.conf" -p "$d/ntp/pid" >"$d/ntp/log" 2>&1 &

# snmpd 161: communities public and s3cret-bed, read-only, from loopback.
mkdir -p "$d/snmpd"
cat >"$d/snmpd/snmpd.conf" <<CONF
agentaddress udp:127.0.0.1:161
rocommunity public 127.0.0.1
rocommunity s3cret-bed 127.0.0.1
sysLocation portprobe test bed
sysContact nobody@testbed.example
CONF
snmpd -f -Lo -C -c "$d/snmpd/snmpd.conf" -p "$d/snmpd/pid" >"$d/snmpd/log" 2>&1 &

# tftpd-hpa 69: an empty directory (a read request gets "File not found"); all addresses of the
# namespace (only loopback), as its resolver refuses 127.0.0.1 without another interface.
mkdir -p "$d/tftp"
in.tftpd -4 -L -a :69 -s "$d/tftp" >"$d/tftp.log" 2>&1 &

# coturn 3478: plain STUN/TURN on UDP.
mkdir -p "$d/coturn"
turnserver -n --listening-ip=127.0.0.1 --listening-port=3478 --no-tls --no-dtls --no-tcp \
    --no-cli --log-file=stdout --pidfile="$d/coturn/pid" --realm=testbed.example \
    >"$d/coturn/log" 2>&1 &

# kamailio 5060: OPTIONS answered 200 OK (with its Server header), the rest 501.
mkdir -p "$d/kamailio"
cat >"$d/kamailio/kamailio.cfg" <<'CONF'
#!KAMAILIO
debug=1
log_stderror=yes
children=1
listen=udp:127.0.0.1:5060
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "sl.so"
request_route {
    if (method == "OPTIONS") {
        sl_send_reply("200", "OK");
        exit;
    }
    sl_send_reply("501", "Not Implemented");
}
CONF
kamailio -DD -E -f "$d/kamailio/kamailio.cfg" -P "$d/kamailio/pid" -Y "$d/kamailio" \
    >"$d/kamailio/log" 2>&1 &

# openvpn 1194: TLS server without tls-auth (answers a client hard reset), no tunnel device.
mkdir -p "$d/openvpn"
(
    cd "$d/openvpn"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bed-ca \
        -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bed -keyout server.key \
        -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out server.crt 2>/dev/null
)
openvpn --dev null --tls-server --proto udp4 --local 127.0.0.1 --lport 1194 \
    --ca "$d/openvpn/ca.crt" --cert "$d/openvpn/server.crt" --key "$d/openvpn/server.key" --dh none \
    --verb 1 >"$d/openvpn/log" 2>&1 &

# memcached 11211 with UDP on.
memcached -u memcache -l 127.0.0.1 -p 11211 -U 11211 >"$d/memcached.log" 2>&1 &

# nmbd 137 (NetBIOS name service): node status names the host and its workgroup.
ip link add pp0 type veth peer name pp1
ip addr add 10.99.0.1/24 dev pp0
ip link set pp0 up
ip link set pp1 up
mkdir -p "$d/nmbd/lock" "$d/nmbd/state" "$d/nmbd/cache" "$d/nmbd/pid" "$d/nmbd/priv"
cat >"$d/nmbd/smb.conf" <<CONF
[global]
  workgroup = PPTEST
  netbios name = PPBED
  interfaces = 10.99.0.1/24
  bind interfaces only = no
  lock directory = $d/nmbd/lock
  state directory = $d/nmbd/state
  cache directory = $d/nmbd/cache
  pid directory = $d/nmbd/pid
  private dir = $d/nmbd/priv
  log file = $d/nmbd/log
CONF
nmbd -F --no-process-group -s "$d/nmbd/smb.conf" >"$d/nmbd/out" 2>&1 &

# miniupnpd 1900 (SSDP): answers a unicast M-SEARCH to 10.99.0.1:1900 with its SERVER header
# (OS/version UPnP/1.1 MiniUPnPd/version); NAT-PMP/PCP off, the HTTP side on 10.99.0.1:5000.
ip addr add 10.99.1.1/24 dev pp1
mkdir -p "$d/miniupnpd"
cat >"$d/miniupnpd/miniupnpd.conf" <<CONF
ext_ifname=pp1
listening_ip=pp0
port=5000
enable_upnp=yes
enable_natpmp=no
secure_mode=yes
uuid=3bd0bd63-7f38-4a4c-9c0e-6e7a1a5b1e01
allow 1024-65535 10.99.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
miniupnpd -d -f "$d/miniupnpd/miniupnpd.conf" -P "$d/miniupnpd/pid" >"$d/miniupnpd/log" 2>&1 &

# inetd's internal UDP services.
cat >"$d/inetd.conf" <<'CONF'
echo dgram udp wait root internal
daytime dgram udp wait root internal
chargen dgram udp wait root internal
time dgram udp wait root internal
CONF
inetutils-inetd -d "$d/inetd.conf" >"$d/inetd.log" 2>&1 &

# Waits until each daemon has bound its UDP port.
for port in 53 123 161 69 3478 5060 1194 11211 7 13 19 37 137 1900; do
    for _ in $(seq 1 100); do
        ss -Hlun "sport = :$port" | grep -q . && break
        sleep 0.1
    done
    if ! ss -Hlun "sport = :$port" | grep -q .; then
        echo "testbed: nothing bound UDP port $port after 10 s" >&2
        tail -n 20 "$d"/*/log "$d"/*.log >&2 2>/dev/null
        exit 99
    fi
done
# The second and third DNS servers share port 53: wait for their own addresses.
for addr in 127.0.0.2:53 127.0.0.3:53; do
    for _ in $(seq 1 100); do
        ss -Hlun "src = $addr" | grep -q . && break
        sleep 0.1
    done
    ss -Hlun "src = $addr" | grep -q . || { echo "testbed: nothing bound $addr" >&2; tail -n 20 "$d/bind/log" "$d/dnsmasq.log" >&2; exit 99; }
done
run_command "$@"
