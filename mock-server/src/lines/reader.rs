//! Bounded line reader for the line protocols (POP3, SMTP): lines end in CRLF (bare LF is
//! accepted), a line longer than the cap is reported once and skipped up to its end, and
//! raw octet runs (SMTP BDAT) are read under the same buffer. Knows no protocol.
//!
//! ```text
//! bytes "NOOP\r\nQUIT\r\n"     → Line("NOOP"), Line("QUIT")
//! bytes "AAAA…(>cap)…\r\nNOOP" → TooLong, Line("NOOP")
//! ```

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// What [`LineReader::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A complete line is in [`LineReader::line`].
    Line,
    /// A line exceeded the cap; the rest of it will be skipped.
    TooLong,
    /// The peer closed the connection.
    Closed,
}

/// Buffered reader with a per-line cap. Replace it after STARTTLS/STLS so pipelined
/// plaintext is dropped instead of being read as if it came over TLS.
pub(crate) struct LineReader {
    buf: Vec<u8>,
    /// Bytes of `buf` that belong to the line last returned (consumed on the next call).
    taken: usize,
    /// `buf[..line_len]` is the last line, without its line end.
    line_len: usize,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    max_line: usize,
}

const CHUNK: usize = 8 * 1024;

impl LineReader {
    /// `max_line`: longest accepted line, line end excluded.
    pub fn new(max_line: usize) -> LineReader {
        LineReader {
            buf: Vec::new(),
            taken: 0,
            line_len: 0,
            skipping: false,
            max_line,
        }
    }

    /// The line last reported by [`Incoming::Line`], without CRLF/LF.
    pub fn line(&self) -> &[u8] {
        &self.buf[..self.line_len]
    }

    fn consume(&mut self) {
        self.buf.drain(..self.taken);
        self.taken = 0;
        self.line_len = 0;
    }

    /// Reads until a whole line (or an over-long one) is buffered.
    pub async fn next(&mut self, io: &mut (impl AsyncRead + Unpin)) -> io::Result<Incoming> {
        self.consume();
        loop {
            if let Some(lf) = self.buf.iter().position(|&b| b == b'\n') {
                if self.skipping {
                    self.buf.drain(..=lf);
                    self.skipping = false;
                    continue;
                }
                let end = if lf > 0 && self.buf[lf - 1] == b'\r' {
                    lf - 1
                } else {
                    lf
                };
                if end > self.max_line {
                    self.buf.drain(..=lf);
                    return Ok(Incoming::TooLong);
                }
                self.taken = lf + 1;
                self.line_len = end;
                return Ok(Incoming::Line);
            }
            // No line end buffered yet. `+ 1` leaves room for a CR before the LF.
            if self.buf.len() > self.max_line + 1 {
                self.buf.clear();
                if !self.skipping {
                    self.skipping = true;
                    return Ok(Incoming::TooLong);
                }
            }
            if self.fill(io).await? == 0 {
                return Ok(Incoming::Closed);
            }
        }
    }

    async fn fill(&mut self, io: &mut (impl AsyncRead + Unpin)) -> io::Result<usize> {
        let mut chunk = [0u8; CHUNK];
        let n = io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads exactly `len` raw octets (after the last line). With `keep`, returns them;
    /// otherwise discards them as they arrive (bounded memory) and returns an empty vector.
    /// `None` if the peer closed first. Callers bound `len` when `keep` is set.
    pub async fn octets(
        &mut self,
        io: &mut (impl AsyncRead + Unpin),
        len: u64,
        keep: bool,
    ) -> io::Result<Option<Vec<u8>>> {
        self.consume();
        let mut kept = Vec::new();
        let mut missing = len;
        loop {
            let take = usize::try_from(missing)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            if keep {
                kept.extend_from_slice(&self.buf[..take]);
            }
            self.buf.drain(..take);
            missing -= take as u64;
            if missing == 0 {
                return Ok(Some(kept));
            }
            if self.fill(io).await? == 0 {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut io = input;
        let mut reader = LineReader::new(max);
        let mut out = Vec::new();
        loop {
            match reader.next(&mut io).await.expect("in-memory read") {
                Incoming::Line => out.push(String::from_utf8_lossy(reader.line()).into_owned()),
                Incoming::TooLong => out.push("<too long>".to_owned()),
                Incoming::Closed => return out,
            }
        }
    }

    #[tokio::test]
    async fn splits_lines() {
        assert_eq!(
            lines(b"NOOP\r\nQUIT\nX\r\r\n\r\npartial", 10).await,
            ["NOOP", "QUIT", "X\r", ""],
            "a last line without LF is dropped at EOF"
        );
        assert_eq!(lines(b"0123456789\r\n", 10).await, ["0123456789"]);
        assert_eq!(
            lines(b"0123456789A\r\nok\r\n", 10).await,
            ["<too long>", "ok"]
        );
        let mut long = vec![b'x'; 100];
        long.extend_from_slice(b"\r\nnext\r\n");
        assert_eq!(lines(&long, 10).await, ["<too long>", "next"]);
        assert_eq!(lines(&vec![b'y'; 100_000], 10).await, ["<too long>"]);
    }

    #[tokio::test]
    async fn octets_after_a_line() {
        let mut io: &[u8] = b"BDAT 5 LAST\r\nHELLOQUIT\r\n";
        let mut reader = LineReader::new(64);
        assert_eq!(reader.next(&mut io).await.ok(), Some(Incoming::Line));
        assert_eq!(reader.line(), b"BDAT 5 LAST");
        let got = reader.octets(&mut io, 5, true).await.expect("read");
        assert_eq!(got.as_deref(), Some(&b"HELLO"[..]));
        assert_eq!(reader.next(&mut io).await.ok(), Some(Incoming::Line));
        assert_eq!(reader.line(), b"QUIT");
        let mut io: &[u8] = b"abc";
        let mut reader = LineReader::new(64);
        assert_eq!(
            reader.octets(&mut io, 2, false).await.ok(),
            Some(Some(Vec::new()))
        );
        assert_eq!(reader.octets(&mut io, 5, true).await.ok(), Some(None));
    }
}
