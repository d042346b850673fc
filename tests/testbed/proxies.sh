#!/usr/bin/env bash
# The proxy test bed: Dante (SOCKS5 and SOCKS4) and tinyproxy (HTTP CONNECT, open and with
# Basic authentication), with an echo service to reach through them, in a network namespace of
# its own; then runs "$@" there. Needs real root (danted switches users).
# Usage: unshare -n tests/testbed/proxies.sh COMMAND [ARGS...]
#   1080 danted (SOCKS5/SOCKS4, no authentication)   3128 tinyproxy   3129 tinyproxy, user pp / pass s3cret
#   7000 echo service: says "hello from target", then echoes
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
need_root
ns_init
testbed_dir
d="$TESTBED_DIR"
cat >"$d/danted.conf" <<CONF
logoutput: $d/danted.log
internal: 127.0.0.1 port = 1080
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 protocol: tcp }
CONF
/usr/sbin/danted -f "$d/danted.conf" -p "$d/danted.pid" </dev/null >/dev/null 2>&1 &
for port in 3128 3129; do
    {
        echo "Port $port"
        echo "Listen 127.0.0.1"
        echo "Timeout 30"
        echo "Allow 127.0.0.1"
        echo "LogFile \"$d/tinyproxy-$port.log\""
        echo "PidFile \"$d/tinyproxy-$port.pid\""
        echo "MaxClients 20"
        [ "$port" = 3129 ] && echo "BasicAuth pp s3cret"
    } >"$d/tinyproxy-$port.conf"
    tinyproxy -d -c "$d/tinyproxy-$port.conf" </dev/null >/dev/null 2>&1 &
done
socat TCP-LISTEN:7000,reuseaddr,fork SYSTEM:'echo hello from target; cat' </dev/null >/dev/null 2>&1 &
for port in 1080 3128 3129 7000; do
    wait_port "$port" || { tail -n 20 "$d"/*.log >&2 2>/dev/null; exit 99; }
done
export TESTBED_DIR
run_command "$@"
