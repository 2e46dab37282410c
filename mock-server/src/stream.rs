//! A server-side connection that is plaintext or TLS, and can turn from the first into the
//! second in place (STARTTLS, STLS). Knows no mail protocol.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Longest time a TLS handshake or a single write may take.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long, and for how many bytes, [`Transport::close`] keeps reading after its FIN.
const LINGER: Duration = Duration::from_millis(500);
const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// Longest any configured deadline is taken to be, so deadline arithmetic stays far from
/// overflow.
const MAX_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long the peer may take: for each command (idle), and for the whole session (so a
/// client that trickles bytes just fast enough, or keeps sending NOOP, still ends).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    idle: Duration,
    end: Instant,
}

impl Deadlines {
    /// Starts the session clock now.
    pub fn start(idle: Duration, session: Duration) -> Deadlines {
        Deadlines {
            idle: idle.min(MAX_DEADLINE),
            end: Instant::now() + session.min(MAX_DEADLINE),
        }
    }

    /// When the read starting now must have completed.
    pub fn next_read(&self) -> Instant {
        (Instant::now() + self.idle).min(self.end)
    }
}

/// Turns a client away in its own protocol: after the TLS handshake on implicit-TLS
/// listeners, sends `reply` (one line, CRLF added) and closes. Used when the server is at
/// its connection cap; the caller bounds the time it takes.
pub(crate) async fn refuse(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
    implicit_tls: bool,
    reply: &str,
) {
    let mut transport = Transport::Plain(stream);
    if implicit_tls {
        match transport.into_tls(acceptor).await {
            Ok(tls) => transport = tls,
            Err(_) => return,
        }
    }
    if transport
        .send(format!("{reply}\r\n").as_bytes())
        .await
        .is_ok()
    {
        transport.close().await;
    }
}

/// Plaintext or TLS over one TCP connection.
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "peer too slow")
}

impl Transport {
    /// Runs the server side of a TLS handshake over this connection. Bytes the peer sent
    /// before the handshake and that are still buffered elsewhere must be discarded by
    /// the caller (plaintext must never leak into the TLS session).
    pub async fn into_tls(self, acceptor: &TlsAcceptor) -> io::Result<Transport> {
        match self {
            Transport::Plain(tcp) => {
                let tls = tokio::time::timeout(IO_TIMEOUT, acceptor.accept(tcp))
                    .await
                    .map_err(|_| timed_out())??;
                Ok(Transport::Tls(Box::new(tls)))
            }
            Transport::Tls(_) => Err(io::Error::other("already TLS")),
        }
    }

    /// Writes and flushes `bytes`, giving up after [`IO_TIMEOUT`].
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let write = async {
            self.write_all(bytes).await?;
            self.flush().await
        };
        tokio::time::timeout(IO_TIMEOUT, write)
            .await
            .map_err(|_| timed_out())?
    }

    /// Ends the connection politely (TLS close_notify, TCP FIN), best effort, then briefly
    /// reads and discards what the peer still sends: closing a socket with unread input
    /// makes the kernel send a reset, which can destroy our last reply (the BYE) in flight.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(IO_TIMEOUT, self.shutdown()).await;
        let drain = async {
            let mut buf = [0u8; 4096];
            let mut total = 0usize;
            while total < LINGER_MAX_BYTES {
                match self.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
