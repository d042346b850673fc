#!/usr/bin/env bash
# The mail2 test bed: mail-path and filtering daemons (Sendmail, the Cyrus IMAP suite,
# amavisd-new, Dovecot's LMTP, OpenDMARC, c-icap, PHP-FPM, Knot Resolver, ziproxy, E2Guardian,
# ExaBGP, OpenNTPD) on loopback, in a network namespace of their own, then runs "$@" there.
# Needs real root (daemons switch users, Sendmail takes a UTS namespace of its own).
# Usage: unshare -n tests/testbed/mail2.sh COMMAND [ARGS...]
#        tests/testbed/mail2.sh --fetch   (first, outside the namespace: fetches and unpacks the
#        packages that cannot be installed beside the others: sendmail-bin removes postfix,
#        cyrus-imapd and cyrus-pop3d remove Dovecot's, openntpd systemd-timesyncd)
# The ports and daemons are listed in MAIL2_TCP and MAIL2_UDP below (PORT:NAME, NAME =
# start_NAME; further ports follow after slashes).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
. "$here/mail2.lib.sh"
need_root
UNPACKED_PACKAGES="sendmail-bin sendmail-cf cyrus-imapd cyrus-pop3d openntpd"
if [ "${1:-}" = --fetch ]; then
    fetch_unpacked
    openntpd_system
    exit
fi
# Two copies of the bed at once (cargo runs tests in parallel) lose Cyrus's master process in one
# of them, which exits without a word: one copy at a time. The lock goes with the last process.
exec 8>/tmp/portprobe-testbed-mail2.lock
flock -w 180 8 || { echo "testbed: another mail2 bed holds the lock for 180 s" >&2; exit 99; }
ns_init
testbed_dir

# Knot Resolver also answers DNS on UDP 53, OpenNTPD NTP on UDP 123.
MAIL2_TCP="25:sendmail 143/110/24/4190:cyrus 10024:amavisd 2424:dovecot_lmtp 8893:opendmarc
1344:c_icap 9000:php_fpm 53/8453:kresd 8080:ziproxy 8081:e2guardian 179:exabgp"
MAIL2_UDP="123:openntpd"

tcp_ports=()
for spec in $MAIL2_TCP; do
    name=${spec#*:}
    IFS=/ read -ra ports <<<"${spec%%:*}"
    "start_$name" "${ports[@]}"
    tcp_ports+=("${ports[@]}")
done
udp_ports=(53)
for spec in $MAIL2_UDP; do
    port=${spec%%:*} name=${spec#*:}
    "start_$name" "$port"
    udp_ports+=("$port")
done

# Waits until something is bound to UDP PORT (at most ~5 s).
wait_udp() {
    local port=$1 i
    for i in $(seq 1 100); do
        ss -Hlnu "sport = :$port" | grep -q . && return 0
        sleep 0.05
    done
    echo "testbed: nothing is bound to UDP port $port after 5 s" >&2
    return 1
}

# Daemons start in parallel; amavisd-new (Perl) takes longest.
for port in "${tcp_ports[@]}"; do
    wait_port "$port" || wait_port "$port" || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/*.log 2>/dev/null >&2
        exit 99
    }
done
for port in "${udp_ports[@]}"; do
    wait_udp "$port" || {
        tail -n 20 "$TESTBED_DIR"/*/log "$TESTBED_DIR"/*/*.log 2>/dev/null >&2
        exit 99
    }
done
run_command "$@"
