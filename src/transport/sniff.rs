//! What a server's first bytes say about the port: a TLS record (the port wants implicit TLS)
//! or a plaintext greeting (the port wants STARTTLS, or is not a mail port at all). Byte
//! patterns only; which flag fixes the mistake is the caller's business, where the protocol is
//! known.
//!
//! ```text
//! 16 03 01 ..   TLS handshake record        15 03 03 ..   TLS alert record
//! * OK ...      IMAP greeting               +OK ...       POP3 greeting
//! 220 ...       SMTP greeting               HTTP/1.1 ...  an HTTP server
//! ```

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::util::escape;
use crate::service::Protocol;

/// How many of the first bytes read are kept for a diagnosis.
pub const KEEP: usize = 512;

/// What the first bytes from a server look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Spoken {
    /// A TLS record: the server expects TLS from the first byte.
    Tls,
    /// An IMAP greeting (`* OK`, `* PREAUTH`, `* BYE`).
    Imap,
    /// A POP3 greeting (`+OK`, `-ERR`).
    Pop,
    /// An SMTP greeting (`220`, or a refusal `421`/`554`).
    Smtp,
    /// An HTTP response.
    Http,
    /// Printable text of no known protocol.
    Text,
}

impl Spoken {
    /// The name an admin knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Spoken::Tls => "TLS",
            Spoken::Imap => "IMAP",
            Spoken::Pop => "POP3",
            Spoken::Smtp => "SMTP",
            Spoken::Http => "HTTP",
            Spoken::Text => "plain-text",
        }
    }

    /// The phrase for a sentence: "an IMAP greeting", "an HTTP response".
    pub fn described(self) -> &'static str {
        match self {
            Spoken::Tls => "a TLS record",
            Spoken::Imap => "an IMAP greeting",
            Spoken::Pop => "a POP3 greeting",
            Spoken::Smtp => "an SMTP greeting",
            Spoken::Http => "an HTTP response",
            Spoken::Text => "text",
        }
    }

    /// The mail protocol, for comparing with the check that ran.
    pub fn mail_protocol(self) -> Option<Protocol> {
        match self {
            Spoken::Imap => Some(Protocol::Imap),
            Spoken::Pop => Some(Protocol::Pop),
            Spoken::Smtp => Some(Protocol::Smtp),
            _ => None,
        }
    }
}

/// Classifies the first bytes a server sent; `None` when there are none or they are binary
/// but not TLS.
pub fn classify(bytes: &[u8]) -> Option<Spoken> {
    let first = *bytes.first()?;
    // Record types 20-23 (change_cipher_spec, alert, handshake, application_data), version 3.x.
    if (0x14..=0x17).contains(&first) && bytes.get(1).is_none_or(|&v| v == 0x03) {
        return Some(Spoken::Tls);
    }
    let starts = |p: &[u8]| bytes.len() >= p.len() && bytes[..p.len()].eq_ignore_ascii_case(p);
    if starts(b"* OK") || starts(b"* PREAUTH") || starts(b"* BYE") {
        return Some(Spoken::Imap);
    }
    if starts(b"+OK") || starts(b"-ERR") {
        return Some(Spoken::Pop);
    }
    // An HTTP/0.9-style answer to bytes that are not an HTTP request (Python's http.server
    // answers a TLS ClientHello this way) has no status line: the page itself comes first.
    if starts(b"HTTP/") || starts(b"<!DOCTYPE HTML") || starts(b"<html") || starts(b"<head") {
        return Some(Spoken::Http);
    }
    let smtp_code = bytes.len() >= 4
        && matches!(bytes[0], b'2' | b'4' | b'5')
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit()
        && matches!(bytes[3], b' ' | b'-');
    if smtp_code {
        return Some(Spoken::Smtp);
    }
    let text = bytes
        .iter()
        .take(64)
        .all(|&b| b.is_ascii_graphic() || b" \r\n\t".contains(&b));
    text.then_some(Spoken::Text)
}

/// A server that speaks only TLS older than 1.2, as its answer to xoauth's ClientHello (which
/// offers 1.2 and 1.3 only) shows.
///
/// ```text
/// 16 03 01 .. .. 02 .. .. .. 03 01   a ServerHello choosing TLS 1.0 (03 02: TLS 1.1)
/// 15 03 01 00 02 02 46               a fatal protocol_version alert (70)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldTls {
    /// Its ServerHello chose this version: `SSL 3.0`, `TLS 1.0` or `TLS 1.1`.
    Chose(&'static str),
    /// It refused the hello with a `protocol_version` alert: none of the offered versions.
    ProtocolVersionAlert,
}

/// How [`OldTls::evidence`] lines start, so the diagnosis can read them back.
const CHOSE: &str = "TLS ServerHello chose ";
const ALERT: &str = "TLS alert: protocol_version (70)";

impl OldTls {
    /// The server's first record, if it says the server speaks only an older TLS.
    pub fn from_first_record(bytes: &[u8]) -> Option<OldTls> {
        match bytes {
            // Handshake record whose first message is a ServerHello (2); its legacy version
            // follows the 4-byte message header. TLS 1.3 says 03 03 there, as 1.2 does.
            [0x16, 0x03, _, _, _, 0x02, _, _, _, 0x03, minor, ..] => match minor {
                0 => Some(OldTls::Chose("SSL 3.0")),
                1 => Some(OldTls::Chose("TLS 1.0")),
                2 => Some(OldTls::Chose("TLS 1.1")),
                _ => None,
            },
            [0x15, 0x03, _, _, _, _, 70, ..] => Some(OldTls::ProtocolVersionAlert),
            _ => None,
        }
    }

    /// One line for the report's server reply: what the server sent, in words.
    pub fn evidence(self) -> String {
        match self {
            OldTls::Chose(version) => format!("{CHOSE}{version}"),
            OldTls::ProtocolVersionAlert => ALERT.to_string(),
        }
    }

    /// Reads an [`OldTls::evidence`] line back.
    pub fn from_evidence(line: &str) -> Option<OldTls> {
        if line == ALERT {
            return Some(OldTls::ProtocolVersionAlert);
        }
        let version = line.strip_prefix(CHOSE)?;
        ["SSL 3.0", "TLS 1.0", "TLS 1.1"]
            .into_iter()
            .find(|v| *v == version)
            .map(OldTls::Chose)
    }

    /// The version(s) the server speaks, for sentences.
    pub fn versions(self) -> &'static str {
        match self {
            OldTls::Chose(version) => version,
            OldTls::ProtocolVersionAlert => "TLS 1.0 or 1.1",
        }
    }
}

/// The first line of what a server sent, escaped for display.
pub fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len())
        .min(200);
    escape(&bytes[..end])
}

/// The first bytes read through a [`Sniff`], readable after the stream is gone.
#[derive(Debug, Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<u8>>>);

impl Seen {
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A read-through wrapper that keeps the first [`KEEP`] bytes read, so a failed TLS handshake
/// can say what the server sent instead of "corrupt message".
#[derive(Debug)]
pub struct Sniff<S> {
    inner: S,
    seen: Seen,
}

impl<S> Sniff<S> {
    pub fn new(inner: S) -> (Self, Seen) {
        let seen = Seen::default();
        (
            Sniff {
                inner,
                seen: seen.clone(),
            },
            seen,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniff<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let mut seen = self.seen.0.lock().unwrap_or_else(|p| p.into_inner());
            let room = KEEP.saturating_sub(seen.len());
            let new = &buf.filled()[before..];
            seen.extend_from_slice(&new[..new.len().min(room)]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniff<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_servers_that_speak_only_old_tls() {
        let hello = |minor: u8| {
            let mut r = vec![
                0x16, 0x03, minor, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, minor,
            ];
            r.extend_from_slice(&[0u8; 38]);
            r
        };
        assert_eq!(
            OldTls::from_first_record(&hello(1)),
            Some(OldTls::Chose("TLS 1.0"))
        );
        assert_eq!(
            OldTls::from_first_record(&hello(2)),
            Some(OldTls::Chose("TLS 1.1"))
        );
        assert_eq!(OldTls::from_first_record(&hello(3)), None, "TLS 1.2/1.3");
        let alert = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70];
        assert_eq!(
            OldTls::from_first_record(&alert),
            Some(OldTls::ProtocolVersionAlert)
        );
        let other_alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40];
        assert_eq!(OldTls::from_first_record(&other_alert), None);
        assert_eq!(OldTls::from_first_record(b"* OK hi\r\n"), None);
        assert_eq!(OldTls::from_first_record(&[0x16, 0x03]), None);
        for old in [
            OldTls::Chose("TLS 1.0"),
            OldTls::Chose("TLS 1.1"),
            OldTls::ProtocolVersionAlert,
        ] {
            assert_eq!(OldTls::from_evidence(&old.evidence()), Some(old));
        }
        assert_eq!(OldTls::from_evidence("TLS ServerHello chose TLS 9"), None);
    }

    #[test]
    fn recognises_greetings_and_tls() {
        assert_eq!(
            classify(b"* OK [CAPABILITY IMAP4rev1] ready\r\n"),
            Some(Spoken::Imap)
        );
        assert_eq!(classify(b"+OK POP3 ready\r\n"), Some(Spoken::Pop));
        assert_eq!(classify(b"220 mx.example ESMTP\r\n"), Some(Spoken::Smtp));
        assert_eq!(classify(b"554 go away\r\n"), Some(Spoken::Smtp));
        assert_eq!(
            classify(b"HTTP/1.1 400 Bad Request\r\n"),
            Some(Spoken::Http)
        );
        for page in [
            &b"<!DOCTYPE HTML>\n<html lang=\"en\">"[..],
            b"<html><body>",
            b"<HEAD>",
        ] {
            assert_eq!(classify(page), Some(Spoken::Http), "{page:?}");
        }
        assert_eq!(classify(b"\x16\x03\x03\x00\x7a\x02"), Some(Spoken::Tls));
        assert_eq!(classify(b"\x15\x03\x01\x00\x02\x02\x46"), Some(Spoken::Tls));
        assert_eq!(classify(b"\x16"), Some(Spoken::Tls));
        assert_eq!(classify(b"hello there\r\n"), Some(Spoken::Text));
        assert_eq!(classify(b"\x00\x01\x02"), None);
        assert_eq!(classify(b""), None);
        // A handshake byte followed by something that is not a TLS version is not TLS.
        assert_eq!(classify(b"\x16\x41"), None);
    }

    #[test]
    fn first_line_is_escaped_and_short() {
        assert_eq!(first_line(b"* OK hi\r\n* more"), "* OK hi");
        assert_eq!(first_line(b"\x1b[2J\r\n"), "\\x1b[2J");
        assert_eq!(first_line(&[b'a'; 500]).len(), 200);
    }

    #[tokio::test]
    async fn keeps_the_first_bytes_read() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (a, mut b) = tokio::io::duplex(4096);
        let (mut sniff, seen) = Sniff::new(a);
        b.write_all(&[b'x'; KEEP + 100]).await.unwrap();
        drop(b);
        let mut all = Vec::new();
        sniff.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), KEEP + 100);
        assert_eq!(seen.bytes().len(), KEEP);
    }
}
