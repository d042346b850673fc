#!/usr/bin/env bash
# The hardened test bed: the same daemons as daemons.sh with the fix the audit recommends
# applied to each, in a network namespace of its own; then runs "$@" there. Needs real root.
#   ssh 22 (DebianBanner no), http 80 (server_tokens off), ftp 21 (ftpd_banner),
#   smtp 25 (smtpd_banner = $myhostname ESMTP), imap 143 / pop3 110 (login_greeting),
#   redis 6379 (requirepass)
# Usage: unshare -n tests/testbed/hardened.sh COMMAND [ARGS...]
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
need_root
ns_init
testbed_dir
start_sshd 22 "DebianBanner no"
start_nginx 80 "server_tokens off;"
start_vsftpd 21 "ftpd_banner=Welcome."
start_postfix 25 'smtpd_banner=$myhostname ESMTP'
start_dovecot 143 110 "login_greeting = Server ready."
start_redis 6379 --requirepass portprobe-test-secret
for port in 22 80 21 25 143 110 6379; do
    wait_port "$port" || { tail -n 20 "$TESTBED_DIR"/*/*log "$TESTBED_DIR"/*.log 2>/dev/null >&2; exit 99; }
done
run_command "$@"
