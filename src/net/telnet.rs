//! A sans-IO telnet option state machine (RFC 854/855, loop-free per RFC 1143's spirit):
//! accepts the server's ECHO and SUPPRESS-GO-AHEAD when interactive, offers TERMINAL-TYPE
//! (RFC 1091, `$TERM`), NAWS (RFC 1073, the window size) and NEW-ENVIRON (RFC 1572, `USER` only)
//! when it has them to give, refuses everything else; strips subnegotiations and commands,
//! survives IAC sequences split across reads, and escapes outgoing 0xFF. Each option is answered
//! a few times at most (a refusal once), so a hostile flood of requests or WILL/WONT toggles
//! gets a bounded reply.

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
pub const BRK: u8 = 243;
pub const IP: u8 = 244;
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;
pub const TTYPE: u8 = 24;
pub const NAWS: u8 = 31;
pub const NEW_ENVIRON: u8 = 39;
/// TTYPE and NEW-ENVIRON subnegotiation verbs.
const IS: u8 = 0;
const SEND: u8 = 1;
/// NEW-ENVIRON types.
const VAR: u8 = 0;
const VALUE: u8 = 1;
const ESC: u8 = 2;
const USERVAR: u8 = 3;
/// Longest terminal type sent (RFC 1091: 40 characters).
const MAX_TTYPE: usize = 40;

/// What the client side has to offer.
#[derive(Debug, Clone, Default)]
pub struct TelnetConfig {
    /// A person types (accept the server's ECHO and SGA).
    pub interactive: bool,
    /// `$TERM`, sent when asked (TERMINAL-TYPE).
    pub term: Option<String>,
    /// Columns and rows, sent when NAWS is agreed.
    pub window: Option<(u16, u16)>,
    /// `-l USER`, sent when asked for NEW-ENVIRON USER.
    pub user: Option<String>,
}

/// Longest subnegotiation kept track of; the rest is discarded until IAC SE.
const MAX_SB: usize = 4096;
/// Most answers sent about one option over a session (a server toggling an option forever
/// gets this many, then silence). Found by fuzzing: without it, replies grew with the input.
pub const MAX_ANSWERS_PER_OPTION: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    /// The last data byte was CR (a following NUL is dropped: CR NUL means CR).
    Cr,
    Iac,
    Verb(u8),
    Sb,
    SbIac,
}

/// The telnet side of a session.
#[derive(Debug, Clone)]
pub struct Telnet {
    state: State,
    /// Server options we accept (WILL answered by DO).
    accept_remote: [bool; 256],
    /// Server options in effect.
    remote_on: [bool; 256],
    /// Options we have already answered, so repeated requests get no further reply.
    answered_do: [bool; 256],
    answered_will: [bool; 256],
    /// Answers sent per option.
    answers: [u8; 256],
    /// Options we agreed to enable on our side (DO answered by WILL).
    local_on: [bool; 256],
    config: TelnetConfig,
    /// The subnegotiation being read (capped at MAX_SB; the rest is dropped).
    sb: Vec<u8>,
}

impl Telnet {
    /// `interactive`: a person types (accept the server's ECHO and SGA); nothing to offer.
    pub fn new(interactive: bool) -> Telnet {
        Telnet::with_config(TelnetConfig {
            interactive,
            ..TelnetConfig::default()
        })
    }

    /// A client offering what `config` has.
    pub fn with_config(config: TelnetConfig) -> Telnet {
        let mut accept_remote = [false; 256];
        if config.interactive {
            accept_remote[ECHO as usize] = true;
            accept_remote[SGA as usize] = true;
        }
        Telnet {
            state: State::Data,
            accept_remote,
            remote_on: [false; 256],
            answered_do: [false; 256],
            answered_will: [false; 256],
            answers: [0; 256],
            local_on: [false; 256],
            config,
            sb: Vec::new(),
        }
    }

    /// Whether we would enable `opt` on our side when asked.
    fn offers(&self, opt: u8) -> bool {
        match opt {
            TTYPE => self.config.term.is_some(),
            NAWS => self.config.window.is_some(),
            NEW_ENVIRON => self.config.user.is_some(),
            _ => false,
        }
    }

    /// The window changed (SIGWINCH): the NAWS report to send, if NAWS is agreed.
    pub fn window_changed(&mut self, cols: u16, rows: u16) -> Option<Vec<u8>> {
        self.config.window = Some((cols, rows));
        self.local_on[NAWS as usize].then(|| naws(cols, rows))
    }

    /// Whether the server agreed to suppress go-ahead as well as echo: BSD telnet's
    /// character mode; otherwise the client edits lines locally.
    pub fn character_mode(&self) -> bool {
        self.remote_on[ECHO as usize]
    }

    /// Whether the server does the echoing (so the terminal should not).
    pub fn remote_echo(&self) -> bool {
        self.remote_on[ECHO as usize]
    }

    /// Consumes bytes from the server: data goes to `data`, our answers to `reply`.
    pub fn receive(&mut self, input: &[u8], data: &mut Vec<u8>, reply: &mut Vec<u8>) {
        for &b in input {
            self.state = match self.state {
                State::Data | State::Cr => {
                    if b == IAC {
                        State::Iac
                    } else if b == 0 && self.state == State::Cr {
                        State::Data
                    } else {
                        data.push(b);
                        if b == b'\r' {
                            State::Cr
                        } else {
                            State::Data
                        }
                    }
                }
                State::Iac => match b {
                    IAC => {
                        data.push(IAC);
                        State::Data
                    }
                    WILL | WONT | DO | DONT => State::Verb(b),
                    SB => {
                        self.sb.clear();
                        State::Sb
                    }
                    _ => State::Data, // NOP, GA, AYT …: commands carry no data
                },
                State::Verb(verb) => {
                    self.negotiate(verb, b, reply);
                    State::Data
                }
                State::Sb => {
                    if b == IAC {
                        State::SbIac
                    } else {
                        self.sb_push(b);
                        State::Sb
                    }
                }
                State::SbIac => match b {
                    SE => {
                        self.subnegotiation(reply);
                        self.sb.clear();
                        State::Data
                    }
                    // IAC IAC inside a subnegotiation is a data 0xFF.
                    _ => {
                        self.sb_push(b);
                        State::Sb
                    }
                },
            };
        }
    }

    fn negotiate(&mut self, verb: u8, opt: u8, reply: &mut Vec<u8>) {
        let o = opt as usize;
        if self.answers[o] >= MAX_ANSWERS_PER_OPTION {
            return;
        }
        let before = reply.len();
        match verb {
            // The server asks us to enable an option we have: we do (once).
            DO if self.offers(opt) && !self.local_on[o] => {
                self.local_on[o] = true;
                reply.extend_from_slice(&[IAC, WILL, opt]);
                if let (NAWS, Some((cols, rows))) = (opt, self.config.window) {
                    reply.extend_from_slice(&naws(cols, rows));
                }
            }
            DONT if self.local_on[o] => {
                self.local_on[o] = false;
                reply.extend_from_slice(&[IAC, WONT, opt]);
            }
            // Any other option it asks us to enable: refused, once.
            DO if !self.local_on[o] && !self.answered_do[o] => {
                self.answered_do[o] = true;
                reply.extend_from_slice(&[IAC, WONT, opt]);
            }
            // The server offers to enable an option on its side.
            WILL if !self.remote_on[o] && self.accept_remote[o] => {
                self.remote_on[o] = true;
                reply.extend_from_slice(&[IAC, DO, opt]);
            }
            WILL if !self.remote_on[o] && !self.answered_will[o] => {
                self.answered_will[o] = true;
                reply.extend_from_slice(&[IAC, DONT, opt]);
            }
            WONT if self.remote_on[o] => {
                self.remote_on[o] = false;
                reply.extend_from_slice(&[IAC, DONT, opt]);
            }
            _ => {}
        }
        if reply.len() > before {
            self.answers[o] += 1;
        }
    }

    fn sb_push(&mut self, b: u8) {
        if self.sb.len() < MAX_SB {
            self.sb.push(b);
        }
    }

    /// Answers a complete subnegotiation (`self.sb`, without IAC SB and IAC SE).
    fn subnegotiation(&mut self, reply: &mut Vec<u8>) {
        let Some((&opt, rest)) = self.sb.split_first() else {
            return;
        };
        if !self.local_on[opt as usize] || rest.first() != Some(&SEND) {
            return;
        }
        // A server asking again and again gets the same bounded answer count as options do.
        if self.answers[opt as usize] >= MAX_ANSWERS_PER_OPTION * 2 {
            return;
        }
        self.answers[opt as usize] += 1;
        match opt {
            TTYPE => {
                let term: String = self
                    .config
                    .term
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(MAX_TTYPE)
                    .collect();
                reply.extend_from_slice(&[IAC, SB, TTYPE, IS]);
                reply.extend_from_slice(term.as_bytes());
                reply.extend_from_slice(&[IAC, SE]);
            }
            NEW_ENVIRON => {
                // SEND with no names asks for everything; otherwise USER only if named.
                let asked = &rest[1..];
                let wants_user = asked.is_empty()
                    || asked
                        .split(|&b| b == VAR || b == USERVAR)
                        .any(|name| name == b"USER");
                reply.extend_from_slice(&[IAC, SB, NEW_ENVIRON, IS]);
                if let (true, Some(user)) = (wants_user, &self.config.user) {
                    reply.push(VAR);
                    reply.extend_from_slice(b"USER");
                    reply.push(VALUE);
                    for &b in user.as_bytes() {
                        // RFC 1572: the type bytes inside a value are escaped with ESC.
                        if b <= USERVAR {
                            reply.push(ESC);
                        }
                        if b == IAC {
                            reply.push(IAC);
                        }
                        reply.push(b);
                    }
                }
                reply.extend_from_slice(&[IAC, SE]);
            }
            _ => {}
        }
    }

    /// Escapes data to send: 0xFF is doubled.
    pub fn escape_outgoing(input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if b == IAC {
                out.push(IAC);
            }
            out.push(b);
        }
    }
}

/// IAC SB NAWS cols rows IAC SE, with 0xFF bytes of the sizes doubled.
fn naws(cols: u16, rows: u16) -> Vec<u8> {
    let mut out = vec![IAC, SB, NAWS];
    for b in cols.to_be_bytes().into_iter().chain(rows.to_be_bytes()) {
        if b == IAC {
            out.push(IAC);
        }
        out.push(b);
    }
    out.extend_from_slice(&[IAC, SE]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut Telnet, chunks: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let (mut data, mut reply) = (Vec::new(), Vec::new());
        for c in chunks {
            t.receive(c, &mut data, &mut reply);
        }
        (data, reply)
    }

    #[test]
    fn refuses_unasked_options_and_accepts_echo_when_interactive() {
        let mut t = Telnet::new(true);
        let (data, reply) = feed(
            &mut t,
            &[b"\xff\xfd\x18\xff\xfb\x01\xff\xfb\x03\xff\xfb\x05login: "],
        );
        assert_eq!(data, b"login: ");
        assert_eq!(reply, b"\xff\xfc\x18\xff\xfd\x01\xff\xfd\x03\xff\xfe\x05");
        assert!(t.remote_echo());
        let mut t = Telnet::new(false);
        let (_, reply) = feed(&mut t, &[b"\xff\xfb\x01"]);
        assert_eq!(reply, b"\xff\xfe\x01", "scripts do not want remote echo");
    }

    #[test]
    fn sequences_split_across_reads() {
        let mut t = Telnet::new(true);
        let (data, reply) = feed(
            &mut t,
            &[b"ab\xff", b"\xfd", b"\x18cd\xff", b"\xff", b"e\r", b"\x00f"],
        );
        assert_eq!(data, b"abcd\xffe\rf");
        assert_eq!(reply, b"\xff\xfc\x18");
    }

    #[test]
    fn subnegotiations_are_stripped_even_unterminated_and_huge() {
        let mut t = Telnet::new(true);
        let (data, _) = feed(&mut t, &[b"x\xff\xfa\x18\x01\xff\xff\xff\xf0y"]);
        assert_eq!(data, b"xy");
        let mut t = Telnet::new(true);
        let flood = vec![b'A'; 1 << 20];
        let (data, _) = feed(&mut t, &[b"\xff\xfa\x18", &flood, &flood]);
        assert!(
            data.is_empty(),
            "an unterminated subnegotiation swallows, bounded"
        );
    }

    #[test]
    fn endless_do_gets_one_answer_per_option() {
        let mut t = Telnet::new(false);
        let flood: Vec<u8> = (0..100_000).flat_map(|i| [IAC, DO, (i % 256) as u8]).collect();
        let (data, reply) = feed(&mut t, &[&flood]);
        assert!(data.is_empty());
        assert_eq!(reply.len(), 256 * 3);
    }

    #[test]
    fn toggling_an_accepted_option_forever_gets_a_bounded_reply() {
        let mut t = Telnet::new(true);
        let flood: Vec<u8> = (0..10_000)
            .flat_map(|_| [IAC, WILL, ECHO, IAC, WONT, ECHO])
            .collect();
        let (_, reply) = feed(&mut t, &[&flood]);
        assert_eq!(reply.len(), MAX_ANSWERS_PER_OPTION as usize * 3);
    }

    #[test]
    fn terminal_type_window_size_and_user_when_offered() {
        let mut t = Telnet::with_config(TelnetConfig {
            interactive: true,
            term: Some("xterm-256color".into()),
            window: Some((100, 255)),
            user: Some("alice".into()),
        });
        let (_, reply) = feed(&mut t, &[b"\xff\xfd\x18\xff\xfd\x1f\xff\xfd\x27\xff\xfd\x20"]);
        assert_eq!(
            reply,
            b"\xff\xfb\x18\xff\xfb\x1f\xff\xfa\x1f\x00\x64\x00\xff\xff\xff\xf0\xff\xfb\x27\xff\xfc\x20"
        );
        let (_, reply) = feed(&mut t, &[b"\xff\xfa\x18\x01\xff", b"\xf0"]);
        assert_eq!(reply, b"\xff\xfa\x18\x00xterm-256color\xff\xf0");
        let (_, reply) = feed(&mut t, &[b"\xff\xfa\x27\x01\x00USER\xff\xf0"]);
        assert_eq!(reply, b"\xff\xfa\x27\x00\x00USER\x01alice\xff\xf0");
        let (_, reply) = feed(&mut t, &[b"\xff\xfa\x27\x01\x00DISPLAY\xff\xf0"]);
        assert_eq!(reply, b"\xff\xfa\x27\x00\xff\xf0", "only USER is ever given");
        assert_eq!(
            t.window_changed(80, 24).unwrap(),
            b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"
        );
        // Without anything to offer, the same requests are refused.
        let mut t = Telnet::new(true);
        let (_, reply) = feed(&mut t, &[b"\xff\xfd\x18\xff\xfd\x1f\xff\xfd\x27"]);
        assert_eq!(reply, b"\xff\xfc\x18\xff\xfc\x1f\xff\xfc\x27");
        assert_eq!(t.window_changed(80, 24), None);
    }

    #[test]
    fn outgoing_iac_is_doubled() {
        let mut out = Vec::new();
        Telnet::escape_outgoing(b"a\xffb", &mut out);
        assert_eq!(out, b"a\xff\xffb");
    }
}
