//! One IMAP command after the greeting, over async-imap's connection as the parser: every
//! response up to the command's own tagged completion, whose status comes from imap-proto's
//! parse of that line (RFC 3501 §7.1), so a `NO` or `BAD` is always seen. The transcript is
//! only a record. Lines are written by us, with our own tags, so that commands can be sent
//! ahead of replies (RFC 3501 §5.5) and their completions read in turn.
//!
//! ```text
//! C: A1 AUTHENTICATE XOAUTH2 <ir>  C: A2 LIST "" "*"     (one write)
//! S: A1 OK AUTHENTICATE completed.
//! S: * LIST (\HasNoChildren) "/" Inbox          → handed to the caller as it arrives
//! S: * BYE Connection closed. 14                → Reply::bye
//! S: A2 BAD User is authenticated but not connected.   → Reply::status, Reply::text
//! ```
//! A reply is bounded in time (one timeout for the whole exchange, not per read) and in
//! count: async-imap reads through the transport's tap, which caps line length and session
//! bytes, and `complete` caps the number of responses, so an endless LIST ends at the cap.

use std::io;
use std::time::Duration;

use async_imap::imap_proto::{self, Response};
use tokio::io::AsyncWriteExt as _;

use super::response::Status;

/// What a session can run over: the TLS stream in production, an in-memory pipe in tests.
pub trait Stream:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send
{
}
impl<T> Stream for T where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send
{
}

/// The session after the greeting: async-imap's connection reads and parses every reply;
/// lines go straight to the stream, tagged `A1`, `A2`, … in the order they are sent.
pub struct Conn<T: Stream> {
    client: async_imap::Client<T>,
    sent: u32,
}

impl<T: Stream> Conn<T> {
    pub fn new(stream: T) -> Self {
        Conn {
            client: async_imap::Client::new(stream),
            sent: 0,
        }
    }

    /// The tag of the next command.
    pub fn tag(&mut self) -> String {
        self.sent += 1;
        format!("A{}", self.sent)
    }

    /// Writes `bytes` (whole CRLF-terminated lines) in one write and flushes.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.client.get_mut();
        stream.write_all(bytes).await?;
        stream.flush().await
    }

    /// The next response, parsed and handed to `f` (async-imap does not export the owner of
    /// a parsed response); `None` when the server has closed the connection.
    pub async fn read<R>(&mut self, f: impl FnOnce(&Response<'_>) -> R) -> io::Result<Option<R>> {
        Ok(self
            .client
            .read_response()
            .await?
            .map(|response| f(response.parsed())))
    }

    /// Ends the session from our side without reading further (TLS close_notify, then FIN),
    /// within `timeout`; a server that has already gone is no error worth reporting.
    pub async fn close(&mut self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.client.get_mut().shutdown()).await;
    }
}

/// How a command ended (its untagged data went to the caller's handler).
pub struct Reply {
    pub status: Status,
    /// The completion's text. A response code imap-proto does not know (`[UNAVAILABLE]`,
    /// `[THROTTLED]`) stays at its start.
    pub text: String,
    /// The text of each untagged BYE.
    pub bye: Vec<String>,
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// Everything the server said in words, for matching its known refusals.
    pub fn words(&self) -> String {
        std::iter::once(self.text.as_str())
            .chain(self.bye.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A command that did not reach its tagged completion.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("no answer to {verb} within {after:?}")]
    Timeout { verb: &'static str, after: Duration },
    /// The server hung up first, perhaps after saying why in an untagged BYE.
    #[error("connection lost")]
    Closed { bye: Vec<String> },
    /// Reading or writing failed, or a response could not be parsed (imap-proto's error comes
    /// through the stream as an I/O error).
    #[error("io: {0}")]
    Io(io::Error),
    /// More untagged responses than the cap before the tagged completion; the session is then
    /// mid-reply and can carry no further command.
    #[error("the server sent more than {limit} responses to {verb}; stopped")]
    TooLong { verb: &'static str, limit: usize },
}

/// Sends `verb args` and reads up to and including its tagged completion, within `timeout`,
/// handing every other response (BYE excepted) to `on_data` in order, at most `max_responses`
/// of them.
pub async fn run<T: Stream>(
    conn: &mut Conn<T>,
    verb: &'static str,
    args: &str,
    timeout: Duration,
    max_responses: usize,
    on_data: impl FnMut(&Response<'_>) + Send,
) -> Result<Reply, CommandError> {
    let tag = conn.tag();
    let line = if args.is_empty() {
        format!("{tag} {verb}\r\n")
    } else {
        format!("{tag} {verb} {args}\r\n")
    };
    let exchange = async {
        conn.write(line.as_bytes())
            .await
            .map_err(CommandError::Io)?;
        read_completion(conn, &tag, verb, max_responses, on_data).await
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(CommandError::Timeout {
            verb,
            after: timeout,
        }))
}

/// Reads the reply to `tag`, a command already sent (ahead of earlier replies), as `run` does.
pub async fn complete<T: Stream>(
    conn: &mut Conn<T>,
    tag: &str,
    verb: &'static str,
    timeout: Duration,
    max_responses: usize,
    on_data: impl FnMut(&Response<'_>) + Send,
) -> Result<Reply, CommandError> {
    let exchange = read_completion(conn, tag, verb, max_responses, on_data);
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(CommandError::Timeout {
            verb,
            after: timeout,
        }))
}

async fn read_completion<T: Stream>(
    conn: &mut Conn<T>,
    tag: &str,
    verb: &'static str,
    max_responses: usize,
    mut on_data: impl FnMut(&Response<'_>) + Send,
) -> Result<Reply, CommandError> {
    let mut bye = Vec::new();
    let mut count = 0usize;
    loop {
        if count >= max_responses {
            return Err(CommandError::TooLong {
                verb,
                limit: max_responses,
            });
        }
        count += 1;
        let done = conn
            .read(|response| match response {
                Response::Done {
                    tag: done,
                    status,
                    outcome,
                } if done.0 == tag => Some((status_of(status), text_of(outcome))),
                Response::Data {
                    status: imap_proto::Status::Bye,
                    outcome,
                } => {
                    bye.push(text_of(outcome));
                    None
                }
                other => {
                    on_data(other);
                    None
                }
            })
            .await
            .map_err(CommandError::Io)?;
        match done {
            None => return Err(CommandError::Closed { bye }),
            Some(Some((status, text))) => return Ok(Reply { status, text, bye }),
            Some(None) => {}
        }
    }
}

pub fn status_of(status: &imap_proto::Status) -> Status {
    match status {
        imap_proto::Status::Ok => Status::Ok,
        imap_proto::Status::No => Status::No,
        imap_proto::Status::Bad => Status::Bad,
        imap_proto::Status::PreAuth => Status::PreAuth,
        imap_proto::Status::Bye => Status::Bye,
    }
}

pub fn text_of(outcome: &imap_proto::Outcome<'_>) -> String {
    outcome
        .information
        .as_deref()
        .unwrap_or_default()
        .to_string()
}

/// A mailbox name as an IMAP quoted string (RFC 3501 §4.3); `None` when it holds a line break
/// or NUL, which no quoted string can carry.
pub fn quote(name: &str) -> Option<String> {
    if name.contains(['\r', '\n', '\0']) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("INBOX").as_deref(), Some("\"INBOX\""));
        assert_eq!(quote(r#"a "b" \c"#).as_deref(), Some(r#""a \"b\" \\c""#));
        assert_eq!(quote("Entw&APw-rfe").as_deref(), Some("\"Entw&APw-rfe\""));
        assert_eq!(quote("a\r\nb"), None);
        assert_eq!(quote("a\0b"), None);
    }
}
