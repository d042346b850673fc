#!/usr/bin/env bash
# The RPC and Java test bed: real Debian daemons that answer only when spoken to, on loopback
# in a network namespace of its own, then runs "$@" there. Needs real root.
# Usage: unshare -n tests/testbed/industrial.sh COMMAND [ARGS...]
#   rpcbind 111 (with mountd and nfs registrations made as NFS does, by PMAPPROC_SET),
#   java-rmi 1099 (rmiregistry) with JDWP 5005 in the same JVM, ajp13 8009 and http 8080
#   (tomcat10, with Debian's default ROOT application), openwire 61616 (activemq)
# The Java daemons take ~10 s to listen (more on a loaded machine: the waits allow 90 s).
# Industrial protocols (Modbus/TCP, S7comm, EtherNet/IP, DNP3) have no Debian daemons: their
# servers are written from the specifications in tests/it/testbed_industrial.rs.
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

# rpcbind in a mount namespace of its own with a fresh /run (its lock file and local socket
# live there), so it never meets the host's rpcbind.
start_rpcbind() {
    setsid unshare -m --propagation private sh -c \
        'mount -t tmpfs tmpfs /run && mkdir -p /run/rpcbind && exec rpcbind -f' \
        >"$TESTBED_DIR/rpcbind.log" 2>&1 &
}

# Registers PROGRAM VERSION PORT over TCP with PMAPPROC_SET (RFC 1833 §3.2), from a privileged
# source port on loopback as rpc.mountd and nfsd do.
pmap_set() {
    local prog=$1 vers=$2 port=$3 srcport=$4
    local hex
    hex=$(printf '80000038505000020000000000000002000186a0000000020000000100000000000000000000000000000000%08x%08x00000006%08x' \
        "$prog" "$vers" "$port")
    printf '%s' "$hex" | xxd -r -p | socat -t1 - "TCP:127.0.0.1:111,sourceport=$srcport" >/dev/null
}

# rmiregistry on 1099, its JVM also serving JDWP on 5005 (a debug agent left listening).
start_rmiregistry() {
    setsid rmiregistry -J-Xmx64m \
        -J-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005 1099 \
        >"$TESTBED_DIR/rmiregistry.log" 2>&1 &
}

# Tomcat 10 with Debian's configuration, HTTP on 8080 and an AJP/1.3 connector on 8009
# (Debian ships it commented out), in a CATALINA_BASE of its own.
start_tomcat() {
    local d="$TESTBED_DIR/tomcat10"
    mkdir -p "$d/logs" "$d/temp" "$d/work" "$d/webapps"
    cp -r /etc/tomcat10 "$d/conf"
    cp -r /var/lib/tomcat10/webapps/ROOT "$d/webapps/ROOT"
    sed -i 's|<Connector port="8080" protocol="HTTP/1.1"|<Connector protocol="AJP/1.3" address="127.0.0.1" port="8009" secretRequired="false" />\n    <Connector port="8080" address="127.0.0.1" protocol="HTTP/1.1"|' \
        "$d/conf/server.xml"
    CATALINA_HOME=/usr/share/tomcat10 CATALINA_BASE=$d CATALINA_TMPDIR=$d/temp \
        JAVA_OPTS="-Xmx128m -Djava.awt.headless=true" \
        setsid /usr/share/tomcat10/bin/catalina.sh run >"$d/log" 2>&1 &
}

# ActiveMQ with Debian's instance configuration (OpenWire on 127.0.0.1:61616), its data in a
# directory of its own: the JVM started as Debian's wrapper starts it, without the wrapper's
# switch to the activemq user and its fixed /var/lib/activemq base.
start_activemq() {
    local d="$TESTBED_DIR/activemq"
    mkdir -p "$d/data" "$d/tmp"
    cp -r /etc/activemq/instances-available/main "$d/conf"
    local opens=""
    for m in java.base/java.lang java.base/java.util java.base/java.net java.base/java.security \
        java.base/java.util.concurrent java.naming/javax.naming.spi java.rmi/sun.rmi.transport.tcp; do
        opens="$opens --add-opens=$m=ALL-UNNAMED"
    done
    # shellcheck disable=SC2086
    setsid java -Xmx256m -Djava.awt.headless=true -Djava.io.tmpdir="$d/tmp" $opens \
        -Dactivemq.classpath="$d/conf" -Dactivemq.home=/usr/share/activemq -Dactivemq.base="$d" \
        -Dactivemq.conf="$d/conf" -Dactivemq.data="$d/data" \
        -jar /usr/share/activemq/bin/activemq.jar start "xbean:file:$d/conf/activemq.xml" >"$d/log" 2>&1 &
}

need_root
ns_init
testbed_dir
start_rpcbind
start_rmiregistry
start_tomcat
start_activemq
wait_port_long 111 10 || { cat "$TESTBED_DIR/rpcbind.log" >&2; exit 99; }
pmap_set 100005 3 20048 700
pmap_set 100003 3 2049 701
for port in 1099 5005 8009 8080 61616; do
    wait_port_long "$port" 90 || { tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*.log 2>/dev/null >&2; exit 99; }
done
# Tomcat binds its connectors before it deploys, and answers only once it has started.
for i in $(seq 1 300); do
    printf 'GET / HTTP/1.0\r\n\r\n' | socat -t2 - TCP:127.0.0.1:8080 2>/dev/null | grep -q '^HTTP/' && break
    [ "$i" = 300 ] && { echo "testbed: tomcat does not serve after 60 s" >&2; tail -n 20 "$TESTBED_DIR/tomcat10/log" >&2; exit 99; }
    sleep 0.2
done
run_command "$@"
