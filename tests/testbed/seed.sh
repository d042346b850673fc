#!/usr/bin/env bash
# The seed scenario: port 22 open (a listener), 111 closed, 137 stealth (dropped) and 138
# filtered by ICMP admin-prohibited (UDP: 137 dropped, so open|filtered), then runs "$@" in
# that namespace.
# Usage: unshare -rn tests/testbed/seed.sh COMMAND [ARGS...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ns_init
nft -f - <<'NFT'
table inet portprobe_seed {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 137 drop
        tcp dport 138 reject with icmpx type admin-prohibited
        udp dport 137 drop
    }
}
NFT
start_listener 22
run_command "$@"
