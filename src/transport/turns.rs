//! Round trips counted on the TCP stream itself, under TLS, so that the TCP and TLS handshakes
//! and a STARTTLS upgrade are counted like any command: a *turn* is a read that returns bytes
//! after the client wrote since the previous turn.
//!
//! ```text
//! connect                          1   (SYN / SYN-ACK)
//! S: greeting                      1   (the first read after connect: the ACK was the "write")
//! C: A1 …  C: A2 …  S: A1 OK  S: A2 OK   1   (pipelined: one wait)
//! C: A1 …  S: A1 OK  C: A2 …  S: A2 OK   2
//! ```
//!
//! Reads that continue a reply (a long LIST, a certificate chain in several segments) are not
//! new turns: nothing was written since. This is the number the round-trip work of issue 13
//! drives down, and the one a latency-adding proxy measures as wall time ÷ RTT.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::outcome::RoundTrips;

/// A stream that counts its turns into a shared [`RoundTrips`].
#[derive(Debug)]
pub struct Turns<S> {
    inner: S,
    counter: RoundTrips,
    /// The client wrote since the last counted turn: the next bytes read answer it.
    wrote: bool,
}

impl<S> Turns<S> {
    /// A stream whose TCP handshake just completed: that is one round trip, and the server's
    /// first bytes (a greeting) answer the handshake's final ACK, so they end the next one.
    pub fn connected(inner: S, counter: RoundTrips) -> Self {
        counter.add();
        Turns {
            inner,
            counter,
            wrote: true,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn counter(&self) -> &RoundTrips {
        &self.counter
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Turns<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before && self.wrote {
            self.wrote = false;
            self.counter.add();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Turns<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote = true;
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote = true;
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A connected pair over loopback, the client side counted.
    async fn pair() -> (Turns<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let client = Turns::connected(client.unwrap(), RoundTrips::default());
        (client, server.unwrap().0)
    }

    /// Reads until `want` bytes have arrived (a reply may come in several reads).
    async fn read_exactly(stream: &mut (impl AsyncRead + Unpin), want: usize) -> Vec<u8> {
        let mut got = vec![0u8; want];
        stream.read_exact(&mut got).await.unwrap();
        got
    }

    #[tokio::test]
    async fn connect_and_a_greeting_are_two_turns() {
        let (mut client, mut server) = pair().await;
        assert_eq!(client.counter().get(), 1, "the TCP handshake");
        server.write_all(b"* OK ready\r\n").await.unwrap();
        read_exactly(&mut client, 12).await;
        assert_eq!(client.counter().get(), 2, "the greeting");
    }

    #[tokio::test]
    async fn two_pipelined_commands_are_one_turn_and_two_in_lockstep_are_two() {
        let (mut client, mut server) = pair().await;
        server.write_all(b"hi\r\n").await.unwrap();
        read_exactly(&mut client, 4).await;
        let base = client.counter().get();

        // Pipelined: both lines written, then one wait for both answers.
        client.write_all(b"A1\r\n").await.unwrap();
        client.write_all(b"A2\r\n").await.unwrap();
        read_exactly(&mut server, 8).await;
        server.write_all(b"A1 OK\r\n").await.unwrap();
        server.write_all(b"A2 OK\r\n").await.unwrap();
        read_exactly(&mut client, 14).await;
        assert_eq!(client.counter().get() - base, 1, "pipelined: one turn");

        // Lockstep: write, read, write, read.
        for tag in [&b"B1"[..], b"B2"] {
            client.write_all(&[tag, b"\r\n"].concat()).await.unwrap();
            read_exactly(&mut server, 4).await;
            server.write_all(&[tag, b" OK\r\n"].concat()).await.unwrap();
            read_exactly(&mut client, 7).await;
        }
        assert_eq!(client.counter().get() - base, 3, "lockstep: two more turns");
    }

    #[tokio::test]
    async fn a_reply_read_in_pieces_is_one_turn() {
        let (mut client, mut server) = pair().await;
        client.write_all(b"LIST\r\n").await.unwrap();
        read_exactly(&mut server, 6).await;
        for _ in 0..3 {
            server.write_all(b"* LIST x\r\n").await.unwrap();
            server.flush().await.unwrap();
            read_exactly(&mut client, 10).await;
        }
        assert_eq!(
            client.counter().get(),
            2,
            "connect, then one reply in three reads"
        );
    }

    #[tokio::test]
    async fn the_end_of_the_stream_is_no_turn() {
        let (mut client, server) = pair().await;
        client.write_all(b"QUIT\r\n").await.unwrap();
        drop(server);
        let mut buf = [0u8; 8];
        let n = client.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0);
        assert_eq!(client.counter().get(), 1, "only the TCP handshake");
    }
}
