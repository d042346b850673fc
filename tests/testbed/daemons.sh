#!/usr/bin/env bash
# The daemon test bed: real Debian daemons on their usual ports on loopback, in a network
# namespace of its own, then runs "$@" there. Needs real root (the daemons switch users).
# Usage: unshare -n tests/testbed/daemons.sh COMMAND [ARGS...]
#   ssh 22, http 80 (nginx), ftp 21 (vsftpd), smtp 25 (postfix), imap 143 + pop3 110 (dovecot),
#   redis 6379, memcached 11211, mysql 3306 (mariadb), postgresql 5432
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
need_root
ns_init
testbed_dir
start_sshd 22
start_nginx 80
start_vsftpd 21
start_postfix 25
start_dovecot 143 110
start_redis 6379
start_memcached 11211
start_mariadb 3306
start_postgres 5432
for port in 22 80 21 25 143 110 6379 11211 3306 5432; do
    wait_port "$port" || { tail -n 20 "$TESTBED_DIR"/*/*log "$TESTBED_DIR"/*.log 2>/dev/null >&2; exit 99; }
done
run_command "$@"
