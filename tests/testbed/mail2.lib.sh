# Mail-path and filtering daemons for the mail2 test bed (tests/testbed/mail2.sh): Sendmail, the
# Cyrus IMAP suite, amavisd-new, Dovecot's LMTP, OpenDMARC, the c-icap ICAP server, PHP-FPM's
# FastCGI port, Knot Resolver and its web console, ziproxy, E2Guardian, ExaBGP and OpenNTPD.
# Each start_* takes the port, writes its configuration, state and logs below
# $TESTBED_DIR/NAME-PORT and starts the daemon in the foreground as a job of the calling script.
# Source after lib.sh, daemons.lib.sh and services.lib.sh (svc_dir, unpacked_dir); call
# testbed_dir first.

# Sendmail from the unpacked packages, its sendmail.cf built with m4 from the unpacked
# sendmail-cf (generic Linux OSTYPE: Debian's needs the installed tree), with the greeting and
# configuration version of Debian's OSTYPE (its build named in the banner). It sleeps a minute
# when the host name has no dot and does not resolve: it runs in a UTS namespace of its own
# under a qualified name.
start_sendmail() {
    local port=$1 d bin cf
    d=$(svc_dir "sendmail-$port")
    bin=$(unpacked_dir sendmail-bin)/root
    cf=$(unpacked_dir sendmail-cf)/root/usr/share/sendmail/cf
    mkdir -p "$d/queue"
    cat >"$d/sendmail.mc" <<CONF
include(\`$cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`sendmail.testbed.example')dnl
define(\`confHELP_FILE', \`$bin/etc/mail/helpfile')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`QUEUE_DIR', \`$d/queue')dnl
define(\`STATUS_FILE', \`$d/statistics')dnl
define(\`confPID_FILE', \`$d/sendmail.pid')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-v4, Port=$port, Addr=127.0.0.1')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
CONF
    grep -E "^define\(\`(confCF_VERSION|confSMTP_LOGIN_MSG)'" "$cf/ostype/debian.m4" >>"$d/sendmail.mc"
    m4 "$d/sendmail.mc" >"$d/sendmail.cf"
    unshare -u sh -c 'hostname sendmail.testbed.example && exec "$@"' sh \
        "$bin/usr/libexec/sendmail/sendmail" -bD -C "$d/sendmail.cf" >"$d/log" 2>&1 &
}

# The Cyrus IMAP suite under its master process: imapd and pop3d (unpacked: they would remove
# Dovecot's), lmtpd and timsieved (cyrus-common) on PORT, PORT2, PORT3 and PORT4. Every service
# reads the bed's imapd.conf (-C), not /etc/imapd.conf.
start_cyrus() {
    local imap=$1 pop3=$2 lmtp=$3 sieve=$4 d c
    d=$(svc_dir "cyrus-$imap")
    mkdir -p "$d/conf" "$d/part" "$d/sieve" "$d/proc" "$d/run"
    chown -R cyrus:mail "$d"
    cat >"$d/imapd.conf" <<CONF
configdirectory: $d/conf
proc_path: $d/proc
defaultpartition: default
partition-default: $d/part
sievedir: $d/sieve
servername: cyrus.testbed.example
admins: cyrus
sasl_pwcheck_method: saslauthd
sasl_mech_list: PLAIN
lmtpsocket: $d/run/lmtp
idlesocket: $d/run/idle
notifysocket: $d/run/notify
CONF
    c="-C $d/imapd.conf"
    cat >"$d/cyrus.conf" <<CONF
START {
  recover cmd="ctl_cyrusdb -r $c"
}
SERVICES {
  imap cmd="$(unpacked_dir cyrus-imapd)/root/usr/lib/cyrus/bin/imapd $c" listen="127.0.0.1:$imap" prefork=0
  pop3 cmd="$(unpacked_dir cyrus-pop3d)/root/usr/lib/cyrus/bin/pop3d $c" listen="127.0.0.1:$pop3" prefork=0
  lmtp cmd="lmtpd $c" listen="127.0.0.1:$lmtp" prefork=0
  sieve cmd="timsieved $c" listen="127.0.0.1:$sieve" prefork=0
}
EVENTS {
}
CONF
    /usr/lib/cyrus/bin/master $c -M "$d/cyrus.conf" -p "$d/run/master.pid" -D >"$d/log" 2>&1 &
}

# amavisd-new's SMTP content-filter listener, no scanners. It refuses a configuration file in a
# directory its user can write, so the file stays in root's directory and its state below home/.
start_amavisd() {
    local port=$1 d
    d=$(svc_dir "amavisd-$port")
    mkdir -p "$d/home/tmp" "$d/home/db"
    chown -R amavis:amavis "$d/home"
    cat >"$d/amavisd.conf" <<CONF
use strict;
\$MYHOME = '$d/home';
\$TEMPBASE = '$d/home/tmp';
\$db_home = '$d/home/db';
\$pid_file = '$d/home/amavisd.pid';
\$lock_file = '$d/home/amavisd.lock';
\$daemon_user = 'amavis';
\$daemon_group = 'amavis';
\$myhostname = 'amavis.testbed.example';
\$mydomain = 'testbed.example';
\$inet_socket_port = [$port];
\$inet_socket_bind = '127.0.0.1';
@inet_acl = qw(127.0.0.1);
\$max_servers = 1;
\$do_syslog = 0;
\$LOGFILE = '$d/home/amavis.log';
\$enable_db = 0;
@bypass_virus_checks_maps = (1);
@bypass_spam_checks_maps = (1);
\$notify_method = 'smtp:[127.0.0.1]:10025';
\$forward_method = 'smtp:[127.0.0.1]:10025';
1;
CONF
    amavisd -c "$d/amavisd.conf" foreground >"$d/log" 2>&1 &
}

# Dovecot with LMTP alone, on a TCP listener.
start_dovecot_lmtp() {
    local port=$1 d
    d=$(svc_dir "dovecot-lmtp-$port")
    cat >"$d/dovecot.conf" <<CONF
base_dir = $d/run
state_dir = $d/state
protocols = lmtp
listen = 127.0.0.1
log_path = $d/dovecot.log
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:$d/mail/%u
passdb {
  driver = static
  args = password=x
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/mail/%u
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $port
  }
}
CONF
    dovecot -F -c "$d/dovecot.conf" >"$d/log" 2>&1 &
}

# OpenDMARC's milter socket on TCP.
start_opendmarc() {
    local port=$1 d
    d=$(svc_dir "opendmarc-$port")
    chown opendmarc "$d"
    printf 'Socket inet:%s@127.0.0.1\nPidFile %s/pid\nUserID opendmarc\nSyslog false\n' \
        "$port" "$d" >"$d/opendmarc.conf"
    opendmarc -f -c "$d/opendmarc.conf" >"$d/log" 2>&1 &
}

# c-icap with Debian's configuration (its echo service), on PORT of loopback.
start_c_icap() {
    local port=$1 d
    d=$(svc_dir "c-icap-$port")
    chown c-icap "$d"
    sed -e "s|/var/run/c-icap|$d|; s|^Port 1344|Port 127.0.0.1:$port|; s|/var/log/c-icap|$d|" \
        -e 's|^StartServers 3|StartServers 1|' /etc/c-icap/c-icap.conf >"$d/c-icap.conf"
    c-icap -N -f "$d/c-icap.conf" >"$d/log" 2>&1 &
}

# PHP-FPM with one static worker on a TCP socket, as a web server would reach it.
start_php_fpm() {
    local port=$1 d
    d=$(svc_dir "php-fpm-$port")
    cat >"$d/php-fpm.conf" <<CONF
[global]
pid = $d/php-fpm.pid
error_log = $d/error.log
daemonize = no
[www]
user = www-data
group = www-data
listen = 127.0.0.1:$port
pm = static
pm.max_children = 1
CONF
    "$(command -v php-fpm8.2)" -F -y "$d/php-fpm.conf" >"$d/log" 2>&1 &
}

# Knot Resolver: DNS on PORT (UDP and TCP), its web console (http module, webmgmt) on PORT2.
start_kresd() {
    local port=$1 port2=$2 d
    d=$(svc_dir "kresd-$port")
    cat >"$d/kresd.conf" <<CONF
net.listen('127.0.0.1', $port, { kind = 'dns' })
net.listen('127.0.0.1', $port2, { kind = 'webmgmt' })
modules = { 'hints > iterate', 'stats', 'http' }
cache.size = 10 * MB
CONF
    kresd -n -c "$d/kresd.conf" "$d" >"$d/log" 2>&1 &
}

# ziproxy, the compressing HTTP proxy (it forks into the background: -d; ns_cleanup stops it).
start_ziproxy() {
    local port=$1 d
    d=$(svc_dir "ziproxy-$port")
    printf 'Port = %s\nAddress = "127.0.0.1"\n' "$port" >"$d/ziproxy.conf"
    ziproxy -d -c "$d/ziproxy.conf" -p "$d/ziproxy.pid" >"$d/log" 2>&1 &
}

# E2Guardian with Debian's configuration and filter group, on PORT of loopback.
start_e2guardian() {
    local port=$1 d
    d=$(svc_dir "e2guardian-$port")
    cp /etc/e2guardian/e2guardianf1.conf /etc/e2guardian/*.story "$d/"
    sed -e "s/^filterip =.*/filterip = 127.0.0.1/; s/^filterports = 8080/filterports = $port/" \
        -e "s/^transparenthttpsport = /#&/; s|^#pidfilename = .*|pidfilename = '$d/pid'|" \
        /etc/e2guardian/e2guardian.conf >"$d/e2guardian.conf"
    e2guardian -N -c "$d/e2guardian.conf" >"$d/log" 2>&1 &
}

# ExaBGP with one neighbour (127.0.0.2) that never connects: any other peer is turned away.
start_exabgp() {
    local port=$1 d
    d=$(svc_dir "exabgp-$port")
    cat >"$d/exabgp.conf" <<CONF
neighbor 127.0.0.2 {
  router-id 127.0.0.1;
  local-address 127.0.0.1;
  local-as 65010;
  peer-as 65011;
}
CONF
    env exabgp.tcp.bind=127.0.0.1 exabgp.tcp.port="$port" exabgp.daemon.user=root \
        exabgp.log.destination="$d/exabgp.log" exabgp "$d/exabgp.conf" >"$d/log" 2>&1 &
}

# OpenNTPD from the unpacked package (it would remove systemd-timesyncd), answering on UDP PORT
# of loopback. It drops to the user ntpd and chroots to /var/lib/openntpd, which --fetch makes.
start_openntpd() {
    local port=$1 d
    d=$(svc_dir "openntpd-$port")
    [ "$port" = 123 ] || { echo "testbed: OpenNTPD listens on port 123 only" >&2; return 1; }
    echo "listen on 127.0.0.1" >"$d/ntpd.conf"
    chmod 600 "$d/ntpd.conf"
    "$(unpacked_dir openntpd)/root/usr/sbin/ntpd" -d -f "$d/ntpd.conf" >"$d/log" 2>&1 &
}

# What OpenNTPD needs of the system, as its package's maintainer scripts would make it: the user
# ntpd, its chroot and the directory of its control socket.
openntpd_system() {
    id ntpd >/dev/null 2>&1 ||
        useradd --system --home-dir /var/lib/openntpd --no-create-home --shell /usr/sbin/nologin ntpd
    mkdir -p /var/lib/openntpd/run /var/lib/openntpd/db
}
