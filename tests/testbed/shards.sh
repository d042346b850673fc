#!/usr/bin/env bash
# Many addresses and ports in every state for shard/resume tests: on 127.0.0.16/28 (all local
# on loopback) ports 22 and 80 are open everywhere, 8080 only on 127.0.0.21, ports 7-9 of
# 127.0.0.19 are dropped (stealth) and every port of 127.0.0.23 is refused by ICMP
# admin-prohibited; the rest is closed. Then runs "$@" in that namespace.
# Usage: unshare -rn tests/testbed/shards.sh COMMAND [ARGS...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ns_init
nft -f - <<'NFT'
table inet portprobe_shards {
    chain input {
        type filter hook input priority 0; policy accept;
        ip daddr 127.0.0.19 tcp dport 7-9 drop
        ip daddr 127.0.0.23 tcp flags syn reject with icmpx type admin-prohibited
    }
}
NFT
# Deep accept queues: with socat's default backlog (5) parallel shards could overflow one and
# the kernel would drop SYNs (rightly reported filtered), making results depend on timing.
for port in 22 80; do
    socat -u "TCP-LISTEN:$port,reuseaddr,fork,backlog=1024" OPEN:/dev/null </dev/null >/dev/null 2>&1 &
    wait_port "$port"
done
socat -u "TCP-LISTEN:8080,bind=127.0.0.21,reuseaddr,fork,backlog=1024" OPEN:/dev/null </dev/null >/dev/null 2>&1 &
for i in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.21/8080) 2>/dev/null && break
    sleep 0.05
done
run_command "$@"
