#!/usr/bin/env bash
# The mail and web test bed: MTAs, mail proxies, FTP, news and web/application servers from
# Debian packages, on loopback in a network namespace of its own, then runs "$@" there. Needs
# real root (daemons switch users).
# Usage: unshare -n tests/testbed/mailweb.sh COMMAND [ARGS...]
#        tests/testbed/mailweb.sh --fetch   (first, outside the namespace: fetches and unpacks
#        the packages that cannot be installed beside the others, creates their users)
# The ports and daemons are listed in SERVICES below (PORT:NAME, NAME = start_NAME).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
. "$here/services.lib.sh"
. "$here/mailweb.lib.sh"
need_root
# OpenSMTPD's control socket has a fixed path (/var/run/smtpd.sock): one bed at a time. The
# daemons do not inherit the lock (9>&- below), so it ends with this script.
exec 9>/run/lock/portprobe-mailweb.lock
flock -w 300 9 || { echo "testbed: another mailweb bed held its lock for 5 minutes" >&2; exit 96; }
if [ "${1:-}" = --fetch ]; then
    UNPACKED_PACKAGES=$MAILWEB_UNPACKED fetch_unpacked
    mailweb_users
    exit
fi
ns_init
testbed_dir
trap 'ns_cleanup; rm -rf "$TESTBED_DIR"' EXIT

SERVICES="21:pure_ftpd 25:exim4 110:perdition_pop3 143:perdition 587:dovecot_submission
1143:nginx_mail 3110:courier_pop3 3143:courier_imap 2021:twistd_ftp 2025:twistd_mail 2121:pyftpdlib 2525:opensmtpd 2587:aiosmtpd
6969:opentracker
8001:py_http_server 8002:twistd_web 8003:tornado 8004:cherrypy 8005:werkzeug 8006:aiohttp
8007:gunicorn 8008:waitress 8009:uwsgi 8010:uvicorn 8011:webrick 8012:php_server
8013:perl_http_daemon 8014:busybox_httpd 8015:caddy 8016:h2o 8017:jetty9 8018:mini_httpd
8019:micro_httpd 8020:webfsd 8021:yaws 8022:thin 8023:mojo 8024:hypercorn"
# Daemons that listen on more than their own port: nginx's mail proxy (POP3, SMTP) and Twisted's
# mail server (POP3).
EXTRA_PORTS="1144 1145 2026"

ports=()
for spec in $SERVICES; do
    port=${spec%%:*} name=${spec#*:}
    ports+=("$port")
    "start_$name" "$port" 9>&-
done
# Daemons start in parallel; Jetty and Yaws (JVM, Erlang VM) take longest: up to 30 s each.
for port in "${ports[@]}" $EXTRA_PORTS; do
    wait_port "$port" 2>/dev/null || wait_port "$port" 2>/dev/null || wait_port "$port" 2>/dev/null ||
        wait_port "$port" 2>/dev/null || wait_port "$port" 2>/dev/null || wait_port "$port" || {
        tail -n 20 "$TESTBED_DIR"/*-"$port"/log "$TESTBED_DIR"/*-"$port"/*.log 2>/dev/null >&2
        exit 99
    }
done
run_command "$@"
