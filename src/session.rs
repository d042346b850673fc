//! The interactive session of `connect` and `listen`: a binary-safe byte pump between
//! stdin/stdout and a connection (plain or TLS), with explicit EOF and half-close behaviour,
//! CRLF translation, telnet negotiation, a raw terminal with an escape key, and idle timeouts.
//!
//! stdin and stdout are served by threads of their own (blocking reads and writes never stall
//! the network side); the connection's writes go through one writer task, so reading from the
//! server never waits on writing to it.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::fingerprint::Matcher;
use crate::net::telnet::{Telnet, TelnetConfig};
use crate::session_log::{Direction, SessionLog};
use crate::telnet_keys::TelnetKeys;

/// Chunk size of every read: large enough for loopback gigabytes, small enough to stay light.
pub const CHUNK: usize = 128 * 1024;

/// What stdin EOF does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EofMode {
    /// Half-close (shutdown our write side) and keep receiving until the server closes.
    HalfClose,
    /// `-N`: close and end right after stdin EOF (once what was read is sent).
    Close,
    /// `-q SECS`: half-close, then end after this long even if the server keeps the connection.
    QuitAfter(Duration),
}

/// How the session behaves.
#[derive(Clone)]
pub struct SessionOptions {
    pub eof: EofMode,
    pub recv_only: bool,
    pub send_only: bool,
    /// `-C`: bare LF becomes CRLF on what is sent.
    pub crlf: bool,
    pub idle_timeout: Option<Duration>,
    /// `--escape`: show non-printable received bytes as `\xNN`.
    pub escape_output: bool,
    pub telnet: bool,
    /// stdin is a terminal in raw mode: Ctrl-] ends the session, Enter sends CR NUL in telnet.
    pub interactive: bool,
    /// `-v`: identify the service from the first bytes it sends, and say so on stderr.
    pub identify: Option<Arc<Matcher>>,
    /// `listen -k`: the session ends when the peer closes (stdin is shared and goes on).
    pub end_when_peer_closes: bool,
    /// `--delay`: wait this long after each line sent (OpenBSD nc's `-i`).
    pub delay: Option<Duration>,
    /// `--output` / `--hex-dump`: where what is sent and received is recorded.
    pub log: Option<SessionLog>,
    /// The key that ends (or, with telnet, pauses) an interactive session.
    pub escape_key: Option<u8>,
    /// Telnet `-l USER`: sent when the server asks for NEW-ENVIRON USER.
    pub login: Option<String>,
    /// `$TERM`, the terminal type telnet sends when asked (interactive only).
    pub term: Option<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            eof: EofMode::HalfClose,
            recv_only: false,
            send_only: false,
            crlf: false,
            idle_timeout: None,
            escape_output: false,
            telnet: false,
            interactive: false,
            identify: None,
            end_when_peer_closes: false,
            delay: None,
            log: None,
            escape_key: Some(ESCAPE_KEY),
            login: None,
            term: None,
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The server closed its side (after our EOF or not).
    ServerClosed,
    /// stdin ended and `-N` (or `--send-only`) closed the session.
    StdinClosed,
    /// `-q` ran out after stdin EOF.
    QuitTimer,
    /// Nothing moved for `--idle-timeout`.
    Idle,
    /// The user pressed the escape key.
    EscapeKey,
    /// SIGINT/SIGTERM.
    Interrupted,
    /// The connection failed while sending (reset by the server).
    SendFailed,
    /// Writing received data to stdout failed (the OS error code, when known): data was lost.
    OutputFailed(Option<i32>),
    /// `connect -z` with several ports: none was open.
    NoneOpen,
}

/// The escape key of interactive sessions, as in telnet.
pub const ESCAPE_KEY: u8 = 0x1d; // Ctrl-]

/// `^]` for Ctrl-], `^?` for DEL, the character itself otherwise.
pub fn key_name(key: u8) -> String {
    match key {
        0..=0x1f => format!("Ctrl-{}", (key + 0x40) as char),
        0x7f => "Ctrl-?".into(),
        k => crate::escape::escape_bytes(&[k]),
    }
}

/// Bytes to send: data, or the half-close (acknowledged once everything before it is written).
pub(crate) enum Out {
    Data(Vec<u8>),
    Shutdown(oneshot::Sender<()>),
}

/// Reads one chunk from fd 0 into a fresh buffer (no zeroing, no copy); `None` at EOF/error.
pub(crate) fn read_stdin_chunk() -> Option<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let stdin = std::io::stdin();
    loop {
        // Straight from the descriptor: std's Stdin would buffer, and a session must pass each
        // chunk on as it comes.
        match rustix::io::read(&stdin, rustix::buffer::spare_capacity(&mut buf)) {
            Ok(0) => return None,
            Ok(_) => return Some(buf),
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return None,
        }
    }
}

/// Reads stdin on a thread; `None` on the channel means EOF (or a read error).
pub(crate) fn stdin_reader() -> std::io::Result<mpsc::Receiver<Vec<u8>>> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    std::thread::Builder::new().name("stdin".into()).spawn(move || {
        while let Some(chunk) = read_stdin_chunk() {
            if tx.blocking_send(chunk).is_err() {
                return;
            }
        }
    })?;
    Ok(rx)
}

/// The stdout side of sessions: a sender, and the writer thread, which ends when every sender
/// is gone or a write fails (its error is the answer: received data could not be delivered).
pub(crate) struct StdoutWriter {
    pub tx: mpsc::Sender<Vec<u8>>,
    /// The writer's answer once it ends (a channel, not a join: joining would need a thread).
    pub done: oneshot::Receiver<std::io::Result<()>>,
}

/// Writes to stdout on a thread. `failed` hears of a write error as soon as it happens.
pub(crate) fn stdout_writer(failed: Option<oneshot::Sender<()>>) -> std::io::Result<StdoutWriter> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4);
    let (done_tx, done) = oneshot::channel();
    std::thread::Builder::new().name("stdout".into()).spawn(move || {
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = rx.blocking_recv() {
            if let Err(e) = out.write_all(&chunk).and_then(|_| out.flush()) {
                if let Some(f) = failed {
                    let _ = f.send(());
                }
                let _ = done_tx.send(Err(e));
                return;
            }
        }
        let _ = done_tx.send(Ok(()));
    })?;
    Ok(StdoutWriter { tx, done })
}

/// The end of a session whose stdout writer ended with `written`: a failed write wins over
/// an ordinary end (data was lost), not over a signal.
pub(crate) fn with_output_result(end: SessionEnd, written: std::io::Result<()>) -> SessionEnd {
    match written {
        Err(e) if end != SessionEnd::Interrupted => SessionEnd::OutputFailed(e.raw_os_error()),
        _ => end,
    }
}

/// Writes everything it is given to the connection, in order.
async fn connection_writer<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::Receiver<Out>,
    failed: oneshot::Sender<()>,
) {
    let mut failed = Some(failed);
    let mut shut = false;
    while let Some(out) = rx.recv().await {
        match out {
            Out::Data(_) if shut => {}
            Out::Data(bytes) => {
                if wr.write_all(&bytes).await.is_err() {
                    if let Some(f) = failed.take() {
                        let _ = f.send(());
                    }
                    shut = true;
                }
            }
            Out::Shutdown(ack) => {
                let _ = wr.flush().await;
                let _ = wr.shutdown().await;
                shut = true;
                let _ = ack.send(());
            }
        }
    }
}

/// Turns bare LF into CRLF; `last` carries whether the previous chunk ended with CR.
fn to_crlf(input: &[u8], last_cr: &mut bool, out: &mut Vec<u8>) {
    for &b in input {
        if b == b'\n' && !*last_cr {
            out.push(b'\r');
        }
        out.push(b);
        *last_cr = b == b'\r';
    }
}

/// Runs the session over `stream` with this process's stdin and stdout until it ends; see
/// [`SessionEnd`].
pub async fn run<S>(stream: S, opts: &SessionOptions, cancel: &CancellationToken) -> SessionEnd
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let stdin = if opts.recv_only {
        None
    } else {
        match stdin_reader() {
            Ok(rx) => Some(rx),
            Err(e) => return SessionEnd::OutputFailed(e.raw_os_error()),
        }
    };
    let stdout = match stdout_writer(None) {
        Ok(w) => w,
        Err(e) => return SessionEnd::OutputFailed(e.raw_os_error()),
    };
    let end = run_with(stream, opts, cancel, stdin, stdout.tx).await;
    // Everything is written (or the write failed) before the session says how it ended.
    let written = stdout.done.await.unwrap_or(Ok(()));
    with_output_result(end, written)
}

/// Runs the session over `stream` with the given stdin chunks (`None`: `--recv-only`; the
/// channel's end is stdin EOF) and stdout sender: the one pump of `connect`, `listen` and each
/// connection of `listen -k`, with every transform (`-C`, `--escape`, telnet, `-i`, `-q`).
pub async fn run_with<S>(
    stream: S,
    opts: &SessionOptions,
    cancel: &CancellationToken,
    stdin: Option<mpsc::Receiver<Vec<u8>>>,
    stdout_tx: mpsc::Sender<Vec<u8>>,
) -> SessionEnd
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, wr) = tokio::io::split(stream);
    let (out_tx, out_rx) = mpsc::channel::<Out>(8);
    let (failed_tx, failed_rx) = oneshot::channel::<()>();
    let writer = tokio::spawn(connection_writer(wr, out_rx, failed_tx));
    let activity = Rc::new(Cell::new(Instant::now()));
    let telnet = opts.telnet.then(|| {
        Rc::new(RefCell::new(Telnet::with_config(TelnetConfig {
            interactive: opts.interactive,
            term: opts.term.clone().filter(|_| opts.interactive),
            window: if opts.interactive { window_size() } else { None },
            user: opts.login.clone(),
        })))
    });

    // Server → stdout (telnet replies → server).
    let down = {
        let out_tx = out_tx.clone();
        let stdout_tx = stdout_tx.clone();
        let activity = activity.clone();
        let telnet = telnet.clone();
        let opts = opts.clone();
        async move {
            let mut identified = opts.identify.is_none();
            loop {
                // A fresh buffer per read: it travels to the stdout thread without a copy.
                let mut buf = Vec::with_capacity(CHUNK);
                match rd.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return SessionEnd::ServerClosed,
                    Ok(_) => {}
                }
                activity.set(Instant::now());
                let received = &buf[..];
                if let Some(log) = &opts.log {
                    log.record(Direction::Received, received);
                }
                if !identified {
                    identified = true;
                    if let Some(m) = &opts.identify {
                        announce(m, received);
                    }
                }
                let data = match telnet.as_ref() {
                    Some(t) => {
                        let (mut data, mut reply) = (Vec::new(), Vec::new());
                        t.borrow_mut().receive(received, &mut data, &mut reply);
                        if let Some(log) = opts.log.as_ref().filter(|_| !reply.is_empty()) {
                            log.record(Direction::Sent, &reply);
                        }
                        if !reply.is_empty() && out_tx.send(Out::Data(reply)).await.is_err() {
                            return SessionEnd::SendFailed;
                        }
                        data
                    }
                    None => buf,
                };
                if !opts.send_only && !data.is_empty() {
                    let shown = if opts.escape_output {
                        crate::escape::escape_for_display(&data)
                    } else {
                        data
                    };
                    if stdout_tx.send(shown).await.is_err() {
                        return SessionEnd::OutputFailed(None); // the stdout writer failed
                    }
                }
                // One chunk per turn, so a flood from the server cannot starve stdin or timers.
                tokio::task::yield_now().await;
            }
        }
    };

    // stdin → server. Returns when stdin ends (or the escape key), having queued the half-close.
    let up = {
        let out_tx = out_tx.clone();
        let stdout_tx = stdout_tx.clone();
        let activity = activity.clone();
        let opts = opts.clone();
        let telnet = telnet.clone();
        async move {
            let Some(mut stdin) = stdin else {
                return std::future::pending::<(SessionEnd, Option<oneshot::Receiver<()>>)>().await;
            };
            if let (true, Some(t)) = (opts.interactive, &telnet) {
                let keys = TelnetKeys::new(t.clone(), &opts);
                return keys.run(stdin, &out_tx, &stdout_tx, &activity).await;
            }
            let mut last_cr = false;
            while let Some(chunk) = stdin.recv().await {
                activity.set(Instant::now());
                let escape_at = match opts.escape_key {
                    Some(key) if opts.interactive => chunk.iter().position(|&b| b == key),
                    _ => None,
                };
                let (chunk, escaped) = match escape_at {
                    Some(i) => (chunk[..i].to_vec(), true),
                    None => (chunk, false),
                };
                let mut data = if opts.crlf {
                    let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 8);
                    to_crlf(&chunk, &mut last_cr, &mut out);
                    out
                } else if opts.interactive && opts.telnet {
                    // Enter in a raw terminal is CR; telnet sends it as CR NUL (RFC 854).
                    let mut out = Vec::with_capacity(chunk.len() + 8);
                    for &b in &chunk {
                        out.push(b);
                        if b == b'\r' {
                            out.push(0);
                        }
                    }
                    out
                } else if opts.interactive {
                    chunk.clone()
                } else {
                    chunk
                };
                if opts.interactive {
                    let echo: Vec<u8> = data
                        .iter()
                        .filter(|&&b| b != 0)
                        .flat_map(|&b| if b == b'\r' { vec![b'\r', b'\n'] } else { vec![b] })
                        .collect();
                    let _ = stdout_tx.send(echo).await;
                }
                if opts.telnet {
                    let mut escaped_data = Vec::with_capacity(data.len());
                    Telnet::escape_outgoing(&data, &mut escaped_data);
                    data = escaped_data;
                }
                if let Some(delay) = opts.delay {
                    // nc -i: one line, then the pause; the pause counts as activity.
                    for line in data.split_inclusive(|&b| b == b'\n') {
                        if let Some(log) = &opts.log {
                            log.record(Direction::Sent, line);
                        }
                        if out_tx.send(Out::Data(line.to_vec())).await.is_err() {
                            return (SessionEnd::SendFailed, None);
                        }
                        if line.ends_with(b"\n") {
                            tokio::time::sleep(delay).await;
                            activity.set(Instant::now());
                        }
                    }
                } else {
                    if let Some(log) = &opts.log {
                        log.record(Direction::Sent, &data);
                    }
                    if !data.is_empty() && out_tx.send(Out::Data(data)).await.is_err() {
                        return (SessionEnd::SendFailed, None);
                    }
                }
                if escaped {
                    return (SessionEnd::EscapeKey, None);
                }
                tokio::task::yield_now().await;
            }
            let (ack_tx, ack_rx) = oneshot::channel();
            let _ = out_tx.send(Out::Shutdown(ack_tx)).await;
            (SessionEnd::StdinClosed, Some(ack_rx))
        }
    };
    // SIGWINCH: the new window size goes to the server (NAWS), when it asked for it.
    let winch = {
        let out_tx = out_tx.clone();
        let telnet = telnet.clone().filter(|_| opts.interactive);
        async move {
            let Some(telnet) = telnet else {
                return std::future::pending::<()>().await;
            };
            let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
            else {
                return std::future::pending::<()>().await;
            };
            while sig.recv().await.is_some() {
                let Some((cols, rows)) = window_size() else {
                    continue;
                };
                let report = telnet.borrow_mut().window_changed(cols, rows);
                if let Some(report) = report {
                    if out_tx.send(Out::Data(report)).await.is_err() {
                        break;
                    }
                }
            }
            std::future::pending::<()>().await
        }
    };
    drop(out_tx);
    drop(stdout_tx);

    let failed = async move {
        match failed_rx.await {
            Ok(()) => (),
            Err(_) => std::future::pending().await,
        }
    };
    // The pumps live in this block, so everything they hold is gone before stdout is joined.
    let end = {
        tokio::pin!(down, up, failed, winch);
        let mut stdin_done = opts.recv_only;
        let mut server_done = false;
        let mut quit_at: Option<Instant> = None;
        loop {
            let idle_at = opts.idle_timeout.map(|d| activity.get() + d);
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break SessionEnd::Interrupted,
                _ = &mut failed => break SessionEnd::SendFailed,
                _ = &mut winch => {}
                // Timers before the pumps: an endless stream keeps `down` busy for the whole
                // co-operative budget, and a timer polled after it would never fire.
                _ = sleep_until(quit_at), if quit_at.is_some() => break SessionEnd::QuitTimer,
                _ = sleep_until(idle_at), if idle_at.is_some() => {
                    if opts.idle_timeout.is_some_and(|d| activity.get().elapsed() >= d) {
                        break SessionEnd::Idle;
                    }
                }
                end = &mut down, if !server_done => {
                    if end != SessionEnd::ServerClosed {
                        break end;
                    }
                    server_done = true;
                    // A person at a terminal wants to know; a pipe still has data to deliver
                    // (the server may only have half-closed).
                    if stdin_done || opts.interactive || opts.end_when_peer_closes {
                        break SessionEnd::ServerClosed;
                    }
                }
                (end, ack) = &mut up, if !stdin_done => {
                    stdin_done = true;
                    if end != SessionEnd::StdinClosed {
                        if let Some(ack) = ack {
                            // What was typed before `quit` reaches the server first.
                            let _ = tokio::time::timeout(Duration::from_secs(2), ack).await;
                        }
                        break end;
                    }
                    let close_now = matches!(opts.eof, EofMode::Close) || opts.send_only || server_done;
                    if close_now {
                        if let Some(ack) = ack {
                            // Everything read from stdin is written before we go.
                            let _ = tokio::time::timeout(Duration::from_secs(30), ack).await;
                        }
                        break if server_done { SessionEnd::ServerClosed } else { SessionEnd::StdinClosed };
                    }
                    if let EofMode::QuitAfter(d) = opts.eof {
                        quit_at = Some(Instant::now() + d);
                    }
                }
            }
        }
    };
    writer.abort();
    end
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// `-v`: names the service from its first bytes, on stderr.
fn announce(matcher: &Matcher, first: &[u8]) {
    if let Some(id) = matcher.identify(first, "null") {
        let line = id.version_line();
        let what = if line.is_empty() {
            id.service.clone()
        } else {
            format!("{}, {line}", id.service)
        };
        crate::escape::say(format!("server identifies as {what}"));
    }
}

/// The terminal's size as (columns, rows), if stdout or stdin is a terminal that knows it.
pub fn window_size() -> Option<(u16, u16)> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout())
        .or_else(|_| rustix::termios::tcgetwinsize(std::io::stdin()))
        .ok()?;
    (size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
}

/// Puts a terminal in raw mode and always puts it back (drop, including on panic unwinding).
pub struct RawTerminal {
    saved: rustix::termios::Termios,
}

impl RawTerminal {
    /// Raw mode on standard input if it is a terminal; `None` otherwise.
    pub fn enable() -> Option<RawTerminal> {
        use rustix::termios::{isatty, tcgetattr, tcsetattr, OptionalActions, OutputModes};
        let stdin = std::io::stdin();
        if !isatty(&stdin) {
            return None;
        }
        let saved = tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        // Keep output post-processing so "\n" still returns the carriage.
        raw.output_modes |= OutputModes::OPOST;
        tcsetattr(&stdin, OptionalActions::Now, &raw).ok()?;
        Some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_translation_keeps_existing_crlf_and_spans_chunks() {
        let mut out = Vec::new();
        let mut last = false;
        to_crlf(b"a\nb\r\nc\r", &mut last, &mut out);
        to_crlf(b"\nd\n", &mut last, &mut out);
        assert_eq!(out, b"a\r\nb\r\nc\r\nd\r\n");
    }
}
