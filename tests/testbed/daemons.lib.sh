# Real Debian daemons for the test bed, each started in the foreground as a job of the calling
# script, with its configuration, pid file, sockets and logs in $TESTBED_DIR. Source after
# lib.sh, call testbed_dir first. Every start_* takes the port and optional extra config lines
# (later issues start hardened and TLS variants this way).

testbed_dir() {
    TESTBED_DIR=$(mktemp -d /tmp/portprobe-testbed.XXXXXX)
    chmod 755 "$TESTBED_DIR" # daemons drop to their own users and must reach their files
    trap 'ns_cleanup; rm -rf "$TESTBED_DIR"' EXIT
}

need_root() {
    if [ "$(id -u)" != 0 ] || ! touch /proc/self/.portprobe-probe 2>/dev/null && [ ! -w /etc ]; then
        echo "testbed: the daemons need real root (they switch to their own users)" >&2
        exit 98
    fi
}

# sshd PORT [sshd_config lines...]
start_sshd() {
    local port=$1; shift
    local d="$TESTBED_DIR/sshd-$port"
    mkdir -p "$d" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$d/host_ed25519" </dev/null
    {
        echo "Port $port"
        echo "ListenAddress 127.0.0.1"
        echo "HostKey $d/host_ed25519"
        echo "PidFile $d/sshd.pid"
        echo "UsePAM no"
        printf '%s\n' "$@"
    } >"$d/sshd_config"
    /usr/sbin/sshd -D -e -f "$d/sshd_config" >"$d/log" 2>&1 &
}

# nginx PORT [http-block lines...]; with NGINX_TLS="CERT KEY" it serves HTTPS.
start_nginx() {
    local port=$1; shift
    local d="$TESTBED_DIR/nginx-$port" listen="127.0.0.1:$port" tls=""
    if [ -n "${NGINX_TLS:-}" ]; then
        local cert key
        read -r cert key <<<"$NGINX_TLS"
        listen="$listen ssl"
        tls="ssl_certificate $cert; ssl_certificate_key $key;"
    fi
    mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<CONF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    $(printf '%s\n' "$@")
    server {
        listen $listen;
        $tls
        location / { return 200 "portprobe test bed\n"; }
    }
}
CONF
    nginx -c "$d/nginx.conf" -g 'daemon off;' >"$d/log" 2>&1 &
}

# vsftpd PORT [vsftpd.conf lines...]
start_vsftpd() {
    local port=$1; shift
    local d="$TESTBED_DIR/vsftpd-$port"
    mkdir -p "$d" /var/run/vsftpd/empty
    {
        echo "listen=YES"
        echo "listen_address=127.0.0.1"
        echo "listen_port=$port"
        echo "background=NO"
        echo "anonymous_enable=YES"
        echo "anon_root=/var/run/vsftpd/empty"
        echo "no_anon_password=YES"
        echo "local_enable=NO"
        echo "xferlog_enable=NO"
        echo "vsftpd_log_file=$d/vsftpd.log"
        echo "secure_chroot_dir=/var/run/vsftpd/empty"
        printf '%s\n' "$@"
    } >"$d/vsftpd.conf"
    vsftpd "$d/vsftpd.conf" >"$d/log" 2>&1 &
}

# postfix PORT [main.cf name=value settings...]
start_postfix() {
    local port=$1; shift
    local d="$TESTBED_DIR/postfix-$port"
    mkdir -p "$d/spool" "$d/data"
    chown postfix "$d/data"
    cp -r /etc/postfix "$d/conf"
    postconf -c "$d/conf" -e \
        "queue_directory=$d/spool" "data_directory=$d/data" "inet_interfaces=127.0.0.1" \
        "inet_protocols=ipv4" "myhostname=mail.testbed.example" "mydestination=" \
        "alias_maps=" "alias_database=" "maillog_file=/dev/stdout" "relayhost=" \
        "smtpd_tls_security_level=none" "compatibility_level=3.6" "$@"
    postconf -c "$d/conf" -M# smtp/inet
    postconf -c "$d/conf" -M -e "$port/inet=$port inet n - n - - smtpd"
    # check creates the queue directories; its warnings (and, with several test beds starting
    # at once, its occasional lock complaints) are kept in check.log, not fatal.
    postfix -c "$d/conf" check >"$d/check.log" 2>&1 || true
    postfix -c "$d/conf" start-fg >"$d/log" 2>&1 &
}

# dovecot IMAP_PORT POP3_PORT [dovecot.conf lines...]
# With DOVECOT_TLS="IMAPS_PORT POP3S_PORT CERT KEY" it also serves implicit TLS and STARTTLS.
start_dovecot() {
    local imap=$1 pop3=$2; shift 2
    local imaps=0 pop3s=0 ssl=no cert="" key=""
    if [ -n "${DOVECOT_TLS:-}" ]; then
        read -r imaps pop3s cert key <<<"$DOVECOT_TLS"
        ssl=yes
    fi
    local d="$TESTBED_DIR/dovecot-$imap"
    mkdir -p "$d/run" "$d/state"
    cat >"$d/dovecot.conf" <<CONF
base_dir = $d/run
state_dir = $d/state
protocols = imap pop3
listen = 127.0.0.1
ssl = $ssl
$( [ "$ssl" = yes ] && printf 'ssl_cert = <%s\nssl_key = <%s\n' "$cert" "$key" )
log_path = $d/dovecot.log
disable_plaintext_auth = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service imap-login {
  inet_listener imap {
    port = $imap
  }
  inet_listener imaps {
    port = $imaps
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $pop3
  }
  inet_listener pop3s {
    port = $pop3s
  }
}
$(printf '%s\n' "$@")
CONF
    dovecot -F -c "$d/dovecot.conf" >"$d/log" 2>&1 &
}

# redis PORT [redis-server --options...]
start_redis() {
    local port=$1; shift
    local d="$TESTBED_DIR/redis-$port"
    mkdir -p "$d"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$d" --save '' --appendonly no \
        --daemonize no --logfile "$d/redis.log" "$@" >"$d/log" 2>&1 &
}

# memcached PORT [options...]
start_memcached() {
    local port=$1; shift
    memcached -u memcache -l 127.0.0.1 -p "$port" -U 0 "$@" >"$TESTBED_DIR/memcached-$port.log" 2>&1 &
}

# mariadb PORT [mariadbd options...]
start_mariadb() {
    local port=$1; shift
    local d="$TESTBED_DIR/mariadb-$port"
    mkdir -p "$d"
    chown mysql:mysql "$d"
    # Several test beds start at once in CI; an install that loses a race is tried again.
    local try
    for try in 1 2 3; do
        rm -rf "$d/data"
        if mariadb-install-db --no-defaults --datadir="$d/data" --user=mysql --skip-test-db \
            --auth-root-authentication-method=normal >"$d/install.log" 2>&1; then
            break
        fi
        if [ "$try" = 3 ]; then
            tail -n 20 "$d/install.log" >&2
            return 1
        fi
        sleep 1
    done
    mariadbd --no-defaults --datadir="$d/data" --socket="$d/sock" --pid-file="$d/pid" \
        --port="$port" --bind-address=127.0.0.1 --user=mysql --skip-log-bin \
        --innodb-buffer-pool-size=16M "$@" >"$d/log" 2>&1 &
}

# postgresql PORT [postgres -c options...]
start_postgres() {
    local port=$1; shift
    local d="$TESTBED_DIR/postgres-$port"
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    mkdir -p "$d"
    chown postgres:postgres "$d"
    runuser -u postgres -- "$bin/initdb" -D "$d/data" -A trust -U postgres >"$d/initdb.log" 2>&1
    runuser -u postgres -- "$bin/postgres" -D "$d/data" -k "$d" -p "$port" \
        -c listen_addresses=127.0.0.1 "$@" >"$d/log" 2>&1 &
}

# Test certificates in DIR (EC P-256, made with openssl): a test CA (ca.pem); CA-signed
# localhost (SAN localhost, 127.0.0.1, ::1), expired (2020-2021) and wrongname (SAN
# wrong.example) certificates; and a self-signed localhost certificate. Each NAME.pem has NAME.key.
make_certs() {
    local d=$1
    mkdir -p "$d/newcerts"
    : >"$d/index.txt"
    echo 1000 >"$d/serial"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.pem" -days 30 \
        -subj "/CN=portprobe test CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $d
database = $d/index.txt
new_certs_dir = $d/newcerts
certificate = $d/ca.pem
private_key = $d/ca.key
serial = $d/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
CNF
    local name san start end
    for spec in "localhost|DNS:localhost,IP:127.0.0.1,IP:::1|now|30" \
                "expired|DNS:localhost,IP:127.0.0.1|20200101000000Z|20210101000000Z" \
                "wrongname|DNS:wrong.example|now|30"; do
        IFS='|' read -r name san start end <<<"$spec"
        local cn=${san%%,*}
        openssl req "${ec[@]}" -keyout "$d/$name.key" -out "$d/$name.csr" -subj "/CN=${cn#DNS:}" \
            -addext "subjectAltName=$san" -addext "basicConstraints=CA:FALSE" \
            -addext "extendedKeyUsage=serverAuth" 2>/dev/null
        if [ "$start" = now ]; then
            openssl ca -batch -config "$d/ca.cnf" -days "$end" -in "$d/$name.csr" -out "$d/$name.pem" -notext 2>/dev/null
        else
            openssl ca -batch -config "$d/ca.cnf" -startdate "$start" -enddate "$end" \
                -in "$d/$name.csr" -out "$d/$name.pem" -notext 2>/dev/null
        fi
    done
    openssl req -x509 "${ec[@]}" -keyout "$d/selfsigned.key" -out "$d/selfsigned.pem" -days 30 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -addext "basicConstraints=CA:FALSE" 2>/dev/null
    chmod 644 "$d"/*.pem "$d"/*.key
}

# openssl s_server answering HTTP with its status page: PORT CERT KEY [s_server options...]
start_s_server() {
    local port=$1 cert=$2 key=$3; shift 3
    openssl s_server -accept "$port" -cert "$cert" -key "$key" -www -quiet "$@" \
        </dev/null >"$TESTBED_DIR/s_server-$port.log" 2>&1 &
}

# The daemons below run in sessions of their own (setsid): some signal their whole process
# group when they stop, which would reach the test that started the bed.

# Samba's smbd on PORT (SMB2/3 only over direct TCP), standalone server named NETBIOS_NAME in
# workgroup TESTBED; every directory it writes is in $TESTBED_DIR. SMB_NAME sets the name.
start_smbd() {
    local port=$1; shift
    local d="$TESTBED_DIR/smbd-$port"
    mkdir -p "$d"/{lock,state,cache,private,ncalrpc,run}
    cat >"$d/smb.conf" <<CONF
[global]
workgroup = TESTBED
netbios name = ${SMB_NAME:-FILESRV}
server role = standalone server
interfaces = lo
bind interfaces only = yes
smb ports = $port
disable netbios = yes
pid directory = $d/run
lock directory = $d/lock
state directory = $d/state
cache directory = $d/cache
private dir = $d/private
ncalrpc dir = $d/ncalrpc
log file = $d/log.%m
$(printf '%s\n' "$@")
CONF
    setsid /usr/sbin/smbd --foreground --no-process-group -s "$d/smb.conf" --debug-stdout -d 1 \
        >"$d/log" 2>&1 &
}

# OpenLDAP's slapd on PORT with an empty mdb database for dc=testbed,dc=example.
start_slapd() {
    local port=$1; shift
    local d="$TESTBED_DIR/slapd-$port"
    mkdir -p "$d/db"
    cat >"$d/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
pidfile $d/slapd.pid
argsfile $d/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=testbed,dc=example"
rootdn "cn=admin,dc=testbed,dc=example"
directory $d/db
$(printf '%s\n' "$@")
CONF
    setsid /usr/sbin/slapd -d 0 -f "$d/slapd.conf" -h "ldap://127.0.0.1:$port/" >"$d/log" 2>&1 &
}

# Xvfb as display :N, listening on TCP port 6000+N only (no unix socket, no lock file in the
# host's /tmp), without access control for local clients beyond the X server's default.
start_xvfb() {
    local display=$1; shift
    setsid Xvfb ":$display" -listen tcp -nolisten unix -nolock "$@" >"$TESTBED_DIR/xvfb-$display.log" 2>&1 &
}

# x11vnc serving display :N (over TCP) on PORT, without a password.
start_x11vnc() {
    local display=$1 port=$2; shift 2
    setsid x11vnc -display "127.0.0.1:$display" -rfbport "$port" -listen 127.0.0.1 -nopw -forever \
        -shared -noipv6 -noshm "$@" >"$TESTBED_DIR/x11vnc-$port.log" 2>&1 &
}
