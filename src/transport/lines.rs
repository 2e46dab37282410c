//! Bounded line I/O for the parts of a session a driver handles itself (greetings, capability
//! lists, STARTTLS). Reading is by line with a per-line cap; the read buffer is checked empty
//! before the stream is handed on, so nothing a server sends early can slip past a TLS upgrade.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Limits, TransportError, within};

pub struct LineConn<S> {
    stream: S,
    buf: Vec<u8>,
    limits: Limits,
    timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineConn<S> {
    /// `timeout` bounds every single read and write.
    pub fn new(stream: S, limits: Limits, timeout: Duration) -> Self {
        LineConn {
            stream,
            buf: Vec::new(),
            limits,
            timeout,
        }
    }

    /// Next line without its CRLF (or bare LF). Invalid UTF-8 is replaced, never fatal.
    pub async fn read_line(&mut self, stage: &'static str) -> Result<String, TransportError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() >= self.limits.max_line {
                return Err(TransportError::LineTooLong {
                    limit: self.limits.max_line,
                });
            }
            let mut chunk = [0u8; 4096];
            let n = within(stage, self.timeout, self.stream.read(&mut chunk)).await?;
            if n == 0 {
                return Err(TransportError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads lines until `is_last` says the reply is complete, bounded by `max_reply_lines`.
    pub async fn read_reply(
        &mut self,
        stage: &'static str,
        mut is_last: impl FnMut(&str) -> bool,
    ) -> Result<Vec<String>, TransportError> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line(stage).await?;
            let done = is_last(&line);
            lines.push(line);
            if done {
                return Ok(lines);
            }
            if lines.len() >= self.limits.max_reply_lines {
                return Err(TransportError::ReplyTooLong {
                    limit: self.limits.max_reply_lines,
                });
            }
        }
    }

    /// Sends `line` followed by CRLF.
    pub async fn write_line(
        &mut self,
        stage: &'static str,
        line: &str,
    ) -> Result<(), TransportError> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        within(stage, self.timeout, self.stream.write_all(&bytes)).await?;
        within(stage, self.timeout, self.stream.flush()).await
    }

    /// Sends bytes as they are (an SMTP DATA body, already dot-stuffed).
    pub async fn write_raw(
        &mut self,
        stage: &'static str,
        bytes: &[u8],
    ) -> Result<(), TransportError> {
        within(stage, self.timeout, self.stream.write_all(bytes)).await?;
        within(stage, self.timeout, self.stream.flush()).await
    }

    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, provided the server has not sent anything beyond the last line read.
    pub fn into_inner(self) -> Result<S, TransportError> {
        if self.buf.is_empty() {
            Ok(self.stream)
        } else {
            Err(TransportError::DataBeforeTls)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(s: tokio::io::DuplexStream, max_line: usize) -> LineConn<tokio::io::DuplexStream> {
        let limits = Limits {
            max_line,
            max_reply_lines: 3,
            ..Limits::default()
        };
        LineConn::new(s, limits, Duration::from_secs(5))
    }

    #[tokio::test]
    async fn reads_crlf_and_lf_lines() {
        let (a, mut b) = tokio::io::duplex(1024);
        b.write_all(b"* OK hi\r\nbare\n").await.unwrap();
        let mut c = conn(a, 100);
        assert_eq!(c.read_line("t").await.unwrap(), "* OK hi");
        assert_eq!(c.read_line("t").await.unwrap(), "bare");
        drop(b);
        assert!(matches!(
            c.read_line("t").await,
            Err(TransportError::Closed)
        ));
    }

    #[tokio::test]
    async fn caps_line_and_reply_length() {
        let (a, mut b) = tokio::io::duplex(4096);
        b.write_all(&[b'x'; 300]).await.unwrap();
        let mut c = conn(a, 100);
        assert!(matches!(
            c.read_line("t").await,
            Err(TransportError::LineTooLong { limit: 100 })
        ));
        let (a, mut b) = tokio::io::duplex(4096);
        b.write_all(b"* 1\r\n* 2\r\n* 3\r\n* 4\r\n").await.unwrap();
        let mut c = conn(a, 100);
        assert!(matches!(
            c.read_reply("t", |l| l.starts_with("a1 ")).await,
            Err(TransportError::ReplyTooLong { limit: 3 })
        ));
    }

    #[tokio::test]
    async fn data_read_ahead_blocks_the_handover() {
        let (a, mut b) = tokio::io::duplex(1024);
        b.write_all(b"a2 OK Begin TLS\r\n* injected\r\n")
            .await
            .unwrap();
        let mut c = conn(a, 100);
        c.read_line("t").await.unwrap();
        assert!(matches!(c.into_inner(), Err(TransportError::DataBeforeTls)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_times_out() {
        let (a, _b) = tokio::io::duplex(1024);
        let mut c = conn(a, 100);
        assert!(matches!(
            c.read_line("greeting").await,
            Err(TransportError::Timeout {
                stage: "greeting",
                ..
            })
        ));
    }
}
