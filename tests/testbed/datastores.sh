#!/usr/bin/env bash
# The data-store and queue test bed: real Debian daemons that answer only when spoken to, on
# loopback in a network namespace of its own, then runs "$@" there. Needs real root.
# Usage: unshare -n tests/testbed/datastores.sh COMMAND [ARGS...]
#   amqp 5672 (rabbitmq-server), nats 4222 (nats-server), zookeeper 2181, beanstalkd 11300,
#   gearman 4730 (gearmand), pgbouncer 6432, etcd 2379, influxdb 8086 (influxd),
#   sphinx 9306 (SphinxQL) and 9312 (its API), clickhouse 8123 (HTTP) and 9000 (native)
# RabbitMQ and ZooKeeper run on the Erlang and Java VMs and take ~15 s to listen (more on a
# loaded machine: the waits allow 60 and 40 s).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"

# Waits until something accepts on 127.0.0.1:PORT, at most SECONDS.
wait_port_long() {
    local port=$1 secs=$2 i
    for i in $(seq 1 $((secs * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "testbed: nothing listens on port $port after $secs s" >&2
    return 1
}

# RabbitMQ on PORT, node rabbit@localhost, everything (mnesia, logs, cookie) in its directory;
# the Erlang distribution port is PORT+20000 and epmd runs inside the namespace.
start_rabbitmq() {
    local port=$1
    local d="$TESTBED_DIR/rabbitmq-$port"
    mkdir -p "$d"
    echo '[].' >"$d/enabled_plugins"
    : >"$d/rabbitmq.conf"
    HOME=$d RABBITMQ_BASE=$d RABBITMQ_MNESIA_BASE=$d/mnesia RABBITMQ_LOG_BASE=$d/logs \
        RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$((port + 20000)) \
        RABBITMQ_CONFIG_FILE=$d/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins \
        RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config RABBITMQ_CONF_ENV_FILE=$d/env.conf \
        RABBITMQ_PID_FILE=$d/pid RABBITMQ_LOGS=- \
        setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$d/log" 2>&1 &
}

# nats-server on PORT, server name testbed-nats.
start_nats() {
    local port=$1
    setsid nats-server -a 127.0.0.1 -p "$port" -n testbed-nats >"$TESTBED_DIR/nats-$port.log" 2>&1 &
}

# ZooKeeper standalone on PORT (client port only; no admin server).
start_zookeeper() {
    local port=$1
    local d="$TESTBED_DIR/zookeeper-$port"
    mkdir -p "$d/data"
    cat >"$d/zoo.cfg" <<CONF
tickTime=2000
dataDir=$d/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
CONF
    setsid java -Xmx256m -Dzookeeper.log.dir="$d" -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/log" 2>&1 &
}

start_beanstalkd() {
    local port=$1
    setsid beanstalkd -l 127.0.0.1 -p "$port" >"$TESTBED_DIR/beanstalkd-$port.log" 2>&1 &
}

start_gearmand() {
    local port=$1
    setsid gearmand --listen=127.0.0.1 --port="$port" --log-file=stderr --user=nobody \
        >"$TESTBED_DIR/gearmand-$port.log" 2>&1 &
}

# PgBouncer on PORT in front of a PostgreSQL that need not exist (the answers we read come
# from pgbouncer itself); it refuses to run as root.
start_pgbouncer() {
    local port=$1
    local d="$TESTBED_DIR/pgbouncer-$port"
    mkdir -p "$d"
    cat >"$d/pgbouncer.ini" <<CONF
[databases]
testbed = host=127.0.0.1 port=5432 dbname=testbed
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $d/users.txt
pidfile = $d/pgbouncer.pid
logfile = $d/pgbouncer.log
CONF
    echo '"testbed" ""' >"$d/users.txt"
    chown -R nobody "$d"
    setsid pgbouncer -u nobody "$d/pgbouncer.ini" >"$d/log" 2>&1 &
}

start_etcd() {
    local port=$1
    local d="$TESTBED_DIR/etcd-$port"
    mkdir -p "$d"
    setsid etcd --name testbed --data-dir "$d/data" \
        --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
        --listen-peer-urls "http://127.0.0.1:$((port + 1))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
        --initial-cluster "testbed=http://127.0.0.1:$((port + 1))" >"$d/log" 2>&1 &
}

# InfluxDB 1.x HTTP API on PORT; every other listener off or on loopback.
start_influxd() {
    local port=$1
    local d="$TESTBED_DIR/influxdb-$port"
    mkdir -p "$d"
    cat >"$d/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$((port + 2))"
[meta]
  dir = "$d/meta"
[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
    setsid influxd -config "$d/influxdb.conf" >"$d/log" 2>&1 &
}

# Sphinx searchd: SphinxQL (MySQL protocol) on PORT, its own binary API on PORT+6, one empty
# real-time index (searchd refuses to start without an index).
start_searchd() {
    local port=$1
    local d="$TESTBED_DIR/searchd-$port"
    mkdir -p "$d"
    cat >"$d/sphinx.conf" <<CONF
index empty
{
    type = rt
    path = $d/rt
    rt_field = title
    rt_attr_uint = gid
}
searchd
{
    listen = 127.0.0.1:$port:mysql41
    listen = 127.0.0.1:$((port + 6))
    log = $d/searchd.log
    query_log = $d/query.log
    pid_file = $d/searchd.pid
    binlog_path = $d
}
CONF
    setsid searchd --config "$d/sphinx.conf" --nodetach >"$d/log" 2>&1 &
}

# ClickHouse: HTTP on PORT, native protocol on PORT+877 (8123 and 9000), as nobody.
start_clickhouse() {
    local port=$1
    local d="$TESTBED_DIR/clickhouse-$port"
    mkdir -p "$d/data" "$d/tmp"
    cat >"$d/config.xml" <<CONF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>$port</http_port>
  <tcp_port>$((port + 877))</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
CONF
    chown -R nobody "$d"
    setsid setpriv --reuid=nobody --regid=nogroup --clear-groups \
        clickhouse-server --config-file="$d/config.xml" >"$d/log" 2>&1 &
}

need_root
ns_init
testbed_dir
start_rabbitmq 5672
start_zookeeper 2181
start_nats 4222
start_beanstalkd 11300
start_gearmand 4730
start_pgbouncer 6432
start_etcd 2379
start_influxd 8086
start_searchd 9306
start_clickhouse 8123
for port in 4222 11300 4730 6432 2379 8086 9306 9312 8123 9000 2181; do
    wait_port_long "$port" 40 || { tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*.log 2>/dev/null >&2; exit 99; }
done
wait_port_long 5672 60 || { tail -n 20 "$TESTBED_DIR"/rabbitmq-*/log >&2; exit 99; }
# ZooKeeper listens before it serves: srvr says so until it knows its mode.
for i in $(seq 1 200); do
    printf srvr | socat -t2 - TCP:127.0.0.1:2181 2>/dev/null | grep -q '^Mode: ' && break
    [ "$i" = 200 ] && { echo "testbed: zookeeper does not serve after 20 s" >&2; exit 99; }
    sleep 0.1
done
run_command "$@"
