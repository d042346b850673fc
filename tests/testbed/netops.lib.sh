# Network-operations daemons for the netops test bed (tests/testbed/netops.sh): routing suites,
# serial and console servers, a BMC simulator, container tooling, VPN and AAA servers, DNS
# front ends, network controllers and monitoring servers. Each start_* takes the port, writes
# its configuration, state and logs below $TESTBED_DIR/NAME-PORT and starts the daemon in the
# foreground as a job of the calling script. Source after lib.sh, daemons.lib.sh and
# services.lib.sh (svc_dir); call testbed_dir first.

# FRRouting: zebra with its vty on PORT as installed (no password: it turns every client away)
# and bgpd with a vty password on PORT2 (its login greeting), BGP itself on 179.
start_frr() {
    local port=$1 port2=$2 d
    d=$(svc_dir "frr-$port")
    chown frr:frr "$d"
    printf 'hostname frr-testbed\n' >"$d/zebra.conf"
    printf 'hostname frr-testbed\npassword testbed\nrouter bgp 65001\n bgp router-id 127.0.0.1\n' >"$d/bgpd.conf"
    chown frr:frr "$d"/*.conf
    /usr/lib/frr/zebra -f "$d/zebra.conf" -i "$d/zebra.pid" -z "$d/zserv.api" --vty_socket "$d" \
        -A 127.0.0.1 -P "$port" -u frr -g frr >"$d/zebra.log" 2>&1 &
    /usr/lib/frr/bgpd -f "$d/bgpd.conf" -i "$d/bgpd.pid" -z "$d/zserv.api" --vty_socket "$d" \
        -A 127.0.0.1 -P "$port2" -l 127.0.0.1 -p 179 -u frr -g frr >"$d/bgpd.log" 2>&1 &
}

# GoBGP: its gRPC API on PORT, BGP on PORT2.
start_gobgpd() {
    local port=$1 port2=$2 d
    d=$(svc_dir "gobgpd-$port")
    cat >"$d/gobgpd.toml" <<CONF
[global.config]
  as = 65004
  router-id = "127.0.0.4"
  port = $port2
  local-address-list = ["127.0.0.1"]
CONF
    gobgpd -f "$d/gobgpd.toml" --api-hosts "127.0.0.1:$port" --pprof-disable >"$d/log" 2>&1 &
}

# ser2net: a telnet accepter on PORT with Debian's banner, its "serial port" a pty of socat's,
# and on PORT2 a raw accepter as in Debian's /etc/ser2net.yaml, whose serial port is missing.
# Its resolver asks for addresses of configured families only (AI_ADDRCONFIG), and loopback
# does not count: a veth pair inside the namespace gives it an IPv4 address (TEST-NET-1).
start_ser2net() {
    local port=$1 port2=$2 d
    d=$(svc_dir "ser2net-$port")
    ip link add pp-ser2net type veth peer name pp-ser2net-b
    ip addr add 192.0.2.1/32 dev pp-ser2net
    ip link set pp-ser2net up
    socat "PTY,link=$d/tty,raw,echo=0" "EXEC:cat" >"$d/socat.log" 2>&1 &
    cat >"$d/ser2net.yaml" <<CONF
%YAML 1.1
---
define: &banner \\r\\nser2net port \\p device \\d [\\B] (Debian GNU/Linux)\\r\\n\\r\\n

connection: &con0
    accepter: telnet,tcp,127.0.0.1,$port
    enable: on
    options:
      banner: *banner
      kickolduser: true
    connector: serialdev,$d/tty,9600n81,local

connection: &con1
    accepter: tcp,localhost,$port2
    enable: on
    options:
      banner: *banner
      kickolduser: true
      telnet-brk-on-sync: true
    connector: serialdev,
              $d/no-such-tty,
              9600n81,local
CONF
    ser2net -n -d -c "$d/ser2net.yaml" -P "$d/ser2net.pid" >"$d/log" 2>&1 &
}

# conserver with one console (a local command) and its client port on PORT.
start_conserver() {
    local port=$1 d
    d=$(svc_dir "conserver-$port")
    cat >"$d/conserver.cf" <<CONF
config * { }
default * { logfile $d/&.log; timestamp ""; rw *; }
console testbed { master localhost; type exec; exec /bin/cat; }
access * { trusted 127.0.0.1; }
CONF
    printf 'testbed:*any*\n' >"$d/conserver.passwd"
    conserver -C "$d/conserver.cf" -P "$d/conserver.passwd" -p "$port" -M 127.0.0.1 -m 1 \
        -L "$d/cons.log" >"$d/log" 2>&1 &
}

# OpenIPMI's BMC simulator: RMCP/IPMI over LAN on UDP PORT.
start_ipmi_sim() {
    local port=$1 d
    d=$(svc_dir "ipmi-$port")
    cat >"$d/lan.conf" <<CONF
name "testbed"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $port
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  user 1 true  ""        "test" user     10       none md2 md5 straight
  user 2 true  "admin"   "test" admin    10       none md2 md5 straight
CONF
    cat >"$d/sim.emu" <<CONF
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
CONF
    ipmi_sim -c "$d/lan.conf" -f "$d/sim.emu" -s "$d" -n >"$d/log" 2>&1 &
}

# dockerd with its API on PORT (plain HTTP, loopback of the namespace), no networking of its own;
# in a mount namespace of its own, so that its mounts (it bind-mounts its data root) go with it.
start_dockerd() {
    local port=$1 d
    d=$(svc_dir "dockerd-$port")
    unshare -m --propagation private dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
        -H "tcp://127.0.0.1:$port" -H "unix://$d/docker.sock" --iptables=false --ip6tables=false \
        --bridge=none --ip-forward=false --ip-masq=false --userland-proxy=false \
        --containerd-namespace testbed --containerd-plugins-namespace testbed-plugins \
        >"$d/log" 2>&1 &
}

# The Docker Distribution registry (docker-registry), filesystem storage.
start_docker_registry() {
    local port=$1 d
    d=$(svc_dir "registry-$port")
    cat >"$d/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $d/data
http:
  addr: 127.0.0.1:$port
CONF
    docker-registry serve "$d/config.yml" >"$d/log" 2>&1 &
}

# TightVNC's X server (RFB on PORT), VNC password authentication. Its display's lock file and
# socket live in /tmp, which every namespace shares: a display no other X server holds, picked
# from this shell's pid so that beds started together pick different ones.
start_tightvnc() {
    local port=$1 d n
    d=$(svc_dir "tightvnc-$port")
    printf 'testbed\n' | tightvncpasswd -f >"$d/passwd"
    chmod 600 "$d/passwd"
    for n in $(seq $((40 + $$ % 200)) 299); do
        [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || break
    done
    Xtightvnc ":$n" -desktop testbed -rfbauth "$d/passwd" -rfbport "$port" -nolisten tcp \
        -localhost -geometry 640x480 -depth 16 >"$d/log" 2>&1 &
}

# TinySSH run per connection by socat, as its super-server (it has no listener of its own).
start_tinysshd() {
    local port=$1 d
    d=$(svc_dir "tinysshd-$port")
    tinysshd-makekey "$d/keys" >/dev/null
    socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "EXEC:/usr/sbin/tinysshd $d/keys" \
        >"$d/log" 2>&1 &
}

# LPRng's lpd with one queue spooling to a directory. It reads /etc/lprng/lpd.conf and nothing
# else (as root it ignores LPD_CONF), and that names /etc/printcap, which Debian does not ship:
# our configuration is bound over /etc/lprng in a mount namespace of its own.
start_lpd() {
    local port=$1 d
    d=$(svc_dir "lpd-$port")
    mkdir -p "$d/etc" "$d/spool"
    chown lp "$d/spool"
    cp /etc/lprng/lpd.conf /etc/lprng/lpd.perms "$d/etc/"
    printf 'printcap_path=%s/printcap\nlockfile=%s/lpd.lock\n' "$d" "$d" >>"$d/etc/lpd.conf"
    printf 'testbed:lp=/dev/null:sd=%s/spool\n' "$d" >"$d/printcap"
    unshare -m --propagation private sh -c 'mount --bind "$1/etc" /etc/lprng && exec lpd -F -p "$2"' \
        lpd "$d" "$port" >"$d/log" 2>&1 &
}

# FreeRADIUS with Debian's configuration, authentication on UDP PORT on loopback.
start_freeradius() {
    local port=$1 d
    d=$(svc_dir "freeradius-$port")
    mkdir -p /run/freeradius
    chown freerad:freerad /run/freeradius
    freeradius -f -d /etc/freeradius/3.0 -l "$d/log" -i 127.0.0.1 -p "$port" >"$d/stdout" 2>&1 &
}

# strongSwan's charon IKE daemon on UDP PORT (NAT-T on 4500), no connections configured.
start_charon() {
    local port=$1 d
    d=$(svc_dir "charon-$port")
    cat >"$d/strongswan.conf" <<CONF
charon {
    port = $port
    port_nat_t = 4500
    install_routes = no
    install_virtual_ip = no
    interfaces_use = lo
    plugins {
        stroke { socket = unix://$d/charon.ctl }
    }
    filelog { stdout { path = $d/charon.log; default = 1 } }
}
CONF
    # Its pid file's place (/run/charon.pid) is built in, and beds run side by side: a /run of
    # its own, in a mount namespace of its own.
    STRONGSWAN_CONF=$d/strongswan.conf unshare -m --propagation private \
        sh -c 'mount -t tmpfs -o mode=755 tmpfs /run && exec /usr/lib/ipsec/charon' >"$d/log" 2>&1 &
}

# xl2tpd as an LNS on UDP PORT.
start_xl2tpd() {
    local port=$1 d
    d=$(svc_dir "xl2tpd-$port")
    cat >"$d/xl2tpd.conf" <<CONF
[global]
listen-addr = 127.0.0.1
port = $port
[lns default]
ip range = 10.99.0.10-10.99.0.20
local ip = 10.99.0.1
require authentication = no
name = testbed-lns
CONF
    xl2tpd -D -c "$d/xl2tpd.conf" -p "$d/xl2tpd.pid" -C "$d/l2tp-control" >"$d/log" 2>&1 &
}

# dnsdist as Debian installs it (no backend, so it answers no query) on PORT, its console on PORT2.
start_dnsdist() {
    local port=$1 port2=$2 d
    d=$(svc_dir "dnsdist-$port")
    cat >"$d/dnsdist.conf" <<CONF
setLocal("127.0.0.1:$port")
controlSocket("127.0.0.1:$port2")
setKey("MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74=")
setSecurityPollSuffix("")
CONF
    dnsdist --supervised --disable-syslog -C "$d/dnsdist.conf" -u _dnsdist -g _dnsdist >"$d/log" 2>&1 &
}

# PowerDNS Recursor on PORT, its own configuration directory.
start_pdns_recursor() {
    local port=$1 d
    d=$(svc_dir "recursor-$port")
    chown pdns "$d"
    : >"$d/recursor.conf"
    pdns_recursor --config-dir="$d" --socket-dir="$d" --local-address=127.0.0.1 \
        --local-port="$port" --daemon=no --disable-syslog --setuid=pdns --setgid=pdns \
        >"$d/log" 2>&1 &
}

# Kea's control agent (the HTTP JSON API in front of the Kea servers) on PORT.
start_kea_ctrl_agent() {
    local port=$1 d
    d=$(svc_dir "kea-ctrl-agent-$port")
    cat >"$d/kea-ctrl-agent.conf" <<CONF
{ "Control-agent": { "http-host": "127.0.0.1", "http-port": $port,
  "loggers": [ { "name": "kea-ctrl-agent", "severity": "INFO",
                 "output_options": [ { "output": "$d/log" } ] } ] } }
CONF
    KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d kea-ctrl-agent -c "$d/kea-ctrl-agent.conf" >"$d/stdout" 2>&1 &
}

# Open vSwitch's database server with the vswitch schema, JSON-RPC on PORT.
start_ovsdb_server() {
    local port=$1 d
    d=$(svc_dir "ovsdb-$port")
    ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server "$d/conf.db" --remote="ptcp:$port:127.0.0.1" --pidfile="$d/ovsdb.pid" \
        --unixctl="$d/ovsdb.ctl" --log-file="$d/log" >"$d/stdout" 2>&1 &
}

# Zabbix proxy (SQLite) accepting agents and senders on PORT; its server is never reached.
start_zabbix_proxy() {
    local port=$1 d
    d=$(svc_dir "zabbix-proxy-$port")
    zcat /usr/share/zabbix-proxy-sqlite3/schema.sql.gz | sqlite3 "$d/zabbix.db"
    chown -R zabbix "$d"
    cat >"$d/zabbix_proxy.conf" <<CONF
Server=127.0.0.1
Hostname=testbed-proxy
ListenIP=127.0.0.1
ListenPort=$port
LogFile=$d/log
PidFile=$d/zabbix_proxy.pid
SocketDir=$d
DBName=$d/zabbix.db
CONF
    zabbix_proxy -f -c "$d/zabbix_proxy.conf" >"$d/stdout" 2>&1 &
}

# chrony from the unpacked package (it would remove systemd-timesyncd): NTP on UDP PORT for
# loopback clients, its command port on 323, the clock never touched (-x).
start_chronyd() {
    local port=$1 d root
    d=$(svc_dir "chrony-$port")
    root=$(unpacked_dir chrony)/root
    cat >"$d/chrony.conf" <<CONF
port $port
allow 127.0.0.0/8
bindaddress 127.0.0.1
cmdport 323
bindcmdaddress 127.0.0.1
local stratum 8
driftfile $d/drift
pidfile $d/chronyd.pid
CONF
    "$root/usr/sbin/chronyd" -d -x -u root -f "$d/chrony.conf" >"$d/log" 2>&1 &
}

# Ganglia's gmond: its XML dump on TCP PORT, metrics exchanged by unicast on loopback only.
start_gmond() {
    local port=$1 d
    d=$(svc_dir "gmond-$port")
    cat >"$d/gmond.conf" <<CONF
globals { daemonize = no  setuid = yes  user = ganglia  debug_level = 0
  send_metadata_interval = 0  host_dmax = 0  cleanup_threshold = 300 }
cluster { name = "testbed"  owner = "portprobe" }
udp_send_channel { host = 127.0.0.1  port = 8650  ttl = 1 }
udp_recv_channel { bind = 127.0.0.1  port = 8650 }
tcp_accept_channel { bind = 127.0.0.1  port = $port }
CONF
    gmond -c "$d/gmond.conf" -f >"$d/log" 2>&1 &
}
