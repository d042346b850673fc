# Start functions of the storage test bed (storage.sh): storage, backup, database, cluster and
# version-control daemons of Debian, each on PORT on loopback with its files in $TESTBED_DIR.
# Sourced after lib.sh and daemons.lib.sh (testbed_dir first).

# Bacula's three daemons share one password, which no probe knows. Director on PORT (its catalog
# is an SQLite file that bacula-dir creates from the packaged schema).
BACULA_PASSWORD=portprobe-testbed

start_bacula_dir() {
    local port=$1
    local d="$TESTBED_DIR/bacula-dir-$port"
    mkdir -p "$d"
    sqlite3 "$d/bacula.db" </usr/share/dbconfig-common/data/bacula-director-sqlite3/install/sqlite3
    cat >"$d/bacula-dir.conf" <<CONF
Director {
  Name = testbed-dir
  DIRport = $port
  DirAddress = 127.0.0.1
  QueryFile = "/etc/bacula/scripts/query.sql"
  WorkingDirectory = "$d"
  PidDirectory = "$d"
  Maximum Concurrent Jobs = 1
  Password = "$BACULA_PASSWORD"
  Messages = Standard
}
Catalog {
  Name = MyCatalog
  dbname = "bacula"; DB Address = ""; dbuser = ""; dbpassword = ""
}
Messages {
  Name = Standard
  console = all, !skipped, !saved
}
Job {
  Name = testbed-job
  Type = Backup
  Client = testbed-fd
  FileSet = testbed-set
  Storage = testbed-sd
  Pool = testbed-pool
  Messages = Standard
}
FileSet {
  Name = testbed-set
  Include { File = $d/none }
}
Client {
  Name = testbed-fd
  Address = 127.0.0.1
  FDPort = $((port + 1))
  Catalog = MyCatalog
  Password = "$BACULA_PASSWORD"
}
Storage {
  Name = testbed-sd
  Address = 127.0.0.1
  SDPort = $((port + 2))
  Password = "$BACULA_PASSWORD"
  Device = FileStorage
  Media Type = File
}
Pool {
  Name = testbed-pool
  Pool Type = Backup
}
CONF
    setsid bacula-dir -f -c "$d/bacula-dir.conf" >"$d/log" 2>&1 &
}

start_bacula_fd() {
    local port=$1
    local d="$TESTBED_DIR/bacula-fd-$port"
    mkdir -p "$d"
    cat >"$d/bacula-fd.conf" <<CONF
Director {
  Name = testbed-dir
  Password = "$BACULA_PASSWORD"
}
FileDaemon {
  Name = testbed-fd
  FDport = $port
  FDAddress = 127.0.0.1
  WorkingDirectory = "$d"
  Pid Directory = "$d"
  Maximum Concurrent Jobs = 1
}
Messages {
  Name = Standard
  director = testbed-dir = all, !skipped, !restored
}
CONF
    setsid bacula-fd -f -c "$d/bacula-fd.conf" >"$d/log" 2>&1 &
}

start_bacula_sd() {
    local port=$1
    local d="$TESTBED_DIR/bacula-sd-$port"
    mkdir -p "$d/archive"
    cat >"$d/bacula-sd.conf" <<CONF
Storage {
  Name = testbed-sd
  SDPort = $port
  SDAddress = 127.0.0.1
  WorkingDirectory = "$d"
  Pid Directory = "$d"
  Maximum Concurrent Jobs = 1
}
Director {
  Name = testbed-dir
  Password = "$BACULA_PASSWORD"
}
Device {
  Name = FileStorage
  Media Type = File
  Archive Device = $d/archive
  LabelMedia = yes
  Random Access = yes
  AutomaticMount = yes
  RemovableMedia = no
  AlwaysOpen = no
}
Messages {
  Name = Standard
  director = testbed-dir = all
}
CONF
    setsid bacula-sd -f -c "$d/bacula-sd.conf" >"$d/log" 2>&1 &
}

# Tarantool's binary protocol on PORT (box.cfg in a script of its own).
start_tarantool() {
    local port=$1
    local d="$TESTBED_DIR/tarantool-$port"
    mkdir -p "$d"
    cat >"$d/init.lua" <<LUA
box.cfg{listen = '127.0.0.1:$port', work_dir = '$d', log_level = 2}
LUA
    setsid tarantool "$d/init.lua" >"$d/log" 2>&1 &
}

# apt-cacher-ng on PORT, its cache and logs in its directory.
start_apt_cacher_ng() {
    local port=$1
    local d="$TESTBED_DIR/acng-$port"
    mkdir -p "$d/cache" "$d/log"
    setsid apt-cacher-ng -c /etc/apt-cacher-ng ForeGround=1 Port="$port" BindAddress=127.0.0.1 \
        CacheDir="$d/cache" LogDir="$d/log" PidFile="$d/pid" SocketPath="$d/socket" \
        >"$d/out" 2>&1 &
}

# Fossil's own HTTP server on PORT, one empty repository.
start_fossil() {
    local port=$1
    local d="$TESTBED_DIR/fossil-$port"
    mkdir -p "$d"
    HOME=$d USER=testbed fossil init "$d/repo.fossil" >/dev/null 2>&1
    HOME=$d USER=testbed setsid fossil server --localhost --port "$port" "$d/repo.fossil" >"$d/log" 2>&1 &
}

# Mercurial's built-in web server (hg serve) on PORT, one empty repository.
start_hg_serve() {
    local port=$1
    local d="$TESTBED_DIR/hg-$port"
    mkdir -p "$d/repo"
    HOME=$d hg init "$d/repo"
    HOME=$d setsid hg serve -R "$d/repo" -a 127.0.0.1 -p "$port" >"$d/log" 2>&1 &
}

# Breezy's smart server (bzr:// protocol, brz serve) on PORT, read-only.
start_brz_serve() {
    local port=$1
    local d="$TESTBED_DIR/brz-$port"
    mkdir -p "$d/repo"
    HOME=$d setsid brz serve --listen=127.0.0.1 --port="$port" --directory="$d/repo" >"$d/log" 2>&1 &
}

# GlusterFS management daemon on PORT (24007), its state in its directory.
start_glusterd() {
    local port=$1
    local d="$TESTBED_DIR/glusterd-$port"
    mkdir -p "$d/lib" "$d/run"
    cat >"$d/glusterd.vol" <<CONF
volume management
    type mgmt/glusterd
    option working-directory $d/lib
    option transport-type socket
    option transport.socket.listen-port $port
    option transport.socket.bind-address 127.0.0.1
    option transport.socket.keepalive-time 10
    option transport.socket.keepalive-interval 2
    option transport.socket.read-fail-log off
    option transport.rdma.bind-address 127.0.0.1
    option ping-timeout 0
    option event-threads 1
end-volume
CONF
    setsid glusterd -N -f "$d/glusterd.vol" -p "$d/pid" -l "$d/log" --no-daemon >"$d/out" 2>&1 &
}

# tgt, the Linux SCSI target framework, as an iSCSI target on PORT with one target (no LUN).
# Its control socket (/var/run/tgtd/socket.N) is not in the namespace: N is this script's pid,
# so two beds never share one. tgtd ignores SIGTERM: stop_tgtd kills it and removes the socket.
TGTD_PID=
stop_tgtd() {
    [ -n "$TGTD_PID" ] && kill -9 "$TGTD_PID" 2>/dev/null
    rm -f "/var/run/tgtd/socket.$$" "/var/run/tgtd/socket.$$.lock"
    return 0
}

start_tgtd() {
    local port=$1
    local d="$TESTBED_DIR/tgtd-$port"
    mkdir -p "$d"
    setsid tgtd -f -C $$ --iscsi "portal=127.0.0.1:$port" >"$d/log" 2>&1 &
    TGTD_PID=$!
    local i
    for i in $(seq 1 50); do
        tgtadm -C $$ --lld iscsi --op new --mode target --tid 1 \
            -T iqn.2026-01.example.testbed:disk1 2>/dev/null && break
        sleep 0.1
    done
    tgtadm -C $$ --lld iscsi --op bind --mode target --tid 1 -I ALL
}

# MooseFS master on PORT (metaloggers), PORT+1 (chunkservers) and PORT+2 (clients), an empty
# file system in its directory.
start_mfsmaster() {
    local port=$1
    local d="$TESTBED_DIR/mfsmaster-$port"
    mkdir -p "$d/data"
    cp /var/lib/mfs/metadata.mfs.empty "$d/data/metadata.mfs"
    echo '* / rw' >"$d/mfsexports.cfg"
    : >"$d/mfstopology.cfg"
    cat >"$d/mfsmaster.cfg" <<CONF
WORKING_USER = root
WORKING_GROUP = root
DATA_PATH = $d/data
EXPORTS_FILENAME = $d/mfsexports.cfg
TOPOLOGY_FILENAME = $d/mfstopology.cfg
MATOML_LISTEN_HOST = 127.0.0.1
MATOML_LISTEN_PORT = $port
MATOCS_LISTEN_HOST = 127.0.0.1
MATOCS_LISTEN_PORT = $((port + 1))
MATOCL_LISTEN_HOST = 127.0.0.1
MATOCL_LISTEN_PORT = $((port + 2))
CONF
    setsid mfsmaster -c "$d/mfsmaster.cfg" -f >"$d/log" 2>&1 &
}

# XRootD data server on PORT exporting an empty directory; it refuses to run as root.
start_xrootd() {
    local port=$1
    local d="$TESTBED_DIR/xrootd-$port"
    mkdir -p "$d/data"
    cat >"$d/xrootd.cfg" <<CONF
all.export /
oss.localroot $d/data
xrd.port $port
CONF
    chown -R nobody "$d"
    setsid setpriv --reuid=nobody --regid=nogroup --clear-groups \
        xrootd -c "$d/xrootd.cfg" -n testbed -l "$d/xrootd.log" -a "$d" >"$d/log" 2>&1 &
}

# Pgpool-II in front of a PostgreSQL that is not there (the answers we read are pgpool's own),
# on PORT, as nobody. pgpool2 conflicts with pcp (both ship a libpcp): it is unpacked, not
# installed (storage.sh --fetch, with services.lib.sh's fetch_unpacked).
start_pgpool() {
    local port=$1
    local d="$TESTBED_DIR/pgpool-$port"
    local root lib
    root=$(unpacked_dir pgpool2)/root
    lib=$(unpacked_dir libpgpool2)/root/usr/lib/x86_64-linux-gnu
    mkdir -p "$d"
    cat >"$d/pgpool.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
socket_dir = '$d'
pcp_listen_addresses = ''
pcp_socket_dir = '$d'
pid_file_name = '$d/pgpool.pid'
logdir = '$d'
backend_hostname0 = '127.0.0.1'
backend_port0 = $((port + 1))
backend_weight0 = 1
num_init_children = 2
CONF
    : >"$d/pcp.conf"
    chown -R nobody "$d"
    LD_LIBRARY_PATH=$lib setsid setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$root/usr/sbin/pgpool" -n -f "$d/pgpool.conf" -F "$d/pcp.conf" >"$d/log" 2>&1 &
}

# apt-cacher (Perl) in daemon mode on PORT, as www-data, its cache and logs in its directory.
start_apt_cacher() {
    local port=$1
    local d="$TESTBED_DIR/apt-cacher-$port"
    mkdir -p "$d/cache" "$d/logs"
    chown -R www-data "$d"
    setsid /usr/sbin/apt-cacher -R 3 -c /etc/apt-cacher/apt-cacher.conf daemon_port="$port" \
        daemon_addr=127.0.0.1 cache_dir="$d/cache" log_dir="$d/logs" user=www-data group=www-data \
        >"$d/log" 2>&1 &
}

# csync2's daemon on PORT, one group of no files and its own key.
start_csync2() {
    local port=$1
    local d="$TESTBED_DIR/csync2-$port"
    mkdir -p "$d"
    csync2 -k "$d/key" 2>/dev/null
    setsid csync2 -ii -N localhost -D "$d" -p "$port" >"$d/log" 2>&1 &
}

# A one-monitor Ceph cluster: messenger v2 on PORT (3300), v1 on 6789, no authentication.
start_ceph_mon() {
    local port=$1
    local d="$TESTBED_DIR/ceph-mon-$port"
    local fsid addrs
    mkdir -p "$d/mon"
    fsid=$(cat /proc/sys/kernel/random/uuid)
    addrs="[v2:127.0.0.1:$port,v1:127.0.0.1:6789]"
    cat >"$d/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = $addrs
auth cluster required = none
auth service required = none
auth client required = none
run dir = $d
log file = $d/ceph.log
admin socket = $d/\$name.asok
CONF
    monmaptool --create --fsid "$fsid" --addv a "$addrs" "$d/monmap" >/dev/null
    ceph-mon -c "$d/ceph.conf" --mkfs -i a --monmap "$d/monmap" --mon-data "$d/mon" >"$d/log" 2>&1
    setsid ceph-mon -c "$d/ceph.conf" -i a -f --mon-data "$d/mon" >>"$d/log" 2>&1 &
}

# MIT kadmind with a realm of its own: kpasswd on PORT (464), kadmin on 749.
start_kadmind() {
    local port=$1
    local d="$TESTBED_DIR/kadmind-$port"
    mkdir -p "$d"
    cat >"$d/krb5.conf" <<CONF
[libdefaults]
 default_realm = TESTBED.EXAMPLE
[realms]
 TESTBED.EXAMPLE = {
  kdc = 127.0.0.1:88
  admin_server = 127.0.0.1:749
 }
CONF
    cat >"$d/kdc.conf" <<CONF
[realms]
 TESTBED.EXAMPLE = {
  database_name = $d/principal
  key_stash_file = $d/stash
  acl_file = $d/kadm5.acl
  kadmind_listen = 127.0.0.1:749
  kpasswd_listen = 127.0.0.1:$port
 }
[logging]
 admin_server = FILE:$d/kadmind.log
CONF
    : >"$d/kadm5.acl"
    KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf" \
        kdb5_util create -s -r TESTBED.EXAMPLE -P testbed-master >"$d/kdb5_util.log" 2>&1
    KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf" \
        setsid kadmind -nofork -P "$d/kadmind.pid" >"$d/log" 2>&1 &
}
