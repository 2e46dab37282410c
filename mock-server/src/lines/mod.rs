//! Plumbing shared by the line protocols (POP3, SMTP): the I/O-free session interface and
//! the driver that owns the socket — implicit TLS, the STLS/STARTTLS upgrade, bounded
//! line reads, raw octet runs, the idle timeout. Knows no protocol.
//!
//! ```text
//! driver: greeting → loop { read line → session.on_line → send step.out → step.next }
//!         Next::StartTls → TLS handshake, fresh reader (pipelined plaintext dropped)
//!         Next::Octets   → read exactly n octets → session.on_octets
//! ```

pub(crate) mod reader;

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::stream::{Deadlines, Transport};
use reader::{Incoming, LineReader};

/// What the driver does after sending [`Step::out`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read the next line.
    Read,
    /// Run a TLS handshake on this connection, then read.
    StartTls,
    /// Close the connection.
    Close,
    /// Read exactly `len` raw octets and hand them to [`LineSession::on_octets`] (empty
    /// when `keep` is false: they are discarded as they arrive).
    Octets { len: u64, keep: bool },
}

/// The server's reaction to one client line.
#[derive(Debug)]
pub(crate) struct Step {
    /// Bytes to send (CRLF-terminated lines; may be empty).
    pub out: Vec<u8>,
    pub next: Next,
}

/// Collects CRLF-terminated output.
#[derive(Debug, Default)]
pub(crate) struct Out(pub Vec<u8>);

impl Out {
    /// Appends `line` and CRLF.
    pub fn line(&mut self, line: &str) {
        self.0.extend_from_slice(line.as_bytes());
        self.0.extend_from_slice(b"\r\n");
    }

    /// The output so far and what to do next.
    pub fn step(self, next: Next) -> Step {
        Step { out: self.0, next }
    }
}

/// A line protocol's state machine, as the driver sees it. No I/O.
pub(crate) trait LineSession {
    /// The greeting (sent after the TLS handshake on implicit-TLS listeners).
    fn greeting(&mut self) -> Vec<u8>;
    /// One client line, line end removed.
    fn on_line(&mut self, line: &[u8]) -> Step;
    /// The client sent a line longer than the cap (its rest is skipped).
    fn on_too_long(&mut self) -> Step;
    /// The octets asked for with [`Next::Octets`].
    fn on_octets(&mut self, _octets: Vec<u8>) -> Step {
        Out::default().step(Next::Close)
    }
    /// What to send before closing an idle connection.
    fn on_idle_timeout(&mut self) -> Vec<u8>;
    /// The STARTTLS/STLS handshake succeeded.
    fn tls_established(&mut self);
}

/// How a line-protocol connection is served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriveOptions {
    /// TLS from the first byte.
    pub implicit_tls: bool,
    /// Longest accepted line, line end excluded.
    pub max_line: usize,
    /// Time allowed for each line (or octet run) from the client.
    pub idle: Duration,
    /// Time allowed for the whole connection.
    pub session: Duration,
}

/// Serves one connection until the session says close, EOF, an I/O error, the idle
/// timeout or the session deadline (both answered with the session's timeout reply).
pub(crate) async fn drive(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
    options: DriveOptions,
    session: &mut impl LineSession,
) -> io::Result<()> {
    let deadlines = Deadlines::start(options.idle, options.session);
    let mut transport = Transport::Plain(stream);
    if options.implicit_tls {
        transport = transport.into_tls(acceptor).await?;
    }
    transport.send(&session.greeting()).await?;
    let mut reader = LineReader::new(options.max_line);
    let mut next = Next::Read;
    loop {
        let step = match next {
            Next::Close => break,
            Next::StartTls => {
                // Drop anything the client pipelined in plaintext.
                reader = LineReader::new(options.max_line);
                transport = transport.into_tls(acceptor).await?;
                session.tls_established();
                next = Next::Read;
                continue;
            }
            Next::Octets { len, keep } => {
                let read = reader.octets(&mut transport, len, keep);
                match tokio::time::timeout_at(deadlines.next_read(), read).await {
                    Err(_elapsed) => None,
                    Ok(octets) => match octets? {
                        Some(octets) => Some(session.on_octets(octets)),
                        None => break,
                    },
                }
            }
            Next::Read => {
                let read = reader.next(&mut transport);
                match tokio::time::timeout_at(deadlines.next_read(), read).await {
                    Err(_elapsed) => None,
                    Ok(incoming) => match incoming? {
                        Incoming::Closed => break,
                        Incoming::TooLong => Some(session.on_too_long()),
                        Incoming::Line => Some(session.on_line(reader.line())),
                    },
                }
            }
        };
        let Some(step) = step else {
            transport.send(&session.on_idle_timeout()).await?;
            break;
        };
        if !step.out.is_empty() {
            transport.send(&step.out).await?;
        }
        next = step.next;
    }
    transport.close().await;
    Ok(())
}

/// Splits a command line into the verb and the rest after the first space.
pub(crate) fn split_verb(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}

/// A verb worth echoing in the command log: 1–16 ASCII letters/digits, upper-cased.
pub(crate) fn loggable_verb(verb: &[u8]) -> Option<String> {
    (!verb.is_empty() && verb.len() <= 16 && verb.iter().all(u8::is_ascii_alphanumeric))
        .then(|| String::from_utf8_lossy(verb).to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs() {
        assert_eq!(split_verb(b"RETR 1"), (&b"RETR"[..], &b"1"[..]));
        assert_eq!(split_verb(b"QUIT"), (&b"QUIT"[..], &b""[..]));
        assert_eq!(split_verb(b"TOP 1  2"), (&b"TOP"[..], &b"1  2"[..]));
        assert_eq!(loggable_verb(b"retr").as_deref(), Some("RETR"));
        assert_eq!(loggable_verb(b"x-y"), None);
        assert_eq!(loggable_verb(b""), None);
        assert_eq!(loggable_verb(&[b'A'; 17]), None);
    }
}
