# Start functions of the apps test bed (apps.sh): application daemons of Debian (web consoles,
# downloaders, media, calendars, monitoring add-ons, backup, IRC, mail), each on PORT on
# loopback with its files below $TESTBED_DIR/NAME-PORT. Source after lib.sh, daemons.lib.sh and
# services.lib.sh (svc_dir, unpacked_dir); call testbed_dir first.

# Prometheus Alertmanager, without its cluster port (gossip needs peers).
start_alertmanager() {
    local port=$1 d
    d=$(svc_dir "alertmanager-$port")
    cat >"$d/alertmanager.yml" <<CONF
route:
  receiver: nobody
receivers:
  - name: nobody
CONF
    prometheus-alertmanager --config.file="$d/alertmanager.yml" --storage.path="$d" \
        --web.listen-address="127.0.0.1:$port" --cluster.listen-address= >"$d/log" 2>&1 &
}

# Prometheus Pushgateway, metrics kept in memory only.
start_pushgateway() {
    local port=$1 d
    d=$(svc_dir "pushgateway-$port")
    prometheus-pushgateway --web.listen-address="127.0.0.1:$port" --persistence.file= \
        >"$d/log" 2>&1 &
}

# Prometheus Blackbox exporter with Debian's module configuration.
start_blackbox_exporter() {
    local port=$1 d
    d=$(svc_dir "blackbox-$port")
    prometheus-blackbox-exporter --config.file=/etc/prometheus/blackbox.yml \
        --web.listen-address="127.0.0.1:$port" >"$d/log" 2>&1 &
}

# aria2's JSON-RPC and XML-RPC interface (no download queued).
start_aria2() {
    local port=$1 d
    d=$(svc_dir "aria2-$port")
    aria2c --enable-rpc --rpc-listen-port="$port" --rpc-listen-all=false --dir="$d" \
        --no-conf --quiet >"$d/log" 2>&1 &
}

# Radicale CalDAV/CardDAV server, its collections in its directory, no authentication.
start_radicale() {
    local port=$1 d
    d=$(svc_dir "radicale-$port")
    cat >"$d/config" <<CONF
[server]
hosts = 127.0.0.1:$port
[auth]
type = none
[storage]
filesystem_folder = $d/collections
CONF
    radicale --config "$d/config" >"$d/log" 2>&1 &
}

# Jupyter Notebook (Tornado), no browser, a token it makes up itself.
start_jupyter() {
    local port=$1 d
    d=$(svc_dir "jupyter-$port")
    HOME=$d JUPYTER_CONFIG_DIR=$d/config JUPYTER_DATA_DIR=$d/data JUPYTER_RUNTIME_DIR=$d/runtime \
        jupyter-notebook --no-browser --allow-root --ip=127.0.0.1 --port="$port" \
        --port-retries=0 --notebook-dir="$d" >"$d/log" 2>&1 &
}

# Deluge's daemon: its RPC port (TLS, rencoded messages) on PORT.
start_deluged() {
    local port=$1 d
    d=$(svc_dir "deluged-$port")
    deluged -d -c "$d" -u 127.0.0.1 -p "$port" -i 127.0.0.1 -L error >"$d/log" 2>&1 &
}

# Deluge's web interface (Twisted).
start_deluge_web() {
    local port=$1 d
    d=$(svc_dir "deluge-web-$port")
    deluge-web -d -c "$d" -i 127.0.0.1 -p "$port" -L error >"$d/log" 2>&1 &
}

# Motion without a camera: its web control on PORT.
start_motion() {
    local port=$1 d
    d=$(svc_dir "motion-$port")
    cat >"$d/motion.conf" <<CONF
daemon off
webcontrol_port $port
webcontrol_localhost on
stream_port 0
target_dir $d
log_file $d/motion.log
CONF
    motion -n -c "$d/motion.conf" >"$d/log" 2>&1 &
}

# Mopidy's HTTP frontend, audio to a fake sink, no library.
start_mopidy() {
    local port=$1 d
    d=$(svc_dir "mopidy-$port")
    cat >"$d/mopidy.conf" <<CONF
[core]
cache_dir = $d/cache
config_dir = $d
data_dir = $d/data
[logging]
verbosity = -1
[audio]
output = fakesink
[http]
hostname = 127.0.0.1
port = $port
[file]
enabled = false
[m3u]
enabled = false
[stream]
enabled = false
[softwaremixer]
enabled = true
CONF
    HOME=$d mopidy --config "$d/mopidy.conf" >"$d/log" 2>&1 &
}

# shairport-sync (AirPlay 1 receiver): RTSP on PORT, audio discarded, advertised through the
# bed's Avahi (start_dbus and start_avahi first, and wait for Avahi: without it shairport-sync
# stops, and with no mDNS back end at all it crashes).
start_shairport() {
    local port=$1 d
    d=$(svc_dir "shairport-$port")
    cat >"$d/shairport-sync.conf" <<CONF
general = {
  name = "testbed";
  port = $port;
  output_backend = "dummy";
  mdns_backend = "avahi";
};
metadata = {
  enabled = "no";
};
CONF
    shairport-sync -c "$d/shairport-sync.conf" >"$d/log" 2>&1 &
}

# Apache Traffic Server as Debian configures it (a forward and reverse proxy without remap
# rules), its configuration, cache, logs and runtime files in a runroot of its own; HTTP on PORT.
start_trafficserver() {
    local port=$1 d
    d=$(svc_dir "trafficserver-$port")
    mkdir -p "$d/run" "$d/log" "$d/cache" "$d/state"
    cp -r /etc/trafficserver "$d/etc"
    cat >"$d/runroot.yaml" <<CONF
prefix: /usr
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: $d/etc
datadir: /usr/share/trafficserver
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: $d/state
runtimedir: $d/run
logdir: $d/log
cachedir: $d/cache
CONF
    echo "$d/cache 64M" >"$d/etc/storage.config"
    sed -i "s|^CONFIG proxy.config.http.server_ports STRING .*|CONFIG proxy.config.http.server_ports STRING $port|" \
        "$d/etc/records.config"
    chown -R trafficserver: "$d"
    setsid traffic_server --run-root="$d/runroot.yaml" >"$d/out" 2>&1 &
}

# GNU Mailutils imap4d and pop3d (Debian's packages are installed beside Dovecot's), each with a
# configuration of its own naming only its port.
start_mu_imap4d() {
    local port=$1 d
    d=$(svc_dir "imap4d-$port")
    cat >"$d/imap4d.conf" <<CONF
mode daemon;
foreground yes;
pidfile $d/pid;
server 127.0.0.1:$port {
};
CONF
    imap4d --config-file="$d/imap4d.conf" >"$d/log" 2>&1 &
}

start_mu_pop3d() {
    local port=$1 d
    d=$(svc_dir "pop3d-$port")
    cat >"$d/pop3d.conf" <<CONF
mode daemon;
foreground yes;
pidfile $d/pid;
server 127.0.0.1:$port {
};
CONF
    pop3d --config-file="$d/pop3d.conf" >"$d/log" 2>&1 &
}

# msmtpd (msmtp-mta, unpacked: it would remove postfix): a minimal SMTP server on PORT that hands
# mail to a command (here one that discards it).
start_msmtpd() {
    local port=$1 d
    d=$(svc_dir "msmtpd-$port")
    "$(unpacked_dir msmtp-mta)/root/usr/bin/msmtpd" --interface=127.0.0.1 --port="$port" \
        --command="cat >/dev/null" >"$d/log" 2>&1 &
}

# popa3d (unpacked: it would remove dovecot-pop3d) in its standalone mode, which listens on
# the POP3 port it was built with (110). It drops to the user popa3d and chroots to
# /var/lib/popa3d, both made by the package's scripts: here they exist only in a mount
# namespace of its own (a passwd with that user, an empty /var/lib), not on the machine.
start_popa3d() {
    local port=$1 d
    d=$(svc_dir "popa3d-$port")
    cp /etc/passwd "$d/passwd"
    cp /etc/group "$d/group"
    echo "popa3d:x:65530:65530::/var/lib/popa3d:/usr/sbin/nologin" >>"$d/passwd"
    echo "popa3d:x:65530:" >>"$d/group"
    unshare -m --propagation private sh -c '
        mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/group" /etc/group &&
        mount -t tmpfs -o size=1m tmpfs /var/lib && mkdir -m 755 /var/lib/popa3d &&
        exec "$2" -D' sh "$d" "$(unpacked_dir popa3d)/root/usr/sbin/popa3d" >"$d/log" 2>&1 &
}

# A D-Bus system bus of the bed's own (a socket in its directory, everyone allowed), for Avahi
# and the programs that publish through it; they find it by DBUS_SYSTEM_BUS_ADDRESS.
start_dbus() {
    local d
    d=$(svc_dir dbus)
    cat >"$d/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$d/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
CONF
    dbus-daemon --config-file="$d/bus.conf" --nofork --nopidfile >"$d/log" 2>&1 &
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$d/bus"
    local i
    for i in $(seq 1 100); do
        [ -S "$d/bus" ] && return 0
        sleep 0.05
    done
    echo "testbed: dbus-daemon made no socket after 5 s" >&2
    return 1
}

# Avahi's mDNS responder (UDP 5353) on the bed's bus (start_dbus first), publishing a host name
# of its own.
start_avahi() {
    local port=$1 d
    d=$(svc_dir "avahi-$port")
    cat >"$d/avahi-daemon.conf" <<CONF
[server]
host-name=testbed-avahi
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
[publish]
publish-addresses=yes
publish-hinfo=yes
publish-workstation=yes
CONF
    avahi-daemon --no-drop-root --no-chroot --no-rlimits -f "$d/avahi-daemon.conf" >"$d/log" 2>&1 &
}


# Burp backup server on PORT (its status port on PORT+1 stays off), TLS with the bed's own CA and
# a server certificate of its own; no clients are configured.
start_burp() {
    local port=$1 d
    d=$(svc_dir "burp-$port")
    mkdir -p "$d/spool" "$d/clientconfdir" "$d/certs"
    make_certs "$d/certs"
    # Small Diffie-Hellman parameters (DSA-style: made in a moment; nothing here is secret).
    openssl dhparam -dsaparam -out "$d/certs/dh.pem" 1024 2>/dev/null
    cat >"$d/burp-server.conf" <<CONF
mode = server
listen = 127.0.0.1:$port
max_children = 5
directory = $d/spool
clientconfdir = $d/clientconfdir
pidfile = $d/burp.pid
stdout = 1
syslog = 0
ssl_cert_ca = $d/certs/ca.pem
ssl_cert = $d/certs/localhost.pem
ssl_key = $d/certs/localhost.key
ssl_dhfile = $d/certs/dh.pem
dedup_group = testbed
keep = 1
CONF
    burp -F -c "$d/burp-server.conf" >"$d/log" 2>&1 &
}

# A resolver for the daemons that look up their clients' names (IRC servers): dnsmasq on
# $RESOLVER:53, answering from /etc/hosts (127.0.0.1 is localhost) and nothing else. Daemons see
# it through a resolv.conf in an overlay (in_overlays); the machine's resolver is out of reach.
RESOLVER=127.0.0.53
start_resolver() {
    local d
    d=$(svc_dir resolver)
    dnsmasq --keep-in-foreground --no-resolv --no-dhcp-interface=lo --listen-address="$RESOLVER" \
        --bind-interfaces --port=53 --user=root --pid-file="$d/pid" >"$d/log" 2>&1 &
}

# in_overlays D DIRS COMMAND...: runs COMMAND in a mount namespace of its own where each DIR of
# DIRS (space-separated) is an overlay of the machine's DIR with D/overlay/DIR on top: unpacked daemons whose paths are built
# in (/etc/ircd, /var/run/ircd) see the files the bed wrote there, and the machine sees nothing.
in_overlays() {
    local d=$1 dirs=$2
    shift 2
    local dir
    for dir in $dirs; do
        mkdir -p "$d/overlay$dir" "$d/overlay-work$dir"
    done
    unshare -m --propagation private sh -c '
        d=$1 dirs=$2
        shift 2
        for dir in $dirs; do
            mount -t overlay overlay \
                -o "lowerdir=$dir,upperdir=$d/overlay$dir,workdir=$d/overlay-work$dir" "$dir" || exit 1
        done
        exec "$@"' sh "$d" "$dirs" "$@"
}

# IRCnet's ircd 2.11 (ircd-irc2, unpacked: it would remove ngircd and inspircd) with Debian's
# configuration but its port and server name, as the user irc, without iauth. It looks up each
# client's name before it registers it: the bed's resolver answers (start_resolver first).
# It throttles connections from one host: after a scan's burst it accepts again only after a
# while (about 30 s), so the bed's test scans it once.
start_ircd_irc2() {
    local port=$1 d root
    d=$(svc_dir "irc2-$port")
    root=$(unpacked_dir ircd-irc2)/root
    mkdir -p "$d/overlay/etc/ircd" "$d/overlay/var/run/ircd" "$d/overlay/var/log/ircd"
    sed -e "s/^M%irc.localhost%/M%irc.testbed.example%/" -e "s/^P%%%%6667%/P%127.0.0.1%%%$port%/" \
        "$root/etc/ircd/ircd.conf" >"$d/overlay/etc/ircd/ircd.conf"
    cp "$root/etc/ircd/ircd.motd" "$root/etc/ircd/ircd.m4" "$d/overlay/etc/ircd/"
    echo "nameserver $RESOLVER" >"$d/overlay/etc/resolv.conf"
    chown -R irc: "$d/overlay/var/run/ircd" "$d/overlay/var/log/ircd" "$d/overlay/etc/ircd"
    in_overlays "$d" "/etc /var/run /var/log" \
        setpriv --reuid irc --regid irc --clear-groups "$root/usr/sbin/ircd" -s -t >"$d/log" 2>&1 &
}

# ircd-hybrid (unpacked: it would remove ngircd) with Debian's configuration but a plain listener
# on PORT and no TLS, as the user irc; the bed's resolver answers its look-ups (start_resolver).
# Its modules, databases and logs live where it was built to look for them
# (/usr/lib/ircd-hybrid, /var/lib/ircd-hybrid, /var/log/ircd): overlays here.
start_ircd_hybrid() {
    local port=$1 d root
    d=$(svc_dir "hybrid-$port")
    root=$(unpacked_dir ircd-hybrid)/root
    mkdir -p "$d/overlay/etc/ircd-hybrid" "$d/overlay/var/lib/ircd-hybrid" "$d/overlay/var/log/ircd" \
        "$d/overlay/var/run/ircd" "$d/overlay/usr/lib"
    cp -r "$root/usr/lib/ircd-hybrid" "$d/overlay/usr/lib/"
    # Debian's file without its listen and motd blocks (TLS keys, per-country MOTD files), and
    # one plain listener instead.
    awk '/^(listen|motd) \{/ {skip = 1} !skip {print} skip && /^\};/ {skip = 0}' \
        "$root/etc/ircd-hybrid/ircd.conf" | sed -e '/rsa_private_key_file\|tls_certificate_file\|tls_dh_param_file/d' \
        >"$d/overlay/etc/ircd-hybrid/ircd.conf"
    printf 'listen {\n\thost = "127.0.0.1";\n\tport = %s;\n};\n' "$port" >>"$d/overlay/etc/ircd-hybrid/ircd.conf"
    # Probes come on several connections at once: no throttling of reconnections.
    printf 'general {\n\tthrottle_count = 100;\n\tthrottle_time = 0 seconds;\n};\n' \
        >>"$d/overlay/etc/ircd-hybrid/ircd.conf"
    cp "$root/etc/ircd-hybrid/ircd.motd" "$d/overlay/etc/ircd-hybrid/"
    echo "nameserver $RESOLVER" >"$d/overlay/etc/resolv.conf"
    chown -R irc: "$d/overlay/var/lib/ircd-hybrid" "$d/overlay/var/log/ircd" "$d/overlay/var/run/ircd" \
        "$d/overlay/etc/ircd-hybrid"
    in_overlays "$d" "/etc /usr/lib /var/lib /var/log /var/run" \
        setpriv --reuid irc --regid irc --clear-groups "$root/usr/sbin/ircd-hybrid" -foreground \
        >"$d/log" 2>&1 &
}

# qBittorrent without a GUI: its Web UI on PORT, its settings in a profile of its own.
start_qbittorrent() {
    local port=$1 d
    d=$(svc_dir "qbittorrent-$port")
    mkdir -p "$d/qBittorrent/config"
    cat >"$d/qBittorrent/config/qBittorrent.conf" <<CONF
[LegalNotice]
Accepted=true
[Preferences]
WebUI\Address=127.0.0.1
WebUI\Port=$port
Connection\Interface=lo
Connection\InterfaceName=lo
CONF
    HOME=$d qbittorrent-nox --profile="$d" --webui-port="$port" >"$d/log" 2>&1 &
}
