//! Bounded line I/O for the parts of a session a driver handles itself (greetings, capability
//! lists, STARTTLS). Reading is by line with a per-line cap; the read buffer is checked empty
//! before the stream is handed on, so nothing a server sends early can slip past a TLS upgrade.
//! The timeout is a deadline for the whole line or reply, never per read: a server that drips
//! one byte a second would otherwise keep a check alive forever.

use std::time::Duration;

use tokio::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Limits, TransportError, within};

pub struct LineConn<S> {
    stream: S,
    buf: Vec<u8>,
    limits: Limits,
    timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineConn<S> {
    /// `timeout` bounds each line read, each whole reply and each write.
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
        let mut received = 0;
        self.line_by(stage, Instant::now() + self.timeout, &mut received)
            .await
    }

    /// The next line, or a timeout naming the bytes received since the stage began.
    async fn line_by(
        &mut self,
        stage: &'static str,
        deadline: Instant,
        received: &mut usize,
    ) -> Result<String, TransportError> {
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
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(read) => read?,
                Err(_) => {
                    return Err(TransportError::Timeout {
                        stage,
                        after: self.timeout,
                        received: *received,
                    });
                }
            };
            *received += n;
            if n == 0 {
                return Err(TransportError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads lines until `is_last` says the reply is complete, bounded by `max_reply_lines` and
    /// by one deadline for the whole reply.
    pub async fn read_reply(
        &mut self,
        stage: &'static str,
        mut is_last: impl FnMut(&str) -> bool,
    ) -> Result<Vec<String>, TransportError> {
        let mut lines = Vec::new();
        let deadline = Instant::now() + self.timeout;
        let mut received = 0;
        loop {
            let line = self.line_by(stage, deadline, &mut received).await?;
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

    /// Closes the session from this side (TLS close_notify, then FIN) without reading anything
    /// more: for a goodbye whose reply is not worth a round trip. Bounded by the timeout.
    pub async fn shutdown(&mut self, stage: &'static str) -> Result<(), TransportError> {
        within(stage, self.timeout, self.stream.shutdown()).await
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

    /// One byte every second never completes a line: the 5 s deadline is for the whole line.
    #[tokio::test(start_paused = true)]
    async fn a_dripping_server_times_out_once_for_the_whole_line() {
        let (a, mut b) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            for _ in 0..60 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if b.write_all(b"*").await.is_err() {
                    return;
                }
            }
        });
        let mut c = conn(a, 100);
        let started = Instant::now();
        let err = c.read_line("greeting").await.unwrap_err();
        assert!(started.elapsed() <= Duration::from_secs(6), "{err}");
        assert!(
            matches!(
                err,
                TransportError::Timeout {
                    stage: "greeting",
                    received: 4..=5,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("bytes within 5s during greeting"),
            "{err}"
        );
    }

    /// A reply whose lines each come just inside the timeout still ends at one deadline.
    #[tokio::test(start_paused = true)]
    async fn a_slow_reply_has_one_deadline() {
        let (a, mut b) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            for _ in 0..60 {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if b.write_all(b"250-x\r\n").await.is_err() {
                    return;
                }
            }
        });
        let limits = Limits {
            max_line: 100,
            max_reply_lines: 1000,
            ..Limits::default()
        };
        let mut c = LineConn::new(a, limits, Duration::from_secs(5));
        let started = Instant::now();
        let err = c
            .read_reply("ehlo", |l| l.starts_with("250 "))
            .await
            .unwrap_err();
        assert!(started.elapsed() <= Duration::from_secs(6), "{err}");
        assert!(
            matches!(err, TransportError::Timeout { stage: "ehlo", .. }),
            "{err:?}"
        );
    }

    /// A goodbye sent without waiting: the peer reads the line, then the end of the stream.
    #[tokio::test]
    async fn shutdown_ends_the_stream_after_what_was_written() {
        let (a, mut b) = tokio::io::duplex(1024);
        let mut c = conn(a, 100);
        c.write_line("quit", "QUIT").await.unwrap();
        c.shutdown("quit").await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"QUIT\r\n");
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
