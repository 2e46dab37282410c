//! The transcript tap: a stream wrapper that records every line sent and received, with a
//! timestamp, redacting secrets as it records, and that enforces the line and session caps on
//! everything read, whichever protocol library reads through it.
//!
//! Redaction does not rely on one rule. Lines are scrubbed of every secret registered with the
//! transcript (the token, the SASL string in base64), the argument of any `AUTHENTICATE`/`AUTH`
//! line is replaced, and a client line that answers a server continuation (`+`, `334`) is
//! replaced unless it is one of the harmless acknowledgements.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Limits;
use super::util::escape;
use crate::secret::REDACTED;

/// Who spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// `C:` a line the client sent.
    Client,
    /// `S:` a line the server sent.
    Server,
    /// `--` something that happened between lines (TLS started, connection closed).
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Milliseconds since the transcript started.
    pub at_ms: u64,
    pub direction: Direction,
    /// The line without CRLF, escaped and redacted.
    pub text: String,
}

/// A bound the server exceeded; carried inside an `io::Error` through protocol libraries.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum BoundExceeded {
    #[error("line longer than {0} bytes")]
    Line(usize),
    #[error("more than {0} bytes in one session")]
    Session(usize),
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    secrets: Vec<String>,
    /// The last server line was a SASL continuation, so the next client line is SASL data.
    sasl_continuation: bool,
    /// Bytes the server sent in the session, for saying how far a slow server got.
    received: usize,
}

/// A shared, append-only record of one session. Cheap to clone.
#[derive(Clone)]
pub struct Transcript {
    start: Instant,
    inner: Arc<Mutex<Inner>>,
}

impl Default for Transcript {
    fn default() -> Self {
        Self::new()
    }
}

impl Transcript {
    pub fn new() -> Self {
        Transcript {
            start: Instant::now(),
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-push; the data is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a value that must never be recorded (empty values are ignored).
    pub fn add_secret(&self, secret: &str) {
        if !secret.is_empty() {
            self.lock().secrets.push(secret.to_string());
        }
    }

    pub fn note(&self, text: impl Into<String>) {
        let at_ms = self.elapsed_ms();
        self.lock().entries.push(Entry {
            at_ms,
            direction: Direction::Note,
            text: text.into(),
        });
    }

    /// Bytes read from the server so far, across STARTTLS.
    pub fn received(&self) -> usize {
        self.lock().received
    }

    /// The most recent line the client sent (redacted), for saying what a server left open.
    pub fn last_client_line(&self) -> Option<String> {
        self.lock()
            .entries
            .iter()
            .rev()
            .find(|e| e.direction == Direction::Client)
            .map(|e| e.text.clone())
    }

    fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.clone()
    }

    /// The most recent line the server sent, for quoting it in a failure.
    pub fn last_server_line(&self) -> Option<String> {
        self.lock()
            .entries
            .iter()
            .rev()
            .find(|e| e.direction == Direction::Server)
            .map(|e| e.text.clone())
    }

    /// Server lines after the last client line: the reply to the last command.
    pub fn last_reply(&self) -> Vec<String> {
        let inner = self.lock();
        let mut lines: Vec<String> = inner
            .entries
            .iter()
            .rev()
            .take_while(|e| e.direction != Direction::Client)
            .filter(|e| e.direction == Direction::Server)
            .map(|e| e.text.clone())
            .collect();
        lines.reverse();
        lines
    }

    fn record(&self, direction: Direction, raw: &[u8]) {
        let at_ms = self.elapsed_ms();
        let mut inner = self.lock();
        // Secrets go before escaping: escaping truncates long lines, and a secret cut in half
        // would no longer match and would leak its first part.
        let mut raw_text = String::from_utf8_lossy(raw).into_owned();
        for secret in &inner.secrets {
            if raw_text.contains(secret.as_str()) {
                raw_text = raw_text.replace(secret.as_str(), REDACTED);
            }
        }
        let mut text = escape(raw_text.as_bytes());
        match direction {
            Direction::Client => {
                if inner.sasl_continuation && !is_harmless_sasl_answer(&text) {
                    text = REDACTED.to_string();
                }
                inner.sasl_continuation = false;
                text = redact_auth_command(&text);
            }
            Direction::Server => {
                inner.sasl_continuation = is_sasl_continuation(&text);
            }
            Direction::Note => {}
        }
        inner.entries.push(Entry {
            at_ms,
            direction,
            text,
        });
    }
}

/// IMAP/POP3 `+` and SMTP `334` start a SASL round.
fn is_sasl_continuation(line: &str) -> bool {
    line == "+" || line.starts_with("+ ") || line == "334" || line.starts_with("334 ")
}

/// An empty line, `*` (cancel) and `AQ==` (OAUTHBEARER's acknowledgement) carry no secret.
fn is_harmless_sasl_answer(line: &str) -> bool {
    matches!(line, "" | "*" | "AQ==" | "=")
}

/// `TAG AUTHENTICATE MECH <ir>` (IMAP) and `AUTH MECH <ir>` (POP3, SMTP) keep the mechanism
/// and lose the initial response.
fn redact_auth_command(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let keep = if upper.len() > 3 && upper[1] == "AUTHENTICATE" {
        3
    } else if upper.len() > 2 && upper[0] == "AUTH" {
        2
    } else {
        return line.to_string();
    };
    format!("{} {REDACTED}", words[..keep].join(" "))
}

/// Records lines as they cross and enforces the read caps.
pub struct Tap<S> {
    inner: S,
    transcript: Transcript,
    limits: Limits,
    rx_line: Vec<u8>,
    tx_line: Vec<u8>,
    rx_total: usize,
}

impl<S> std::fmt::Debug for Tap<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tap { .. }")
    }
}

impl<S> Tap<S> {
    pub fn new(inner: S, transcript: Transcript, limits: Limits) -> Self {
        Tap {
            inner,
            transcript,
            limits,
            rx_line: Vec::new(),
            tx_line: Vec::new(),
            rx_total: 0,
        }
    }

    /// The wrapped stream, e.g. to start TLS on it after STARTTLS. A partial line still in
    /// the tap is recorded first.
    pub fn into_inner(mut self) -> S {
        if !self.rx_line.is_empty() {
            self.transcript.record(Direction::Server, &self.rx_line);
        }
        if !self.tx_line.is_empty() {
            self.transcript.record(Direction::Client, &self.tx_line);
        }
        self.rx_line.clear();
        self.tx_line.clear();
        self.inner
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    fn on_read(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.rx_total += bytes.len();
        self.transcript.lock().received += bytes.len();
        if self.rx_total > self.limits.max_session_bytes {
            return Err(bound(BoundExceeded::Session(self.limits.max_session_bytes)));
        }
        for &b in bytes {
            if b == b'\n' {
                let line = strip_cr(&self.rx_line);
                self.transcript.record(Direction::Server, line);
                self.rx_line.clear();
            } else {
                self.rx_line.push(b);
                if self.rx_line.len() >= self.limits.max_line {
                    return Err(bound(BoundExceeded::Line(self.limits.max_line)));
                }
            }
        }
        Ok(())
    }

    fn on_write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                let line = strip_cr(&self.tx_line).to_vec();
                self.transcript.record(Direction::Client, &line);
                self.tx_line.clear();
            } else {
                self.tx_line.push(b);
            }
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn bound(b: BoundExceeded) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, b)
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = buf.filled()[before..].to_vec();
                Poll::Ready(this.on_read(&fresh))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.on_write(&buf[..n]);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn texts(t: &Transcript) -> Vec<String> {
        t.entries().into_iter().map(|e| e.text).collect()
    }

    #[tokio::test]
    async fn records_both_directions_and_redacts_sasl() {
        let (client, mut server) = tokio::io::duplex(4096);
        let t = Transcript::new();
        t.add_secret("tok-123");
        let mut tap = Tap::new(client, t.clone(), Limits::default());
        tap.write_all(b"a1 AUTHENTICATE XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHRvay0xMjMBAQ==\r\n")
            .await
            .unwrap();
        server
            .write_all(b"+ eyJzdGF0dXMiOiI0MDAifQ==\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let _ = tap.read(&mut buf).await.unwrap();
        tap.write_all(b"\r\n").await.unwrap();
        server.write_all(b"+\r\n").await.unwrap();
        let _ = tap.read(&mut buf).await.unwrap();
        tap.write_all(b"c2VjcmV0\r\n").await.unwrap();
        tap.write_all(b"AUTH XOAUTH2 abc\r\nplain tok-123 line\r\n")
            .await
            .unwrap();
        assert_eq!(
            texts(&t),
            vec![
                "a1 AUTHENTICATE XOAUTH2 <redacted>",
                "+ eyJzdGF0dXMiOiI0MDAifQ==",
                "",
                "+",
                "<redacted>",
                "AUTH XOAUTH2 <redacted>",
                "plain <redacted> line",
            ]
        );
    }

    #[tokio::test]
    async fn enforces_line_cap() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let limits = Limits {
            max_line: 100,
            ..Limits::default()
        };
        let mut tap = Tap::new(client, Transcript::new(), limits);
        server.write_all(&[b'x'; 500]).await.unwrap();
        let mut buf = vec![0u8; 1000];
        let err = tap.read(&mut buf).await.unwrap_err();
        assert!(matches!(
            super::super::TransportError::from(err),
            super::super::TransportError::LineTooLong { limit: 100 }
        ));
    }

    #[tokio::test]
    async fn enforces_session_cap() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let limits = Limits {
            max_session_bytes: 1000,
            ..Limits::default()
        };
        let mut tap = Tap::new(client, Transcript::new(), limits);
        let mut buf = vec![0u8; 4096];
        let mut result = Ok(0);
        for _ in 0..30 {
            server.write_all(&[b'y'; 99]).await.unwrap();
            server.write_all(b"\n").await.unwrap();
            result = tap.read(&mut buf).await;
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(
            super::super::TransportError::from(result.unwrap_err()),
            super::super::TransportError::SessionTooLarge { limit: 1000 }
        ));
    }

    #[test]
    fn a_secret_in_an_overlong_line_is_redacted_before_truncation() {
        let t = Transcript::new();
        let secret = "s".repeat(3000);
        t.add_secret(&secret);
        t.record(Direction::Server, format!("x {secret} y").as_bytes());
        let text = &t.entries()[0].text;
        assert_eq!(text, "x <redacted> y");
        // And a line that is long without a secret is cut, but never leaks a secret prefix.
        let t = Transcript::new();
        t.add_secret("TOPSECRET");
        t.record(
            Direction::Server,
            format!("{}TOPSECRET", "a".repeat(1995)).as_bytes(),
        );
        assert!(
            !t.entries()[0].text.contains("TOPS"),
            "{}",
            t.entries()[0].text
        );
    }

    #[test]
    fn last_reply_is_what_followed_the_last_command() {
        let t = Transcript::new();
        t.record(Direction::Client, b"a1 LIST \"\" *");
        t.record(
            Direction::Server,
            b"a1 BAD User is authenticated but not connected.",
        );
        t.record(Direction::Server, b"* BYE Connection closed. 14");
        assert_eq!(
            t.last_reply(),
            vec![
                "a1 BAD User is authenticated but not connected.",
                "* BYE Connection closed. 14"
            ]
        );
        assert_eq!(t.last_server_line().unwrap(), "* BYE Connection closed. 14");
    }
}
