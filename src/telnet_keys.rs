//! The keyboard of an interactive telnet session, as BSD telnet behaves: line mode (local
//! echo and editing, the line sent on Enter as CR LF) while the server does not echo, character
//! mode (each key sent, Enter as CR NUL) once it does; the escape key opens a `telnet>` prompt
//! with `quit`, `send brk`, `status`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::net::telnet::{Telnet, BRK, IP};
use crate::session::{key_name, Out, SessionEnd, SessionOptions};
use crate::session_log::Direction;

/// Longest line kept for local editing, and longest prompt command (more is dropped, with a bell).
const MAX_LINE: usize = 4096;
const MAX_COMMAND: usize = 64;
const IAC: u8 = 255;

/// What a `telnet>` command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Quit,
    SendBreak,
    Status,
    /// An empty line: back to the session.
    Resume,
    Help,
    Unknown(String),
}

fn parse_command(line: &[u8]) -> Command {
    let text = String::from_utf8_lossy(line);
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [] => Command::Resume,
        ["quit"] | ["q"] | ["close"] | ["c"] => Command::Quit,
        ["send", "brk"] | ["send", "break"] => Command::SendBreak,
        ["status"] | ["st"] => Command::Status,
        ["help"] | ["?"] => Command::Help,
        _ => Command::Unknown(crate::escape::escape_str(&text)),
    }
}

const HELP: &str = "commands: quit (end the session), send brk (send BREAK), status, or Enter to go back\r\n";

/// The keyboard state of one session.
pub struct TelnetKeys {
    telnet: Rc<RefCell<Telnet>>,
    escape_key: Option<u8>,
    log: Option<crate::session_log::SessionLog>,
    /// The line being edited in line mode.
    line: Vec<u8>,
    /// The `telnet>` command being typed, while the prompt is open.
    prompt: Option<Vec<u8>>,
}

/// Data bytes for the wire: 0xFF doubled.
fn push_data(out: &mut Vec<u8>, b: u8) {
    if b == IAC {
        out.push(IAC);
    }
    out.push(b);
}

/// Removes the last character (all bytes of a UTF-8 one); whether there was one.
fn pop_char(buf: &mut Vec<u8>) -> bool {
    let Some(mut b) = buf.pop() else { return false };
    while b & 0xC0 == 0x80 {
        match buf.pop() {
            Some(prev) => b = prev,
            None => break,
        }
    }
    true
}

/// How a typed byte is echoed locally: printable as is, control keys as `^X`.
fn echo_of(b: u8, out: &mut Vec<u8>) {
    match b {
        b'\t' => out.push(b),
        0..=0x1f => out.extend_from_slice(&[b'^', b + 0x40]),
        0x7f => out.extend_from_slice(b"^?"),
        _ => out.push(b),
    }
}

impl TelnetKeys {
    pub fn new(telnet: Rc<RefCell<Telnet>>, opts: &SessionOptions) -> TelnetKeys {
        TelnetKeys {
            telnet,
            escape_key: opts.escape_key,
            log: opts.log.clone(),
            line: Vec::new(),
            prompt: None,
        }
    }

    fn status(&self) -> String {
        let t = self.telnet.borrow();
        let mode = if t.character_mode() {
            "character mode (the server echoes)"
        } else {
            "line mode (local echo and editing)"
        };
        let key = match self.escape_key {
            Some(k) => format!("escape key is {}", key_name(k)),
            None => "no escape key".into(),
        };
        format!("connected; {mode}; {key}\r\n")
    }

    /// Handles one key; `Some(end)` when the session should end.
    fn key(&mut self, b: u8, wire: &mut Vec<u8>, screen: &mut Vec<u8>) -> Option<SessionEnd> {
        if let Some(cmd) = self.prompt.as_mut() {
            match b {
                b'\r' | b'\n' => {
                    let command = parse_command(cmd);
                    self.prompt = None;
                    screen.extend_from_slice(b"\r\n");
                    match command {
                        Command::Quit => return Some(SessionEnd::EscapeKey),
                        Command::SendBreak => wire.extend_from_slice(&[IAC, BRK]),
                        Command::Status => screen.extend_from_slice(self.status().as_bytes()),
                        Command::Resume => {}
                        Command::Help => screen.extend_from_slice(HELP.as_bytes()),
                        Command::Unknown(text) => {
                            screen.extend_from_slice(format!("?invalid command '{text}'; ").as_bytes());
                            screen.extend_from_slice(HELP.as_bytes());
                        }
                    }
                }
                0x7f | 0x08 => {
                    if pop_char(cmd) {
                        screen.extend_from_slice(b"\x08 \x08");
                    }
                }
                // Ctrl-C closes the prompt without a command.
                0x03 => {
                    self.prompt = None;
                    screen.extend_from_slice(b"\r\n");
                }
                0x20..=0x7e if cmd.len() < MAX_COMMAND => {
                    cmd.push(b);
                    screen.push(b);
                }
                _ => screen.push(0x07),
            }
            return None;
        }
        if Some(b) == self.escape_key {
            screen.extend_from_slice(b"\r\ntelnet> ");
            self.prompt = Some(Vec::new());
            return None;
        }
        if self.telnet.borrow().character_mode() {
            // The server switched to echoing mid-line: what was typed goes first.
            for c in std::mem::take(&mut self.line) {
                push_data(wire, c);
            }
            push_data(wire, b);
            if b == b'\r' {
                wire.push(0); // RFC 854: a bare CR is sent as CR NUL
            }
            return None;
        }
        match b {
            b'\r' | b'\n' => {
                for c in std::mem::take(&mut self.line) {
                    push_data(wire, c);
                }
                wire.extend_from_slice(b"\r\n");
                screen.extend_from_slice(b"\r\n");
            }
            0x7f | 0x08 => {
                if pop_char(&mut self.line) {
                    screen.extend_from_slice(b"\x08 \x08");
                }
            }
            // Ctrl-U: the whole line.
            0x15 => {
                while pop_char(&mut self.line) {
                    screen.extend_from_slice(b"\x08 \x08");
                }
            }
            // Ctrl-C: the line is dropped and the server told to interrupt (IAC IP).
            0x03 => {
                self.line.clear();
                wire.extend_from_slice(&[IAC, IP]);
                screen.extend_from_slice(b"^C\r\n");
            }
            _ if self.line.len() >= MAX_LINE => screen.push(0x07),
            _ => {
                self.line.push(b);
                echo_of(b, screen);
            }
        }
        None
    }

    /// Reads keys until stdin ends or the user quits at the prompt.
    pub(crate) async fn run(
        mut self,
        mut stdin: mpsc::Receiver<Vec<u8>>,
        out_tx: &mpsc::Sender<Out>,
        stdout_tx: &mpsc::Sender<Vec<u8>>,
        activity: &Rc<Cell<Instant>>,
    ) -> (SessionEnd, Option<oneshot::Receiver<()>>) {
        while let Some(chunk) = stdin.recv().await {
            activity.set(Instant::now());
            let (mut wire, mut screen) = (Vec::new(), Vec::new());
            let mut end = None;
            for &b in &chunk {
                end = self.key(b, &mut wire, &mut screen);
                if end.is_some() {
                    break;
                }
            }
            if !screen.is_empty() {
                let _ = stdout_tx.send(screen).await;
            }
            if !wire.is_empty() {
                if let Some(log) = &self.log {
                    log.record(Direction::Sent, &wire);
                }
                if out_tx.send(Out::Data(wire)).await.is_err() {
                    return (SessionEnd::SendFailed, None);
                }
            }
            if let Some(end) = end {
                let (ack_tx, ack_rx) = oneshot::channel();
                let _ = out_tx.send(Out::Shutdown(ack_tx)).await;
                return (end, Some(ack_rx));
            }
        }
        // stdin ended: the unfinished line goes out, then the half-close.
        let mut rest = Vec::new();
        for c in std::mem::take(&mut self.line) {
            push_data(&mut rest, c);
        }
        if !rest.is_empty() {
            let _ = out_tx.send(Out::Data(rest)).await;
        }
        let (ack_tx, ack_rx) = oneshot::channel();
        let _ = out_tx.send(Out::Shutdown(ack_tx)).await;
        (SessionEnd::StdinClosed, Some(ack_rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(echoing: bool) -> TelnetKeys {
        let mut t = Telnet::new(true);
        if echoing {
            let (mut d, mut r) = (Vec::new(), Vec::new());
            t.receive(b"\xff\xfb\x01\xff\xfb\x03", &mut d, &mut r);
        }
        TelnetKeys::new(Rc::new(RefCell::new(t)), &SessionOptions::default())
    }

    fn type_in(k: &mut TelnetKeys, input: &[u8]) -> (Vec<u8>, Vec<u8>, Option<SessionEnd>) {
        let (mut wire, mut screen) = (Vec::new(), Vec::new());
        for &b in input {
            if let Some(end) = k.key(b, &mut wire, &mut screen) {
                return (wire, screen, Some(end));
            }
        }
        (wire, screen, None)
    }

    #[test]
    fn line_mode_edits_locally_and_sends_crlf() {
        let mut k = keys(false);
        let (wire, screen, _) = type_in(&mut k, b"abx\x7fc\xc3\xa9\x7f\r");
        assert_eq!(wire, b"abc\r\n");
        assert_eq!(screen, b"abx\x08 \x08c\xc3\xa9\x08 \x08\r\n");
        let (wire, _, _) = type_in(&mut k, b"zz\x15ok\x03");
        assert_eq!(wire, b"\xff\xf4", "Ctrl-C drops the line and sends IAC IP");
    }

    #[test]
    fn character_mode_sends_each_key_and_cr_nul() {
        let mut k = keys(true);
        let (wire, screen, _) = type_in(&mut k, b"a\x7f\xff\r");
        assert_eq!(wire, b"a\x7f\xff\xff\r\x00");
        assert!(screen.is_empty(), "the server echoes");
    }

    #[test]
    fn escape_prompt_commands() {
        let mut k = keys(true);
        let (wire, screen, end) = type_in(&mut k, b"\x1dsend brk\r");
        assert_eq!((wire.as_slice(), end), (&b"\xff\xf3"[..], None));
        assert_eq!(screen, b"\r\ntelnet> send brk\r\n");
        let (_, screen, _) = type_in(&mut k, b"\x1dstatus\r");
        assert!(screen.ends_with(b"connected; character mode (the server echoes); escape key is Ctrl-]\r\n"));
        let (_, screen, _) = type_in(&mut k, b"\x1dfly\r");
        assert!(screen.ends_with(format!("?invalid command 'fly'; {HELP}").as_bytes()));
        let (wire, _, end) = type_in(&mut k, b"\x1dquit\rmore");
        assert_eq!((wire.len(), end), (0, Some(SessionEnd::EscapeKey)));
    }
}
