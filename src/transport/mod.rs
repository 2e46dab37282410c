//! TCP and TLS for every protocol driver: connect with a timeout, implicit TLS or a STARTTLS
//! upgrade, bounded line I/O and a redacted transcript. Knows nothing of IMAP, POP3 or SMTP.

pub mod greeting;
pub mod lines;
pub mod sniff;
pub mod tap;
pub mod tls;
pub mod turns;
pub mod util;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpStream;

pub use tls::{TlsFailure, TlsInfo};

/// How the session gets encrypted. There is no plaintext option: authentication is never sent
/// in the clear, and a server that does not offer STARTTLS is an error, not a fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Security {
    /// TLS from the first byte (IMAP 993, POP3 995, SMTP 465).
    #[serde(rename = "implicit-tls")]
    ImplicitTls,
    /// Plaintext greeting, then the protocol's STARTTLS/STLS command (IMAP 143, POP3 110, SMTP 587).
    #[serde(rename = "starttls")]
    StartTls,
}

/// Caps on what a server may send, so a broken or hostile peer cannot exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest line accepted, CRLF included.
    pub max_line: usize,
    /// Most lines in one reply (a CAPABILITY answer, a LIST, an EHLO).
    pub max_reply_lines: usize,
    /// Most bytes read in one session.
    pub max_session_bytes: usize,
    /// How long one whole check may take, end to end: the per-stage timeout alone would let a
    /// server that answers each stage just in time hold a check for as long as it likes.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 64 * 1024,
            max_reply_lines: 10_000,
            max_session_bytes: 32 * 1024 * 1024,
            deadline: Duration::from_secs(120),
        }
    }
}

/// Why the transport could not carry the conversation. Each variant says whose side failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    // The io errors below are part of the sentence, not a `source`, so that printing the
    // error with its chain does not say the same thing twice.
    #[error("could not resolve {host}: {reason}")]
    Resolve { host: String, reason: io::Error },
    #[error("{host} resolved to no address")]
    NoAddress { host: String },
    #[error("could not connect to {addr}: {reason}")]
    Connect { addr: String, reason: io::Error },
    /// `after` bounds the whole stage (a line, a reply, a handshake), not each read, so a
    /// server that drips one byte at a time still runs out of time.
    #[error("{}", timeout_sentence(stage, *after, *received))]
    Timeout {
        stage: &'static str,
        after: Duration,
        /// Bytes the server sent during the stage before the deadline.
        received: usize,
    },
    #[error("TLS handshake failed: {0}")]
    Tls(#[from] TlsFailure),
    /// Implicit TLS to a port that speaks plaintext first (143, 110, 587, 25) or HTTP.
    #[error(
        "the server sent {} in plain text (\"{first_line}\") where a TLS handshake was \
         expected: this port does not speak implicit TLS",
        .spoken.described()
    )]
    NotTls {
        spoken: sniff::Spoken,
        first_line: String,
    },
    /// A plaintext session (STARTTLS) to a port that speaks TLS from the first byte.
    #[error("the server expects TLS from the first byte (implicit TLS): {evidence}")]
    TlsExpected { evidence: String },
    #[error("the server sent a line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("the server sent a reply of more than {limit} lines")]
    ReplyTooLong { limit: usize },
    #[error("the server sent more than {limit} bytes in this session")]
    SessionTooLarge { limit: usize },
    #[error(
        "the server sent data after agreeing to STARTTLS and before the TLS handshake \
         (a response-injection attempt or a broken server)"
    )]
    DataBeforeTls,
    #[error("the server closed the connection")]
    Closed,
    #[error("network error: {0}")]
    Io(io::Error),
}

impl From<io::Error> for TransportError {
    /// Keeps the bound violations the tap raises inside io errors recognisable.
    fn from(e: io::Error) -> Self {
        if let Some(bound) = e
            .get_ref()
            .and_then(|r| r.downcast_ref::<tap::BoundExceeded>())
        {
            return match *bound {
                tap::BoundExceeded::Line(limit) => TransportError::LineTooLong { limit },
                tap::BoundExceeded::Session(limit) => TransportError::SessionTooLarge { limit },
            };
        }
        match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => TransportError::Closed,
            _ => TransportError::Io(e),
        }
    }
}

fn timeout_sentence(stage: &str, after: Duration, received: usize) -> String {
    let secs = after.as_secs_f32();
    match received {
        0 => format!("no answer within {secs}s during {stage}"),
        n => format!(
            "the server sent only {n} bytes within {secs}s during {stage}, not a complete \
             answer (the deadline is for the whole stage, not for each read)"
        ),
    }
}

impl TransportError {
    /// The certificate chain the server presented, when a certificate was refused.
    pub fn presented_tls(&self) -> Option<&TlsInfo> {
        match self {
            TransportError::Tls(f) => f.presented(),
            _ => None,
        }
    }
}

impl Upgrader {
    /// The chain of a certificate refused by [`Upgrader::upgrade`], once.
    pub fn take_refused(&self) -> Option<TlsInfo> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Runs `fut` with a deadline; an expired deadline names the stage that hung.
pub async fn within<T, E>(
    stage: &'static str,
    after: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, TransportError>
where
    TransportError: From<E>,
{
    match tokio::time::timeout(after, fut).await {
        Ok(r) => r.map_err(TransportError::from),
        Err(_) => Err(TransportError::Timeout {
            stage,
            after,
            received: 0,
        }),
    }
}

/// Resolves `host` and connects to the first address that answers, each try bounded by
/// `timeout`. Returns the stream and the address used.
pub async fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), TransportError> {
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(reason)) => {
                return Err(TransportError::Resolve {
                    host: host.to_string(),
                    reason,
                });
            }
            Err(_) => {
                return Err(TransportError::Timeout {
                    stage: "name resolution",
                    after: timeout,
                    received: 0,
                });
            }
        };
    let mut last = None;
    for addr in &addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, *addr));
            }
            Ok(Err(reason)) => {
                last = Some(TransportError::Connect {
                    addr: addr.to_string(),
                    reason,
                })
            }
            Err(_) => {
                last = Some(TransportError::Timeout {
                    stage: "connect",
                    after: timeout,
                    received: 0,
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| TransportError::NoAddress {
        host: host.to_string(),
    }))
}

/// A TCP connection counting its round trips: every session runs over one, under TLS.
pub type Tcp = turns::Turns<TcpStream>;

/// A plaintext session with its tap, before its STARTTLS upgrade.
pub type PlainConn = tap::Tap<Tcp>;

/// A TLS session with its tap: what every driver talks through once encrypted.
pub type TlsConn = tap::Tap<tokio_rustls::client::TlsStream<sniff::Sniff<Tcp>>>;

/// What a driver needs to secure a plaintext session after its protocol's STARTTLS command.
pub struct Upgrader {
    pub host: String,
    pub config: std::sync::Arc<rustls::ClientConfig>,
    pub timeout: Duration,
    pub limits: Limits,
    /// The chain of a certificate refused during the upgrade: drivers turn the error into a
    /// failure, and the report still shows which certificate it was.
    pub refused: std::sync::Mutex<Option<TlsInfo>>,
}

impl Upgrader {
    /// Runs the handshake over `plain` and continues the same transcript on the TLS stream.
    pub async fn upgrade(&self, plain: PlainConn) -> Result<(TlsConn, TlsInfo), TransportError> {
        let transcript = plain.transcript().clone();
        let tcp = plain.into_inner();
        let (tls, info) = tls::handshake(tcp, &self.host, self.config.clone(), self.timeout)
            .await
            .inspect_err(|e| {
                if let Some(p) = e.presented_tls() {
                    *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(p.clone());
                }
            })?;
        transcript.note(format!(
            "TLS established: {} {}",
            info.version, info.cipher_suite
        ));
        Ok((tap::Tap::new(tls, transcript, self.limits), info))
    }
}

/// A connected session as handed to a protocol driver.
pub enum Connection {
    /// Implicit TLS, already encrypted.
    Tls(Box<TlsConn>),
    /// Plaintext, to be upgraded by the driver's STARTTLS before anything else.
    Plain(PlainConn),
}
