# Mail, FTP, news and web/application servers for the test bed (tests/testbed/mailweb.sh).
# Each start_* takes the port, writes its configuration, content and logs below
# $TESTBED_DIR/NAME-PORT and starts the daemon in the foreground as a job of the calling script.
# Source after lib.sh, daemons.lib.sh and services.lib.sh (svc_dir, unpacked_dir); call
# testbed_dir first. Servers that would answer 200 to GET / get an empty document root, so the
# probes see each server's own listing or error page.

# Packages that would remove an installed one (exim4 and opensmtpd: postfix; pure-ftpd: vsftpd;
# courier-imap and courier-pop: dovecot's) are fetched and unpacked by `mailweb.sh --fetch` (fetch_unpacked, services.lib.sh).
MAILWEB_UNPACKED="exim4-daemon-light opensmtpd pure-ftpd courier-imap courier-pop"

# The root of an unpacked package, or a clear error when `--fetch` did not run.
mailweb_root() {
    local root
    root=$(unpacked_dir "$1")/root
    if [ ! -x "$root/$2" ]; then
        echo "testbed: $1 is not unpacked in $root: run tests/testbed/mailweb.sh --fetch first" >&2
        return 1
    fi
    echo "$root"
}

# An empty document root: GET / then shows the server's own listing or error page.
mailweb_docroot() {
    mkdir -p "$1/www"
    chmod 755 "$1" "$1/www"
    echo "$1/www"
}

# --- web and application servers -----------------------------------------------------------

# Python's http.server (SimpleHTTPRequestHandler).
start_py_http_server() {
    local port=$1 d
    d=$(svc_dir "py-http-$port")
    /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$(mailweb_docroot "$d")" "$port" \
        >"$d/log" 2>&1 &
}

# Twisted Web serving a static directory.
start_twistd_web() {
    local port=$1 d
    d=$(svc_dir "twistd-$port")
    (cd "$d" && exec twistd3 --nodaemon --pidfile= --logfile="$d/twistd.log" web \
        --listen "tcp:$port:interface=127.0.0.1" --path "$(mailweb_docroot "$d")") >"$d/log" 2>&1 &
}

# A Python WSGI or ASGI application with no routes but /hello (every other path is the
# framework's own 404): $1 = port, $2 = directory name, $3 = the application's source (app.py,
# defining `app`), then the command to run in that directory. The daemon is a job of the
# calling script (no pipeline: its subshell would hide the job from the clean-up).
mailweb_python_app() {
    local port=$1 name=$2 d
    d=$(svc_dir "$name-$port")
    printf '%s\n' "$3" >"$d/app.py"
    shift 3
    (cd "$d" && exec "$@") >"$d/log" 2>&1 &
}

# Tornado's HTTP server.
start_tornado() {
    mailweb_python_app "$1" tornado "$(cat <<'PY'
import sys, tornado.ioloop, tornado.web
class Hello(tornado.web.RequestHandler):
    def get(self):
        self.write("hello")
app = tornado.web.Application([(r"/hello", Hello)])
app.listen(int(sys.argv[1]), address="127.0.0.1")
tornado.ioloop.IOLoop.current().start()
PY
)" /usr/bin/python3 app.py "$1"
}

# CherryPy's own server (Cheroot).
start_cherrypy() {
    mailweb_python_app "$1" cherrypy "$(cat <<'PY'
import sys, cherrypy
class Root:
    @cherrypy.expose
    def hello(self):
        return "hello"
cherrypy.config.update({"server.socket_host": "127.0.0.1", "server.socket_port": int(sys.argv[1]),
                        "engine.autoreload.on": False, "log.screen": False})
cherrypy.quickstart(Root(), "/")
PY
)" /usr/bin/python3 app.py "$1"
}

# Flask's development server (Werkzeug).
start_werkzeug() {
    mailweb_python_app "$1" werkzeug "$(cat <<'PY'
import sys
from flask import Flask
app = Flask(__name__)
@app.route("/hello")
def hello():
    return "hello"
app.run(host="127.0.0.1", port=int(sys.argv[1]))
PY
)" /usr/bin/python3 app.py "$1"
}

# aiohttp's web server.
start_aiohttp() {
    mailweb_python_app "$1" aiohttp "$(cat <<'PY'
import sys
from aiohttp import web
async def hello(request):
    return web.Response(text="hello")
app = web.Application()
app.add_routes([web.get("/hello", hello)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
PY
)" /usr/bin/python3 app.py "$1"
}

# A plain WSGI application (404 for everything but /hello), for the WSGI servers.
mailweb_wsgi_app() {
    cat <<'PY'
def app(environ, start_response):
    if environ.get("PATH_INFO") == "/hello":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
PY
}

# Gunicorn serving a WSGI application.
start_gunicorn() {
    mailweb_python_app "$1" gunicorn "$(mailweb_wsgi_app)" gunicorn --bind "127.0.0.1:$1" --workers 1 --threads 4 app:app
}

# Waitress serving a WSGI application.
start_waitress() {
    mailweb_python_app "$1" waitress "$(mailweb_wsgi_app)" waitress-serve --listen="127.0.0.1:$1" app:app
}

# uWSGI's HTTP router in front of a WSGI application.
start_uwsgi() {
    mailweb_python_app "$1" uwsgi "$(mailweb_wsgi_app)" uwsgi --plugin python3 --http-socket "127.0.0.1:$1" \
        --wsgi-file app.py --callable app --master --processes 1 --die-on-term
}

# Uvicorn serving an ASGI application.
start_uvicorn() {
    mailweb_python_app "$1" uvicorn "$(cat <<'PY'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"not found"})
PY
)" uvicorn --host 127.0.0.1 --port "$1" app:app
}

# Ruby's WEBrick serving a static directory.
start_webrick() {
    local port=$1 d root
    d=$(svc_dir "webrick-$port")
    root=$(mailweb_docroot "$d")
    ruby -rwebrick -e "s = WEBrick::HTTPServer.new(BindAddress: '127.0.0.1', Port: $port,
        DocumentRoot: '$root', AccessLog: [], Logger: WEBrick::Log.new('$d/webrick.log'))
        trap('TERM') { s.shutdown }; s.start" >"$d/log" 2>&1 &
}

# PHP's built-in web server.
start_php_server() {
    local port=$1 d
    d=$(svc_dir "php-$port")
    php -S "127.0.0.1:$port" -t "$(mailweb_docroot "$d")" >"$d/log" 2>&1 &
}

# Perl's HTTP::Daemon answering every request with its own 404 (send_error), a child per
# connection as its documentation shows.
start_perl_http_daemon() {
    local port=$1 d
    d=$(svc_dir "perl-httpd-$port")
    perl -MHTTP::Daemon -e '
        $SIG{CHLD} = "IGNORE";
        $SIG{PIPE} = "IGNORE";
        my $d = HTTP::Daemon->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], ReuseAddr => 1)
            or die "HTTP::Daemon: $!";
        while (my $c = $d->accept) {
            if (fork) { $c->close; next }
            $c->timeout(10);
            while (my $r = $c->get_request) { $c->send_error(404) }
            exit 0;
        }' "$port" >"$d/log" 2>&1 &
}

# BusyBox httpd.
start_busybox_httpd() {
    local port=$1 d
    d=$(svc_dir "busybox-httpd-$port")
    busybox httpd -f -p "127.0.0.1:$port" -h "$(mailweb_docroot "$d")" >"$d/log" 2>&1 &
}

# Caddy serving a static directory (no automatic HTTPS, no admin endpoint).
start_caddy() {
    local port=$1 d
    d=$(svc_dir "caddy-$port")
    cat >"$d/Caddyfile" <<CONF
{
    admin off
    auto_https off
    storage file_system $d/data
}
http://127.0.0.1:$port {
    bind 127.0.0.1
    root * $(mailweb_docroot "$d")
    file_server
}
CONF
    HOME=$d XDG_DATA_HOME=$d XDG_CONFIG_HOME=$d caddy run --config "$d/Caddyfile" --adapter caddyfile \
        >"$d/log" 2>&1 &
}

# H2O serving a static directory.
start_h2o() {
    local port=$1 d
    d=$(svc_dir "h2o-$port")
    cat >"$d/h2o.conf" <<CONF
listen:
  host: 127.0.0.1
  port: $port
error-log: $d/error.log
hosts:
  default:
    paths:
      /:
        file.dir: $(mailweb_docroot "$d")
CONF
    h2o -c "$d/h2o.conf" >"$d/log" 2>&1 &
}

# Jetty 9 as packaged, with its own base directory (no web applications deployed).
start_jetty9() {
    local port=$1 d
    d=$(svc_dir "jetty9-$port")
    mkdir -p "$d/base/webapps" "$d/base/logs" "$d/tmp"
    (cd "$d/base" && exec java -Djava.io.tmpdir="$d/tmp" -jar /usr/share/jetty9/start.jar \
        jetty.home=/usr/share/jetty9 jetty.base="$d/base" --module=http,deploy \
        jetty.http.host=127.0.0.1 jetty.http.port="$port") >"$d/log" 2>&1 &
}

# mini_httpd serving a static directory.
start_mini_httpd() {
    local port=$1 d
    d=$(svc_dir "mini-httpd-$port")
    mini_httpd -D -h 127.0.0.1 -p "$port" -d "$(mailweb_docroot "$d")" -u nobody \
        -l "$d/access.log" -i "$d/mini_httpd.pid" >"$d/log" 2>&1 &
}

# micro_httpd, inetd style (socat accepts, micro_httpd serves one connection).
start_micro_httpd() {
    local port=$1 d
    d=$(svc_dir "micro-httpd-$port")
    socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
        EXEC:"/usr/sbin/micro-httpd $(mailweb_docroot "$d")" </dev/null >"$d/log" 2>&1 &
}

# webfs serving a static directory.
start_webfsd() {
    local port=$1 d
    d=$(svc_dir "webfs-$port")
    webfsd -F -i 127.0.0.1 -p "$port" -r "$(mailweb_docroot "$d")" -k "$d/webfsd.pid" \
        >"$d/log" 2>&1 &
}

# Yaws serving a static directory.
start_yaws() {
    local port=$1 d
    d=$(svc_dir "yaws-$port")
    mkdir -p "$d/logs"
    cat >"$d/yaws.conf" <<CONF
logdir = $d/logs
<server localhost>
    port = $port
    listen = 127.0.0.1
    docroot = $(mailweb_docroot "$d")
</server>
CONF
    HOME=$d yaws -i --erlarg -noinput --nodebug --conf "$d/yaws.conf" --id "pp$port" >"$d/log" 2>&1 &
}

# opentracker, the BitTorrent tracker.
start_opentracker() {
    local port=$1 d
    d=$(svc_dir "opentracker-$port")
    opentracker -i 127.0.0.1 -p "$port" -P "$port" >"$d/log" 2>&1 &
}

# --- mail, news and FTP ----------------------------------------------------------------------

# Exim 4 from the unpacked exim4-daemon-light, refusing every recipient (a listener only).
start_exim4() {
    local port=$1 d root
    root=$(mailweb_root exim4-daemon-light usr/sbin/exim4)
    d=$(svc_dir "exim4-$port")
    mkdir -p "$d/spool" "$d/logs"
    chown Debian-exim:Debian-exim "$d/spool" "$d/logs"
    cat >"$d/exim4.conf" <<CONF
primary_hostname = mail.testbed.example
never_users = root
spool_directory = $d/spool
log_file_path = $d/logs/%slog
daemon_smtp_ports = $port
local_interfaces = 127.0.0.1
keep_environment =
tls_advertise_hosts =
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny message = relay not permitted
CONF
    "$root/usr/sbin/exim4" -C "$d/exim4.conf" -bdf -oX "$port" >"$d/log" 2>&1 &
}

# OpenSMTPD from the unpacked package, delivering to mbox for one local domain.
start_opensmtpd() {
    local port=$1 d root
    root=$(mailweb_root opensmtpd usr/sbin/smtpd)
    d=$(svc_dir "opensmtpd-$port")
    cat >"$d/smtpd.conf" <<CONF
listen on 127.0.0.1 port $port
action "local" mbox
match from any for domain "testbed.example" action "local"
CONF
    "$root/usr/sbin/smtpd" -d -f "$d/smtpd.conf" >"$d/log" 2>&1 &
}

# Pure-FTPd from the unpacked package, standalone, anonymous logins refused.
start_pure_ftpd() {
    local port=$1 d root
    root=$(mailweb_root pure-ftpd usr/sbin/pure-ftpd)
    d=$(svc_dir "pure-ftpd-$port")
    "$root/usr/sbin/pure-ftpd" -S "127.0.0.1,$port" -E -g "$d/pure-ftpd.pid" >"$d/log" 2>&1 &
}

# Dovecot's submission service (RFC 6409) with its own instance, relaying to nowhere.
start_dovecot_submission() {
    start_dovecot_only "$(svc_dir "dovecot-submission-$1")" submission submission submission "$1" <<CONF
hostname = mail.testbed.example
submission_relay_host = 127.0.0.1
submission_relay_port = 9
CONF
}

# Perdition, the IMAP4 (or POP3: $2 = pop3) proxy, in front of a back-end that is never reached.
start_perdition() {
    local port=$1 proto=${2:-imap4} d
    d=$(svc_dir "perdition-$proto-$port")
    "perdition.$proto" --no_daemon --bind_address 127.0.0.1 --listen_port "$port" \
        --outgoing_server 127.0.0.1 --outgoing_port 9 --pid_file "$d/perdition.pid" \
        --no_lookup --connection_logging >"$d/log" 2>&1 &
}

start_perdition_pop3() {
    start_perdition "$1" pop3
}

# nginx's mail proxy (IMAP, POP3 and SMTP) with an auth_http back-end that never answers.
start_nginx_mail() {
    local port=$1 d
    d=$(svc_dir "nginx-mail-$port")
    cat >"$d/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_mail_module.so;
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 64; }
mail {
    server_name mail.testbed.example;
    auth_http 127.0.0.1:9/auth;
    server { listen 127.0.0.1:$port; protocol imap; }
    server { listen 127.0.0.1:$((port + 1)); protocol pop3; }
    server { listen 127.0.0.1:$((port + 2)); protocol smtp; }
}
CONF
    nginx -c "$d/nginx.conf" -p "$d" >"$d/log" 2>&1 &
}

# The system users and directories the unpacked packages expect (their postinst scripts would
# create them): OpenSMTPD's daemon and queue users and its empty chroot; Exim's user, whose
# name is compiled into the binary.
mailweb_users() {
    local u
    for u in opensmtpd opensmtpq Debian-exim; do
        id "$u" >/dev/null 2>&1 ||
            useradd --system --no-create-home --home-dir /var/lib/opensmtpd/empty \
                --shell /usr/sbin/nologin --user-group "$u"
    done
    mkdir -p /var/lib/opensmtpd/empty
}

# Twisted's FTP server (twistd ftp) serving an empty directory, anonymous logins allowed (it
# takes a bare port number, so binds every address: in the namespace, only loopback).
start_twistd_ftp() {
    local port=$1 d
    d=$(svc_dir "twistd-ftp-$port")
    (cd "$d" && exec twistd3 --nodaemon --pidfile= --logfile="$d/twistd.log" ftp \
        --port "$port" --root "$(mailweb_docroot "$d")") >"$d/log" 2>&1 &
}

# Twisted's mail server (twistd mail): ESMTP on PORT and POP3 on PORT+1 for one domain.
start_twistd_mail() {
    local port=$1 d
    d=$(svc_dir "twistd-mail-$port")
    mkdir -p "$d/maildir"
    (cd "$d" && exec twistd3 --nodaemon --pidfile= --logfile="$d/twistd.log" mail \
        --esmtp --hostname mail.testbed.example --smtp "tcp:$port:interface=127.0.0.1" --pop3 "tcp:$((port + 1)):interface=127.0.0.1" \
        --maildirdbmdomain "testbed.example=$d/maildir") >"$d/log" 2>&1 &
}

# pyftpdlib's FTP server serving an empty directory (anonymous, read-only).
start_pyftpdlib() {
    local port=$1 d
    d=$(svc_dir "pyftpdlib-$port")
    /usr/bin/python3 -m pyftpdlib -i 127.0.0.1 -p "$port" -d "$(mailweb_docroot "$d")" >"$d/log" 2>&1 &
}

# aiosmtpd's SMTP server (messages discarded), without switching users.
start_aiosmtpd() {
    local port=$1 d
    d=$(svc_dir "aiosmtpd-$port")
    /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Sink >"$d/log" 2>&1 &
}

# A Rack application answering 404 to everything, for Thin.
mailweb_rack_app() {
    printf '%s\n' 'run lambda { |env| [404, { "content-type" => "text/plain" }, ["not found"]] }' >"$1/config.ru"
}

# Thin serving a Rack application.
start_thin() {
    local port=$1 d
    d=$(svc_dir "thin-$port")
    mailweb_rack_app "$d"
    (cd "$d" && exec thin -a 127.0.0.1 -p "$port" -R config.ru start) >"$d/log" 2>&1 &
}

# Mojolicious' own server (mojo daemon) with one route.
start_mojo() {
    local port=$1 d
    d=$(svc_dir "mojo-$port")
    perl -Mojo -e 'a("/hello" => {text => "hello"})->start' daemon -l "http://127.0.0.1:$port" \
        >"$d/log" 2>&1 &
}

# Hypercorn serving an ASGI application.
start_hypercorn() {
    mailweb_python_app "$1" hypercorn "$(cat <<'PY'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"not found"})
PY
)" hypercorn --bind "127.0.0.1:$1" app:app
}

# Courier's IMAP (imaplogin) or POP3 (courierpop3login: $2 = pop3) server from the unpacked
# courier-imap / courier-pop, under Courier's own couriertcpd (from the installed courier-base),
# with the packaged capabilities. Without -pid, couriertcpd stays in the foreground (a job).
start_courier_imap() {
    local port=$1 proto=${2:-imap} d root login cap
    d=$(svc_dir "courier-$proto-$port")
    if [ "$proto" = pop3 ]; then
        root=$(mailweb_root courier-pop usr/lib/courier/courier/courierpop3login)
        login=$root/usr/lib/courier/courier/courierpop3login
        cap=""
    else
        root=$(mailweb_root courier-imap usr/lib/courier/courier/imaplogin)
        login=$root/usr/lib/courier/courier/imaplogin
        cap=$(. "$root/etc/courier/imapd" && echo "$IMAP_CAPABILITY")
    fi
    env -i PATH=/usr/bin:/bin IMAP_CAPABILITY="$cap" /usr/sbin/couriertcpd -address=127.0.0.1 -nodnslookup \
        -noidentlookup -maxprocs=10 -stderr="$d/stderr" "$port" \
        "$login" /bin/false Maildir >"$d/log" 2>&1 &
}

start_courier_pop3() {
    start_courier_imap "$1" pop3
}
