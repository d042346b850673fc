# More real Debian daemons for the test bed (tests/testbed/services.sh): developer, ops, chat,
# media, proxy and web services. Each start_* takes the port, writes its configuration, pid
# file, state and logs below $TESTBED_DIR/NAME-PORT and starts the daemon in the foreground as
# a job of the calling script. Source after lib.sh and daemons.lib.sh; call testbed_dir first.
# Daemons that signal their process group, or fork away, run in a session of their own (setsid).

svc_dir() {
    local d="$TESTBED_DIR/$1"
    mkdir -p "$d"
    echo "$d"
}

# rsync daemon with one read-only module.
start_rsyncd() {
    local port=$1 d
    d=$(svc_dir "rsyncd-$port")
    cat >"$d/rsyncd.conf" <<CONF
pid file = $d/rsyncd.pid
use chroot = no
log file = $d/rsyncd.log
[pub]
path = $d
read only = yes
CONF
    rsync --daemon --no-detach --address=127.0.0.1 --port="$port" --config="$d/rsyncd.conf" \
        >"$d/log" 2>&1 &
}

# git daemon exporting an empty repository.
start_git_daemon() {
    local port=$1 d
    d=$(svc_dir "git-$port")
    git init -q --bare "$d/repo.git"
    git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$d" --export-all \
        --user=nobody --group=nogroup "$d" >"$d/log" 2>&1 &
}

# Subversion's svnserve serving an empty root.
start_svnserve() {
    local port=$1 d
    d=$(svc_dir "svnserve-$port")
    svnserve -d --foreground --listen-host 127.0.0.1 --listen-port "$port" -r "$d" >"$d/log" 2>&1 &
}

# CVS pserver, inetd style (socat accepts, cvs serves one connection; as under inetd, its
# stderr goes to the client too).
start_cvs_pserver() {
    local port=$1 d
    d=$(svc_dir "cvs-$port")
    cvs -d "$d/cvsroot" init
    socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
        EXEC:"cvs -f --allow-root=$d/cvsroot pserver",stderr </dev/null >"$d/log" 2>&1 &
}

# distccd, accepting jobs from loopback only.
start_distccd() {
    local port=$1 d
    d=$(svc_dir "distccd-$port")
    distccd --daemon --no-detach --listen 127.0.0.1 --port "$port" --allow 127.0.0.1 \
        --user distccd --log-file "$d/distccd.log" >"$d/log" 2>&1 &
}

# iperf3 server.
start_iperf3() {
    local port=$1 d
    d=$(svc_dir "iperf3-$port")
    iperf3 -s -B 127.0.0.1 -p "$port" >"$d/log" 2>&1 &
}

# Prometheus server with an empty scrape configuration.
start_prometheus() {
    local port=$1 d
    d=$(svc_dir "prometheus-$port")
    printf 'global: {scrape_interval: 15s}\nscrape_configs: []\n' >"$d/prometheus.yml"
    chown -R prometheus "$d" 2>/dev/null || true
    prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
        --web.listen-address="127.0.0.1:$port" >"$d/log" 2>&1 &
}

# Prometheus node_exporter (the systemd collector needs a bus the namespace has not).
start_node_exporter() {
    local port=$1 d
    d=$(svc_dir "node-exporter-$port")
    prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --no-collector.systemd >"$d/log" 2>&1 &
}

# Zabbix agent (passive checks from loopback).
start_zabbix_agent() {
    local port=$1 d
    d=$(svc_dir "zabbix-$port")
    chown zabbix "$d"
    cat >"$d/zabbix_agentd.conf" <<CONF
PidFile=$d/zabbix_agentd.pid
LogType=file
LogFile=$d/zabbix_agentd.log
Server=127.0.0.1
ServerActive=
ListenIP=127.0.0.1
ListenPort=$port
StartAgents=2
CONF
    zabbix_agentd -f -c "$d/zabbix_agentd.conf" >"$d/log" 2>&1 &
}

# Nagios NRPE (TLS with anonymous DH, as packaged).
start_nrpe() {
    local port=$1 d
    d=$(svc_dir "nrpe-$port")
    cat >"$d/nrpe.cfg" <<CONF
pid_file=$d/nrpe.pid
server_port=$port
server_address=127.0.0.1
nrpe_user=nagios
nrpe_group=nagios
allowed_hosts=127.0.0.1
dont_blame_nrpe=0
command[check_true]=/bin/true
CONF
    nrpe -c "$d/nrpe.cfg" -f >"$d/log" 2>&1 &
}

# munin-node, named node.testbed.example, without plugins.
start_munin_node() {
    local port=$1 d
    d=$(svc_dir "munin-$port")
    cat >"$d/munin-node.conf" <<CONF
log_level 4
log_file $d/munin-node.log
pid_file $d/munin-node.pid
background 0
setsid 0
user root
group root
host_name node.testbed.example
allow ^127\.0\.0\.1\$
host 127.0.0.1
port $port
CONF
    munin-node --config "$d/munin-node.conf" >"$d/log" 2>&1 &
}

# NUT upsd with one dummy UPS (no driver running: upsd still answers the protocol). The binary
# itself, not Debian's wrapper /usr/sbin/upsd, which reads the MODE of /etc/nut/nut.conf.
start_upsd() {
    local port=$1 d
    d=$(svc_dir "upsd-$port")
    mkdir -p "$d/state"
    chown nut "$d/state"
    printf '[dummy]\n  driver = dummy-ups\n  port = dummy.dev\n' >"$d/ups.conf"
    printf 'LISTEN 127.0.0.1 %s\n' "$port" >"$d/upsd.conf"
    : >"$d/upsd.users"
    chmod 644 "$d"/*.conf "$d/upsd.users"
    NUT_CONFPATH=$d NUT_STATEPATH=$d/state /lib/nut/upsd -F -u nut >"$d/log" 2>&1 &
}

# gpsd without devices.
start_gpsd() {
    local port=$1 d
    d=$(svc_dir "gpsd-$port")
    gpsd -N -n -S "$port" -F "$d/control.sock" -P "$d/gpsd.pid" >"$d/log" 2>&1 &
}

# Monit with its HTTP interface on loopback (no credentials needed from loopback).
start_monit() {
    local port=$1 d
    d=$(svc_dir "monit-$port")
    cat >"$d/monitrc" <<CONF
set daemon 60
set pidfile $d/monit.pid
set idfile $d/monit.id
set statefile $d/monit.state
set logfile $d/monit.log
set httpd port $port and use address 127.0.0.1
    allow 127.0.0.1
CONF
    chmod 600 "$d/monitrc"
    monit -I -c "$d/monitrc" >"$d/log" 2>&1 &
}

# supervisord with its XML-RPC/web interface on loopback.
start_supervisord() {
    local port=$1 d
    d=$(svc_dir "supervisord-$port")
    cat >"$d/supervisord.conf" <<CONF
[supervisord]
nodaemon=true
logfile=$d/supervisord.log
pidfile=$d/supervisord.pid
childlogdir=$d
user=root
[inet_http_server]
port=127.0.0.1:$port
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
CONF
    supervisord -c "$d/supervisord.conf" >"$d/log" 2>&1 &
}

# SpamAssassin's spamd (rules as shipped; the first start compiles nothing).
start_spamd() {
    local port=$1 d
    d=$(svc_dir "spamd-$port")
    setsid spamd --listen "127.0.0.1:$port" --allowed-ips 127.0.0.1 --username debian-spamd \
        --max-children 1 --min-children 1 --pidfile "$d/spamd.pid" --syslog "$d/spamd.log" \
        --nouser-config >"$d/log" 2>&1 &
}

# ClamAV's clamd with a one-signature database of its own (no download of the official ones).
start_clamd() {
    local port=$1 d
    d=$(svc_dir "clamd-$port")
    mkdir -p "$d/db"
    # An MD5 hash signature (.hdb: md5:size:name) for the 9-byte file "portprobe".
    echo '558a8b83b45363b6f73793600f73868a:9:Portprobe.Test' >"$d/db/portprobe.hdb"
    cat >"$d/clamd.conf" <<CONF
Foreground yes
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $d/db
PidFile $d/clamd.pid
LogFile $d/clamd.log
User root
CONF
    clamd -c "$d/clamd.conf" >"$d/log" 2>&1 &
}

# One Dovecot service alone (PROTOCOL, its SERVICE-login listener LISTENER on PORT), any
# login accepted, in DIR; further settings on stdin.
start_dovecot_only() {
    local d=$1 protocol=$2 service=$3 listener=$4 port=$5
    mkdir -p "$d/run" "$d/state"
    {
        cat <<CONF
base_dir = $d/run
state_dir = $d/state
protocols = $protocol
listen = 127.0.0.1
ssl = no
log_path = $d/dovecot.log
disable_plaintext_auth = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service $service-login {
  inet_listener $listener {
    port = $port
  }
}
CONF
        cat
    } >"$d/dovecot.conf"
    dovecot -F -c "$d/dovecot.conf" >"$d/log" 2>&1 &
}

# Dovecot's ManageSieve service (Pigeonhole) alone.
start_managesieve() {
    start_dovecot_only "$(svc_dir "managesieve-$1")" sieve managesieve sieve "$1" </dev/null
}

# postgrey, the Postfix greylisting policy server.
start_postgrey() {
    local port=$1 d
    d=$(svc_dir "postgrey-$port")
    chown postgrey "$d"
    postgrey --inet="127.0.0.1:$port" --dbdir="$d" --pidfile="$d/postgrey.pid" \
        --user=postgrey --group=postgrey >"$d/log" 2>&1 &
}

# ngIRCd named irc.testbed.example.
start_ngircd() {
    local port=$1 d
    d=$(svc_dir "ngircd-$port")
    cat >"$d/ngircd.conf" <<CONF
[Global]
Name = irc.testbed.example
Info = portprobe test bed
Listen = 127.0.0.1
Ports = $port
PidFile = $d/ngircd.pid
ServerUID = irc
ServerGID = irc
[Options]
PAM = no
Ident = no
DNS = no
CONF
    chmod 644 "$d/ngircd.conf"
    ngircd -n -f "$d/ngircd.conf" >"$d/log" 2>&1 &
}

# Prosody XMPP server for testbed.example (client port only).
start_prosody() {
    local port=$1 d
    d=$(svc_dir "prosody-$port")
    mkdir -p "$d/data"
    cat >"$d/prosody.cfg.lua" <<CONF
pidfile = "$d/prosody.pid"
data_path = "$d/data"
daemonize = false
interfaces = { "127.0.0.1" }
c2s_ports = { $port }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
modules_enabled = { "disco", "ping" }
modules_disabled = { "s2s", "posix" }
log = { info = "$d/prosody.log" }
VirtualHost "testbed.example"
CONF
    chown -R prosody "$d"
    runuser -u prosody -- prosody --config "$d/prosody.cfg.lua" >"$d/log" 2>&1 &
}

# Mumble server (murmurd); its TCP port speaks TLS.
start_murmurd() {
    local port=$1 d
    d=$(svc_dir "murmurd-$port")
    cat >"$d/murmur.ini" <<CONF
database=$d/murmur.sqlite
logfile=$d/murmur.log
pidfile=$d/murmur.pid
host=127.0.0.1
port=$port
bonjour=false
CONF
    chown -R mumble-server "$d"
    runuser -u mumble-server -- murmurd -ini "$d/murmur.ini" -fg >"$d/log" 2>&1 &
}

# Kamailio SIP proxy over TCP, answering every request 200 from a minimal script.
start_kamailio() {
    local port=$1 d
    d=$(svc_dir "kamailio-$port")
    local modules
    modules=$(ls -d /usr/lib/*/kamailio/modules | head -n 1)
    cat >"$d/kamailio.cfg" <<CONF
#!KAMAILIO
listen=tcp:127.0.0.1:$port
disable_tcp=no
children=1
tcp_children=1
log_stderror=yes
mpath="$modules/"
loadmodule "sl.so"
request_route {
    sl_send_reply("200", "OK");
    exit;
}
CONF
    setsid kamailio -DD -E -f "$d/kamailio.cfg" -P "$d/kamailio.pid" -Y "$d" >"$d/log" 2>&1 &
}

# Music Player Daemon with an empty music directory.
start_mpd() {
    local port=$1 d
    d=$(svc_dir "mpd-$port")
    mkdir -p "$d/music" "$d/playlists"
    cat >"$d/mpd.conf" <<CONF
music_directory "$d/music"
playlist_directory "$d/playlists"
db_file "$d/database"
state_file "$d/state"
pid_file "$d/pid"
log_file "$d/mpd.log"
bind_to_address "127.0.0.1"
port "$port"
user "mpd"
audio_output {
    type "null"
    name "null"
}
CONF
    chown -R mpd "$d"
    mpd --no-daemon "$d/mpd.conf" >"$d/log" 2>&1 &
}

# Icecast 2 streaming server.
start_icecast() {
    local port=$1 d
    d=$(svc_dir "icecast-$port")
    mkdir -p "$d/log"
    cat >"$d/icecast.xml" <<CONF
<icecast>
  <location>test bed</location>
  <admin>admin@testbed.example</admin>
  <limits><clients>10</clients><sources>2</sources></limits>
  <authentication>
    <source-password>portprobe</source-password>
    <admin-user>admin</admin-user>
    <admin-password>portprobe</admin-password>
  </authentication>
  <hostname>localhost</hostname>
  <listen-socket><port>$port</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>$d/log</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>$d/icecast.pid</pidfile>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
</icecast>
CONF
    chown -R icecast2 "$d"
    runuser -u icecast2 -- icecast2 -c "$d/icecast.xml" >"$d/log.txt" 2>&1 &
}

# oidentd (ident, RFC 1413).
start_oidentd() {
    local port=$1 d
    d=$(svc_dir "oidentd-$port")
    oidentd -i -S -a 127.0.0.1 -p "$port" -u nobody -g nogroup >"$d/log" 2>&1 &
}

# BSD fingerd, inetd style (as under inetd, stderr goes to the client too).
start_fingerd() {
    local port=$1 d
    d=$(svc_dir "fingerd-$port")
    socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" EXEC:/usr/sbin/in.fingerd,stderr \
        </dev/null >"$d/log" 2>&1 &
}

# rpcbind, in a mount namespace of its own whose /run is private (it keeps its socket and
# state there), so that it never touches the host's /run.
start_rpcbind() {
    local d
    d=$(svc_dir "rpcbind-111")
    mkdir -p "$d/run/rpcbind"
    chown _rpc "$d/run/rpcbind" 2>/dev/null || true
    unshare -m bash -c 'mount --bind "$1" /run && exec rpcbind -f' _ "$d/run" >"$d/log" 2>&1 &
}

# tinyproxy HTTP proxy.
start_tinyproxy() {
    local port=$1 d
    d=$(svc_dir "tinyproxy-$port")
    cat >"$d/tinyproxy.conf" <<CONF
User nobody
Group nogroup
Port $port
Listen 127.0.0.1
Timeout 60
LogFile "$d/tinyproxy.log"
PidFile "$d/tinyproxy.pid"
MaxClients 10
Allow 127.0.0.1
CONF
    chmod 777 "$d"
    tinyproxy -d -c "$d/tinyproxy.conf" >"$d/log" 2>&1 &
}

# Dante SOCKS server without authentication, loopback only.
start_danted() {
    local port=$1 d
    d=$(svc_dir "danted-$port")
    cat >"$d/danted.conf" <<CONF
logoutput: $d/danted.log
internal: 127.0.0.1 port = $port
external: lo
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 127.0.0.0/8 }
CONF
    danted -f "$d/danted.conf" -p "$d/danted.pid" -N 1 >"$d/log" 2>&1 &
}

# Tor client with its SOCKS port on loopback (the namespace has no route out: its attempts to
# reach the directory authorities fail at once).
start_tor() {
    local port=$1 d
    d=$(svc_dir "tor-$port")
    mkdir -p "$d/data"
    chown debian-tor "$d/data"
    chmod 700 "$d/data"
    cat >"$d/torrc" <<CONF
SocksPort 127.0.0.1:$port
DataDirectory $d/data
RunAsDaemon 0
User debian-tor
Log notice stdout
CONF
    tor -f "$d/torrc" --defaults-torrc /dev/null >"$d/log" 2>&1 &
}

# OpenVPN server over TCP with the test certificates of make_certs DIR. Server mode needs a tun
# device: it is created in the bed's namespace and left without addresses (ifconfig-noexec).
start_openvpn() {
    local port=$1 certs=$2 d
    d=$(svc_dir "openvpn-$port")
    openvpn --mode server --tls-server --proto tcp-server --local 127.0.0.1 --port "$port" \
        --dev tun --topology subnet --ifconfig 198.18.0.1 255.255.255.0 --ifconfig-noexec --route-noexec --ca "$certs/ca.pem" \
        --cert "$certs/localhost.pem" --key "$certs/localhost.key" --dh none \
        --verb 3 --writepid "$d/openvpn.pid" >"$d/log" 2>&1 &
}

# Mosquitto MQTT broker, anonymous clients allowed.
start_mosquitto() {
    local port=$1 d
    d=$(svc_dir "mosquitto-$port")
    cat >"$d/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
pid_file $d/mosquitto.pid
persistence false
log_dest file $d/mosquitto.log
user mosquitto
CONF
    chmod 777 "$d"
    mosquitto -c "$d/mosquitto.conf" >"$d/log" 2>&1 &
}

# lighttpd serving an empty directory.
start_lighttpd() {
    local port=$1 d
    d=$(svc_dir "lighttpd-$port")
    mkdir -p "$d/www"
    echo "portprobe test bed" >"$d/www/index.html"
    cat >"$d/lighttpd.conf" <<CONF
server.document-root = "$d/www"
server.port = $port
server.bind = "127.0.0.1"
server.pid-file = "$d/lighttpd.pid"
server.username = "www-data"
server.groupname = "www-data"
index-file.names = ( "index.html" )
CONF
    lighttpd -D -f "$d/lighttpd.conf" >"$d/log" 2>&1 &
}

# Apache httpd (event MPM) serving an empty directory, with Debian's default ServerTokens.
start_apache() {
    local port=$1 d
    d=$(svc_dir "apache-$port")
    mkdir -p "$d/www" "$d/run"
    echo "portprobe test bed" >"$d/www/index.html"
    local m=/usr/lib/apache2/modules
    cat >"$d/apache2.conf" <<CONF
ServerRoot $d
ServerName localhost
Listen 127.0.0.1:$port
PidFile $d/run/apache2.pid
DefaultRuntimeDir $d/run
Mutex file:$d/run
ErrorLog $d/error.log
User www-data
Group www-data
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule dir_module $m/mod_dir.so
LoadModule mime_module $m/mod_mime.so
TypesConfig /etc/mime.types
DocumentRoot $d/www
<Directory $d/www>
    Require all granted
</Directory>
CONF
    setsid apache2 -f "$d/apache2.conf" -DFOREGROUND >"$d/log" 2>&1 &
}

# CUPS scheduler, loopback only, no printers.
start_cupsd() {
    local port=$1 d
    d=$(svc_dir "cupsd-$port")
    mkdir -p "$d/spool/tmp" "$d/cache" "$d/state" "$d/log"
    cp -r /etc/cups "$d/etc"
    cat >"$d/etc/cupsd.conf" <<CONF
Listen 127.0.0.1:$port
LogLevel warn
Browsing No
WebInterface Yes
<Location />
  Order allow,deny
  Allow from 127.0.0.1
</Location>
CONF
    cat >"$d/etc/cups-files.conf" <<CONF
ServerRoot $d/etc
RequestRoot $d/spool
TempDir $d/spool/tmp
CacheDir $d/cache
StateDir $d/state
AccessLog $d/log/access_log
ErrorLog $d/log/error_log
PageLog $d/log/page_log
CONF
    cupsd -f -c "$d/etc/cupsd.conf" -s "$d/etc/cups-files.conf" >"$d/log/out" 2>&1 &
}

# Squid forward proxy without a cache.
start_squid() {
    local port=$1 d
    d=$(svc_dir "squid-$port")
    chown proxy "$d"
    cat >"$d/squid.conf" <<CONF
http_port 127.0.0.1:$port
pid_filename $d/squid.pid
cache_log $d/cache.log
access_log none
cache deny all
coredump_dir $d
visible_hostname proxy.testbed.example
shutdown_lifetime 0 seconds
http_access allow localhost
http_access deny all
CONF
    # Squid names its shared memory segments (in the host's /dev/shm) after the service name:
    # one of its own per bed (services.sh removes them when the bed ends).
    setsid squid -N -n "portprobe$$" -f "$d/squid.conf" >"$d/log" 2>&1 &
}

# Varnish in front of BACKEND_PORT.
start_varnish() {
    local port=$1 backend=$2 d
    d=$(svc_dir "varnish-$port")
    setsid varnishd -F -a "127.0.0.1:$port" -b "127.0.0.1:$backend" -n "$d/work" -s malloc,16m \
        -T none >"$d/log" 2>&1 &
}

# HAProxy with its statistics page on PORT.
start_haproxy() {
    local port=$1 d
    d=$(svc_dir "haproxy-$port")
    cat >"$d/haproxy.cfg" <<CONF
global
    pidfile $d/haproxy.pid
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend stats
    bind 127.0.0.1:$port
    stats enable
    stats uri /
CONF
    haproxy -W -db -f "$d/haproxy.cfg" >"$d/log" 2>&1 &
}

# redis-sentinel watching a master that is not there.
start_redis_sentinel() {
    local port=$1 d
    d=$(svc_dir "sentinel-$port")
    cat >"$d/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize no
dir $d
logfile $d/sentinel.log
sentinel monitor testbed 127.0.0.1 6379 1
CONF
    redis-sentinel "$d/sentinel.conf" >"$d/log" 2>&1 &
}

# Erlang's port mapper daemon.
start_epmd() {
    local port=$1 d
    d=$(svc_dir "epmd-$port")
    ERL_EPMD_ADDRESS=127.0.0.1 epmd -port "$port" >"$d/log" 2>&1 &
}

# Packages that conflict with installed ones (proftpd with vsftpd) are not installed: they are
# fetched with apt-get download and unpacked with dpkg -x into a cache directory, outside the
# namespace (`services.sh --fetch`), and run from there. Their libraries are installed ones.
UNPACKED_CACHE=${PORTPROBE_UNPACKED_CACHE:-/var/cache/portprobe-testbed}
UNPACKED_PACKAGES="proftpd-core"

# The directory PACKAGE is unpacked in (its candidate version), whether or not it exists yet.
unpacked_dir() {
    local version
    version=$(apt-cache policy "$1" | awk '/Candidate:/ {print $2}')
    echo "$UNPACKED_CACHE/$1_${version//:/%3a}"
}

# Downloads and unpacks every package of UNPACKED_PACKAGES not in the cache yet.
fetch_unpacked() {
    local p dir tmp
    for p in $UNPACKED_PACKAGES; do
        dir=$(unpacked_dir "$p")
        [ -d "$dir" ] && continue
        mkdir -p "$UNPACKED_CACHE"
        tmp=$(mktemp -d "$UNPACKED_CACHE/.fetch.XXXXXX")
        chmod 755 "$tmp"
        # A package list older than the mirror names a version it no longer has: update once.
        if ! (cd "$tmp" && apt-get download -q "$p" >/dev/null 2>&1); then
            apt-get update -qq >/dev/null 2>&1 || true
            dir=$(unpacked_dir "$p")
            (cd "$tmp" && apt-get download -q "$p" >/dev/null 2>&1) ||
                { rm -rf "$tmp"; echo "testbed: apt-get download $p failed" >&2; return 1; }
        fi
        dpkg -x "$tmp"/*.deb "$tmp/root"
        rm -f "$tmp"/*.deb
        mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp" # another bed won the race
    done
}

# ProFTPD from the unpacked package, anonymous login refused (no <Anonymous> section).
start_proftpd() {
    local port=$1 d root
    d=$(svc_dir "proftpd-$port")
    root=$(unpacked_dir proftpd-core)/root
    if [ ! -x "$root/usr/sbin/proftpd" ]; then
        echo "testbed: proftpd is not unpacked in $root: run tests/testbed/services.sh --fetch first" >&2
        return 1
    fi
    cat >"$d/proftpd.conf" <<CONF
ServerName "portprobe test bed"
ServerType standalone
DefaultServer on
Port $port
DefaultAddress 127.0.0.1
UseIPv6 off
User nobody
Group nogroup
PidFile $d/proftpd.pid
ScoreboardFile $d/scoreboard
WtmpLog off
CONF
    "$root/usr/sbin/proftpd" -n -c "$d/proftpd.conf" >"$d/log" 2>&1 &
}
