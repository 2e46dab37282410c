//! One IMAP command after authentication, run through async-imap's lower-level API
//! (`Session::run_command`, `Session::read_response`): every response up to the command's own
//! tagged completion, whose status comes from imap-proto's parse of that line (RFC 3501 §7.1),
//! so a `NO` or `BAD` is always seen. The transcript is only a record.
//!
//! ```text
//! C: A3 LIST "" "*"
//! S: * LIST (\HasNoChildren) "/" Inbox          → handed to the caller as it arrives
//! S: * BYE Connection closed. 14                → Reply::bye
//! S: A3 BAD User is authenticated but not connected.   → Reply::status, Reply::text
//! ```
//! A reply is bounded in time (one timeout for the whole exchange, not per read) and in
//! count: async-imap reads through the transport's tap, which caps line length and session
//! bytes, and `run` caps the number of responses, so an endless LIST ends at the cap.

use std::io;
use std::time::Duration;

use async_imap::imap_proto::{self, Response};

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

pub type Session<T> = async_imap::Session<T>;

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
    session: &mut Session<T>,
    verb: &'static str,
    args: &str,
    timeout: Duration,
    max_responses: usize,
    mut on_data: impl FnMut(&Response<'_>) + Send,
) -> Result<Reply, CommandError> {
    let line = if args.is_empty() {
        verb.to_string()
    } else {
        format!("{verb} {args}")
    };
    let exchange = async {
        let tag = session.run_command(&line).await.map_err(|e| match e {
            async_imap::error::Error::Io(io) => CommandError::Io(io),
            other => CommandError::Io(io::Error::other(other.to_string())),
        })?;
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
            let Some(response) = session.read_response().await.map_err(CommandError::Io)? else {
                return Err(CommandError::Closed { bye });
            };
            match response.parsed() {
                Response::Done {
                    tag: done,
                    status,
                    outcome,
                } if *done == tag => {
                    return Ok(Reply {
                        status: status_of(status),
                        text: text_of(outcome),
                        bye,
                    });
                }
                Response::Data {
                    status: imap_proto::Status::Bye,
                    outcome,
                } => bye.push(text_of(outcome)),
                other => on_data(other),
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(CommandError::Timeout {
            verb,
            after: timeout,
        }))
}

fn status_of(status: &imap_proto::Status) -> Status {
    match status {
        imap_proto::Status::Ok => Status::Ok,
        imap_proto::Status::No => Status::No,
        imap_proto::Status::Bad => Status::Bad,
        imap_proto::Status::PreAuth => Status::PreAuth,
        imap_proto::Status::Bye => Status::Bye,
    }
}

fn text_of(outcome: &imap_proto::Outcome<'_>) -> String {
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
