#!/usr/bin/env bash
# The TLS test bed: daemons speaking TLS and STARTTLS, and openssl s_server with good, expired,
# mismatched and legacy-only setups, in a network namespace of its own; then runs "$@" there
# with $TESTBED_CA naming the test CA and $TESTBED_DIR/certs holding every certificate.
# Needs real root.
# Usage: unshare -n tests/testbed/tls.sh COMMAND [ARGS...]
#   443  nginx, self-signed certificate           993/995  dovecot imaps/pop3s (CA-signed)
#   143/110 dovecot STARTTLS/STLS   25 postfix STARTTLS   21 vsftpd AUTH TLS   5432 PostgreSQL ssl
#   4443 s_server, CA-signed localhost   7443 s_server, expired   9443 s_server, name wrong.example
#   8443 s_server restricted to TLS 1.0 (legacy; needs OpenSSL to allow it at SECLEVEL=0)
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/daemons.lib.sh"
need_root
ns_init
testbed_dir
c="$TESTBED_DIR/certs"
make_certs "$c"
NGINX_TLS="$c/selfsigned.pem $c/selfsigned.key" start_nginx 443
DOVECOT_TLS="993 995 $c/localhost.pem $c/localhost.key" start_dovecot 143 110
start_postfix 25 "smtpd_tls_security_level=may" "smtpd_tls_cert_file=$c/localhost.pem" \
    "smtpd_tls_key_file=$c/localhost.key"
start_vsftpd 21 "ssl_enable=YES" "rsa_cert_file=$c/localhost.pem" "rsa_private_key_file=$c/localhost.key" \
    "allow_anon_ssl=YES" "force_anon_logins_ssl=NO" "force_anon_data_ssl=NO" "require_ssl_reuse=NO"
pgdir="$TESTBED_DIR/pgcert"
mkdir -p "$pgdir"
cp "$c/localhost.pem" "$c/localhost.key" "$pgdir/"
chown -R postgres "$pgdir"
chmod 600 "$pgdir/localhost.key"
start_postgres 5432 -c ssl=on -c "ssl_cert_file=$pgdir/localhost.pem" -c "ssl_key_file=$pgdir/localhost.key"
start_s_server 4443 "$c/localhost.pem" "$c/localhost.key"
start_s_server 7443 "$c/expired.pem" "$c/expired.key"
start_s_server 9443 "$c/wrongname.pem" "$c/wrongname.key"
start_s_server 8443 "$c/localhost.pem" "$c/localhost.key" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
for port in 443 993 995 143 110 25 21 5432 4443 7443 9443 8443; do
    wait_port "$port" || { tail -n 20 "$TESTBED_DIR"/*/*log "$TESTBED_DIR"/*.log 2>/dev/null >&2; exit 99; }
done
export TESTBED_CA="$c/ca.pem" TESTBED_DIR
run_command "$@"
