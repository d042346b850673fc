# Other Debian network daemons for the misc test bed (tests/testbed/misc.sh): ops and admin
# consoles, chat, VPN, file sharing, media, IoT and monitoring. Each start_* takes the port,
# writes its configuration, state and logs below $TESTBED_DIR/NAME-PORT and starts the daemon
# in the foreground as a job of the calling script. Source after lib.sh, daemons.lib.sh and
# services.lib.sh (svc_dir); call testbed_dir first.

# Netdata's agent: its own web server on loopback, no cloud, no registry, no plugins.
start_netdata() {
    local port=$1 d
    d=$(svc_dir "netdata-$port")
    mkdir -p "$d/cache" "$d/lib" "$d/log" "$d/plugins"
    cat >"$d/netdata.conf" <<CONF
[global]
    run as user = root
    hostname = netdata.testbed.example
[directories]
    cache = $d/cache
    lib = $d/lib
    log = $d/log
    plugins = $d/plugins
    health config = $d
    stock health config = $d
[logs]
    error = $d/log/error.log
    access = none
    debug = none
[web]
    bind to = 127.0.0.1:$port
[plugins]
    enable running new plugins = no
[registry]
    enabled = no
[health]
    enabled = no
[ml]
    enabled = no
CONF
    netdata -D -c "$d/netdata.conf" -P "$d/netdata.pid" >"$d/log/stdout" 2>&1 &
}

# MiniDLNA serving an empty media folder on loopback.
start_minidlna() {
    local port=$1 d
    d=$(svc_dir "minidlna-$port")
    mkdir -p "$d/media" "$d/db"
    cat >"$d/minidlna.conf" <<CONF
port=$port
network_interface=lo
media_dir=$d/media
db_dir=$d/db
log_dir=$d
friendly_name=testbed
inotify=no
CONF
    minidlnad -d -f "$d/minidlna.conf" -P "$d/minidlna.pid" >"$d/log" 2>&1 &
}

# Cockpit's web service without TLS on loopback.
start_cockpit_ws() {
    local port=$1 d
    d=$(svc_dir "cockpit-$port")
    /usr/lib/cockpit/cockpit-ws --no-tls --address 127.0.0.1 --port "$port" >"$d/log" 2>&1 &
}

# Glances in web server mode.
start_glances() {
    local port=$1 d
    d=$(svc_dir "glances-$port")
    HOME=$d glances -w --disable-autodiscover -B 127.0.0.1 -p "$port" >"$d/log" 2>&1 &
}

# Shell In A Box without TLS on loopback (its login service, never run here).
start_shellinabox() {
    local port=$1 d
    d=$(svc_dir "shellinabox-$port")
    shellinaboxd -t -p "$port" --localhost-only -u nobody -g nogroup -s /:LOGIN >"$d/log" 2>&1 &
}

# i2pd router: its web console on PORT and its HTTP proxy on PORT2; the router itself has no
# network to reach in the namespace, so it only ever serves these two.
start_i2pd() {
    local port=$1 proxy=$2 d
    d=$(svc_dir "i2pd-$port")
    i2pd --datadir="$d" --log=file --logfile="$d/i2pd.log" --loglevel=warn --ipv4 --address4=127.0.0.1 \
        --port=24567 --reseed.verify=false --upnp.enabled=false \
        --http.address=127.0.0.1 --http.port="$port" --httpproxy.address=127.0.0.1 \
        --httpproxy.port="$proxy" --socksproxy.enabled=false --sam.enabled=false \
        --bob.enabled=false --i2cp.enabled=false --i2pcontrol.enabled=false >"$d/log" 2>&1 &
}

# rspamd with Debian's configuration: the scanner worker on PORT, the controller (web UI) on
# PORT+1 and the milter proxy on PORT-1, as shipped (loopback); state and logs in its dir.
start_rspamd() {
    local port=$1 d
    d=$(svc_dir "rspamd-$port")
    chown _rspamd "$d"
    rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf --var="DBDIR=$d" --var="RUNDIR=$d" \
        --var="LOGDIR=$d" >"$d/log" 2>&1 &
}

# Syncthing: its GUI/REST on PORT and its sync protocol (TLS) on PORT2, on loopback; no
# discovery, relays or upgrades (nothing to reach in the namespace).
start_syncthing() {
    local port=$1 sync=$2 d
    d=$(svc_dir "syncthing-$port")
    syncthing generate --home="$d" >"$d/generate.log" 2>&1
    sed -i "s|<listenAddress>default</listenAddress>|<listenAddress>tcp://127.0.0.1:$sync</listenAddress>|;
        s|<globalAnnounceEnabled>true|<globalAnnounceEnabled>false|;
        s|<localAnnounceEnabled>true|<localAnnounceEnabled>false|;
        s|<relaysEnabled>true|<relaysEnabled>false|;
        s|<natEnabled>true|<natEnabled>false|;
        s|<autoUpgradeIntervalH>[0-9]*|<autoUpgradeIntervalH>0|;
        s|<urAccepted>0|<urAccepted>-1|" "$d/config.xml"
    STNODEFAULTFOLDER=1 STNOUPGRADE=1 syncthing serve --home="$d" --no-browser --no-restart \
        --gui-address="http://127.0.0.1:$port" >"$d/log" 2>&1 &
}

# BitlBee, the IRC gateway, as a daemon of its own.
start_bitlbee() {
    local port=$1 d
    d=$(svc_dir "bitlbee-$port")
    mkdir -p "$d/users"
    chown bitlbee "$d/users" 2>/dev/null || true
    printf '[settings]\nRunMode = ForkDaemon\nUser = bitlbee\nDaemonInterface = 127.0.0.1\nDaemonPort = %s\nHostName = bitlbee.testbed.example\n' \
        "$port" >"$d/bitlbee.conf"
    bitlbee -F -n -c "$d/bitlbee.conf" -d "$d/users" -P "$d/bitlbee.pid" >"$d/log" 2>&1 &
}

# InspIRCd named irc.testbed.example (it refuses root unless told).
start_inspircd() {
    local port=$1 d
    d=$(svc_dir "inspircd-$port")
    cat >"$d/inspircd.conf" <<CONF
<server name="irc.testbed.example" description="portprobe test bed" network="Testbed">
<admin name="Admin" nick="admin" email="admin@testbed.example">
<bind address="127.0.0.1" port="$port" type="clients">
<connect name="main" allow="*" timeout="60" pingfreq="120" localmax="10" globalmax="10" maxchans="20" limit="100">
<pid file="$d/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$d/ircd.log">
CONF
    inspircd --nofork --runasroot --config="$d/inspircd.conf" >"$d/log" 2>&1 &
}

# ZNC, the IRC bouncer, with one user and a plain-text listener.
start_znc() {
    local port=$1 d
    d=$(svc_dir "znc-$port")
    mkdir -p "$d/configs"
    cat >"$d/configs/znc.conf" <<CONF
Version = 1.8.2
<Listener l>
    Port = $port
    IPv4 = true
    IPv6 = false
    SSL = false
</Listener>
<User admin>
    Admin = true
    Nick = admin
    <Pass password>
        Method = plain
        Hash = testbed
    </Pass>
</User>
CONF
    chown -R _znc "$d"
    # As root ZNC waits 30 s before it starts: run it as its own user.
    setpriv --reuid=_znc --regid=_znc --clear-groups znc --foreground --datadir="$d" >"$d/log" 2>&1 &
}

# PoPToP's pptpd (control connections only: no call is ever placed, so pppd never runs).
start_pptpd() {
    local port=$1 d
    d=$(svc_dir "pptpd-$port")
    printf 'option %s/options.pptpd\nlocalip 10.99.0.1\nremoteip 10.99.0.2-9\n' "$d" >"$d/pptpd.conf"
    printf 'name pptpd\nrequire-mschap-v2\n' >"$d/options.pptpd"
    pptpd -f -c "$d/pptpd.conf" -l 127.0.0.1 -p "$d/pptpd.pid" >"$d/log" 2>&1 &
}

# SANE's network daemon, standalone, no scanners.
start_saned() {
    local port=$1 d
    d=$(svc_dir "saned-$port")
    saned -l -e -u saned -b 127.0.0.1 -p "$port" >"$d/log" 2>&1 &
}

# Icecream's compile daemon, iceccd, on PORT. Without a scheduler: icecc-scheduler 1.4 stops
# accepting once a client closes right after its greeting (as a connect scan or wait_port does).
start_iceccd() {
    local port=$1 d
    d=$(svc_dir "iceccd-$port")
    chown icecc "$d"
    iceccd -n testbed -p "$port" -u icecc -b "$d/envs" -N node1 -l "$d/iceccd.log" >"$d/log" 2>&1 &
}

# apcupsd from the unpacked package (it cannot be installed beside nut-server) with its network
# information server on PORT; its UPS is a network one that is never reached, which is enough for
# the server to answer "status".
start_apcupsd() {
    local port=$1 d root
    d=$(svc_dir "apcupsd-$port")
    root=$(unpacked_dir apcupsd)/root
    if [ ! -x "$root/sbin/apcupsd" ]; then
        echo "testbed: apcupsd is not unpacked in $root: run tests/testbed/misc.sh --fetch first" >&2
        return 1
    fi
    cat >"$d/apcupsd.conf" <<CONF
## apcupsd.conf v1.1 ##
UPSNAME testbed
UPSCABLE ether
UPSTYPE net
DEVICE 127.0.0.1:9
LOCKFILE $d
SCRIPTDIR $d
PWRFAILDIR $d
NOLOGINDIR $d
NETSERVER on
NISIP 127.0.0.1
NISPORT $port
EVENTSFILE $d/apcupsd.events
STATFILE $d/apcupsd.status
CONF
    "$root/sbin/apcupsd" -b -f "$d/apcupsd.conf" -P "$d/apcupsd.pid" >"$d/log" 2>&1 &
}

# Firebird 3 SuperServer with Debian's configuration (security database as installed), its lock
# files in its own directory.
start_firebird() {
    local port=$1 d
    d=$(svc_dir "firebird-$port")
    chown firebird "$d"
    FIREBIRD_LOCK=$d setpriv --reuid=firebird --regid=firebird --clear-groups \
        /usr/sbin/firebird -p "$port" >"$d/log" 2>&1 &
}

# ejabberd with Debian's configuration (client port 5222, HTTP 5280 …), run as its own user with
# its spool and logs in its directory. Its Erlang node needs epmd, which ejabberdctl starts.
start_ejabberd() {
    local port=$1 d
    d=$(svc_dir "ejabberd-$port")
    mkdir -p "$d/spool" "$d/logs"
    chown -R ejabberd "$d"
    setpriv --reuid=ejabberd --regid=ejabberd --clear-groups env HOME="$d" \
        ejabberdctl --spool "$d/spool" --logs "$d/logs" --node "testbed@localhost" foreground >"$d/log" 2>&1 &
}

# OpenDKIM as a milter on a TCP socket (verify and sign modes, no keys).
start_opendkim() {
    local port=$1 d
    d=$(svc_dir "opendkim-$port")
    printf 'Socket inet:%s@127.0.0.1\nPidFile %s/opendkim.pid\nUserID opendkim\nMode sv\nBackground no\nSyslog no\n' \
        "$port" "$d" >"$d/opendkim.conf"
    opendkim -f -x "$d/opendkim.conf" >"$d/log" 2>&1 &
}

# gkrellmd, the GKrellM monitoring server, on loopback.
start_gkrellmd() {
    local port=$1 d
    d=$(svc_dir "gkrellmd-$port")
    gkrellmd -P "$port" -A 127.0.0.1 -a 127.0.0.1 --pidfile "$d/gkrellmd.pid" >"$d/log" 2>&1 &
}

# uhub, an ADC hub, on loopback.
start_uhub() {
    local port=$1 d
    d=$(svc_dir "uhub-$port")
    printf 'server_port=%s\nserver_bind_addr=127.0.0.1\nhub_name=testbed\nfile_acl=%s/users.conf\n' "$port" "$d" >"$d/uhub.conf"
    : >"$d/users.conf"
    uhub -c "$d/uhub.conf" -f "$d/uhub.log" >"$d/log" 2>&1 &
}

# nbd-server exporting an empty file (newstyle negotiation). It forks away (its -d serves one
# client only); ns_cleanup stops it with the namespace's other processes.
start_nbd_server() {
    local port=$1 d
    d=$(svc_dir "nbd-$port")
    truncate -s 1M "$d/disk.img"
    printf '[generic]\n  listenaddr = 127.0.0.1\n  port = %s\n  user = root\n  group = root\n[disk]\n  exportname = %s/disk.img\n  readonly = true\n' \
        "$port" "$d" >"$d/nbd.conf"
    nbd-server -C "$d/nbd.conf" -p "$d/nbd.pid" >"$d/log" 2>&1
}

# Gophernicus, inetd style (socat accepts, gophernicus serves one connection as nobody: it
# refuses root) with a root holding one file.
start_gophernicus() {
    local port=$1 d
    d=$(svc_dir "gophernicus-$port")
    mkdir -p "$d/root"
    echo "portprobe test bed" >"$d/root/README"
    socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
        EXEC:"/usr/sbin/gophernicus -h gopher.testbed.example -r $d/root",su=nobody </dev/null >"$d/log" 2>&1 &
}

# ocserv, the OpenConnect VPN server, with Debian's settings on PORT (TLS) and a certificate
# of its own; no client ever logs in, so no tunnel device is needed.
start_ocserv() {
    local port=$1 d
    d=$(svc_dir "ocserv-$port")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=vpn.testbed.example" -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
    : >"$d/passwd"
    grep -vE '^(auth|tcp-port|udp-port|socket-file|chroot-dir|pid-file|server-cert|server-key|use-occtl|occtl-socket-file)\b' \
        /etc/ocserv/ocserv.conf >"$d/ocserv.conf"
    cat >>"$d/ocserv.conf" <<CONF
auth = "plain[passwd=$d/passwd]"
tcp-port = $port
listen-host = 127.0.0.1
socket-file = $d/ocserv-socket
pid-file = $d/ocserv.pid
server-cert = $d/cert.pem
server-key = $d/key.pem
use-occtl = false
CONF
    ocserv -f -c "$d/ocserv.conf" >"$d/log" 2>&1 &
}

# darkstat, the traffic grapher, capturing on loopback, its web server on PORT.
start_darkstat() {
    local port=$1 d
    d=$(svc_dir "darkstat-$port")
    darkstat -i lo --no-daemon --no-dns --no-promisc -p "$port" -b 127.0.0.1 --chroot "$d" \
        --user nobody >"$d/log" 2>&1 &
}

# Quassel's core, not configured (it still negotiates the protocol), plain on loopback.
start_quasselcore() {
    local port=$1 d
    d=$(svc_dir "quassel-$port")
    chown quasselcore "$d"
    setpriv --reuid=quasselcore --regid=quassel --clear-groups \
        quasselcore --configdir="$d" --listen=127.0.0.1 --port="$port" >"$d/log" 2>&1 &
}
