# Field, radio, media and home-automation daemons for the field test bed (tests/testbed/field.sh):
# VLC's remote interfaces, Hamlib, OWFS, Dire Wolf, Argus, Liquidsoap, Buildbot, PulseAudio.
# Each start_* takes the port(s), writes its configuration, state and logs below
# $TESTBED_DIR/NAME-PORT and starts the daemon in the foreground as a job of the calling script.
# Source after lib.sh, daemons.lib.sh and services.lib.sh (svc_dir); call testbed_dir first.

# Runs "$@" as nobody (VLC and PulseAudio refuse to run as root) with HOME in directory D.
as_nobody() {
    local d=$1
    shift
    chown nobody:nogroup "$d"
    setpriv --reuid=nobody --regid=nogroup --clear-groups env -i HOME="$d" XDG_RUNTIME_DIR="$d" \
        PATH=/usr/bin:/bin "$@"
}

# VLC with no media: its Lua telnet interface on PORT and its Lua web interface on PORT2.
start_vlc() {
    local port=$1 port2=$2 d
    d=$(svc_dir "vlc-$port")
    as_nobody "$d" cvlc -I dummy --extraintf telnet:http --no-video --no-audio \
        --telnet-host 127.0.0.1 --telnet-port "$port" --telnet-password testbed \
        --http-host 127.0.0.1 --http-port "$port2" --http-password testbed >"$d/log" 2>&1 &
}

# Hamlib's network daemons with their dummy rig and rotator (model 1).
start_rigctld() {
    local port=$1 d
    d=$(svc_dir "rigctld-$port")
    rigctld -m 1 -T 127.0.0.1 -t "$port" >"$d/log" 2>&1 &
}
start_rotctld() {
    local port=$1 d
    d=$(svc_dir "rotctld-$port")
    rotctld -m 1 -T 127.0.0.1 -t "$port" >"$d/log" 2>&1 &
}

# OWFS: owserver on PORT with simulated 1-Wire devices (a DS18S20 and a DS2405) and owhttpd on
# PORT2 reading it (owftpd is left out: it aborts on a client that connects and closes).
start_owfs() {
    local port=$1 port2=$2 d
    d=$(svc_dir "owfs-$port")
    owserver --foreground --fake=10,05 -p "127.0.0.1:$port" >"$d/owserver.log" 2>&1 &
    # owhttpd that finds no owserver yet may crash later on a client: start it once owserver listens.
    wait_port "$port"
    owhttpd --foreground -s "127.0.0.1:$port" -p "$port2" >"$d/owhttpd.log" 2>&1 &
    # It can accept and close before it serves (under load: a scan then sees a wrapper): wait
    # until it answers a page, at most ten seconds.
    local i
    for i in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port2" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 &&
            timeout 2 head -c 4 <&3) 2>/dev/null | grep -q HTTP; then
            break
        fi
        sleep 0.2
    done
}

# Dire Wolf with no sound card: AGW on PORT, KISS on PORT2.
start_direwolf() {
    local port=$1 port2=$2 d
    d=$(svc_dir "direwolf-$port")
    printf 'ADEVICE null null\nCHANNEL 0\nMYCALL N0CALL\nAGWPORT %s\nKISSPORT %s\n' "$port" "$port2" >"$d/direwolf.conf"
    direwolf -t 0 -c "$d/direwolf.conf" >"$d/log" 2>&1 </dev/null &
}

# Argus flow monitor on loopback, serving its records on PORT.
start_argus() {
    local port=$1 d
    d=$(svc_dir "argus-$port")
    argus -i lo -B 127.0.0.1 -P "$port" >"$d/log" 2>&1 &
}

# Liquidsoap with its telnet server on PORT and no output.
start_liquidsoap() {
    local port=$1 d
    d=$(svc_dir "liquidsoap-$port")
    cat >"$d/radio.liq" <<LIQ
settings.server.telnet.set(true)
settings.server.telnet.bind_addr.set("127.0.0.1")
settings.server.telnet.port.set($port)
settings.init.allow_root.set(true)
output.dummy(blank())
LIQ
    liquidsoap "$d/radio.liq" >"$d/log" 2>&1 &
}

# Buildbot master with one worker slot and a force scheduler: its Perspective Broker port (for
# workers) on PORT. The web UI needs buildbot-www, which Debian 12 does not package.
start_buildbot() {
    local port=$1 d
    d=$(svc_dir "buildbot-$port")
    buildbot create-master -r "$d/master" >"$d/create.log" 2>&1
    cat >"$d/master/master.cfg" <<CONF
from buildbot.plugins import util, worker, schedulers
c = BuildmasterConfig = {}
c['workers'] = [worker.Worker("testbed-worker", "testbed")]
c['protocols'] = {'pb': {'port': "tcp:$port:interface=127.0.0.1"}}
c['schedulers'] = [schedulers.ForceScheduler(name="force", builderNames=["testbed"])]
c['builders'] = [util.BuilderConfig(name="testbed", workernames=["testbed-worker"], factory=util.BuildFactory())]
c['title'] = "portprobe testbed"
c['buildbotURL'] = "http://127.0.0.1/"
c['db'] = {'db_url': "sqlite:///state.sqlite"}
c['buildbotNetUsageData'] = None
CONF
    (cd "$d/master" && exec twistd3 -n --pidfile= -y buildbot.tac) >"$d/log" 2>&1 &
}

# PulseAudio with a null sink and its native protocol on TCP PORT (anonymous clients allowed).
start_pulseaudio() {
    local port=$1 d
    d=$(svc_dir "pulseaudio-$port")
    as_nobody "$d" pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
        --disallow-exit -L module-null-sink \
        -L "module-native-protocol-tcp port=$port listen=127.0.0.1 auth-anonymous=1" >"$d/log" 2>&1 &
}

# knxd with a dummy KNX bus and its client protocol on TCP PORT (its KNXnet/IP server needs a
# bus the dummy driver cannot give it).
start_knxd() {
    local port=$1 d
    d=$(svc_dir "knxd-$port")
    knxd -e 0.0.1 -E 0.0.2:8 -i "$port" -b dummy >"$d/log" 2>&1 &
}

# Graphite's carbon-cache: plaintext on PORT, pickle on PORT2, its cache query port on PORT3.
start_carbon_cache() {
    local port=$1 port2=$2 port3=$3 d
    d=$(svc_dir "carbon-$port")
    mkdir -p "$d/storage/whisper" "$d/storage/lists" "$d/log"
    cp /etc/carbon/storage-schemas.conf "$d/"
    cat >"$d/carbon.conf" <<CONF
[cache]
STORAGE_DIR = $d/storage/
LOCAL_DATA_DIR = $d/storage/whisper/
WHITELISTS_DIR = $d/storage/lists/
CONF_DIR = $d/
LOG_DIR = $d/log/
PID_DIR = $d/
ENABLE_LOGROTATION = False
USER =
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $port
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $port2
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $port3
ENABLE_UDP_LISTENER = False
CONF
    carbon-cache --config="$d/carbon.conf" --nodaemon start >"$d/log/console.log" 2>&1 &
}
