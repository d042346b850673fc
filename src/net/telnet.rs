//! A sans-IO telnet option state machine (RFC 854/855, loop-free per RFC 1143's spirit):
//! refuses every option except the server's ECHO and SUPPRESS-GO-AHEAD when interactive,
//! strips subnegotiations and commands, survives IAC sequences split across reads, and escapes
//! outgoing 0xFF. Each option is answered a few times at most (a refusal once), so a hostile
//! flood of requests or WILL/WONT toggles gets a bounded reply.

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;

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
    Sb(usize),
    SbIac(usize),
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
}

impl Telnet {
    /// `interactive`: a person types (accept the server's ECHO and SGA).
    pub fn new(interactive: bool) -> Telnet {
        let mut accept_remote = [false; 256];
        if interactive {
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
        }
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
                    SB => State::Sb(0),
                    _ => State::Data, // NOP, GA, AYT …: commands carry no data
                },
                State::Verb(verb) => {
                    self.negotiate(verb, b, reply);
                    State::Data
                }
                State::Sb(n) => {
                    if b == IAC {
                        State::SbIac(n)
                    } else {
                        State::Sb((n + 1).min(MAX_SB))
                    }
                }
                State::SbIac(n) => match b {
                    SE => State::Data,
                    _ => State::Sb((n + 1).min(MAX_SB)),
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
            // The server asks us to enable an option: we enable none.
            DO if !self.answered_do[o] => {
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
    fn outgoing_iac_is_doubled() {
        let mut out = Vec::new();
        Telnet::escape_outgoing(b"a\xffb", &mut out);
        assert_eq!(out, b"a\xff\xffb");
    }
}
