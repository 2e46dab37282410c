//! IMAP failures as report data: a refused command is named by the server's words through
//! the one shared classifier (`protocol::refusal`), else by what refusing that command means;
//! a command that never completed is a transport failure. The words come from parsed replies;
//! the transcript only supplies the redacted, escaped lines the report quotes as evidence
//! (`Evidence`).

use std::time::Duration;

use super::command::{CommandError, Reply};
use crate::outcome::{Failure, FailureKind, Stage};
use crate::protocol::{refusal_kind, transport_failure};
use crate::transport::TransportError;
use crate::transport::tap::Transcript;

/// Which server lines a failure quotes. One command at a time, that is the reply to the last
/// line sent. With commands sent together, replies follow each other with no client line
/// between them, so a command's reply is cut out by tag: from the completion of the command
/// before it (or its own command line, or the last continuation) through its own completion
/// and a BYE right after it.
pub struct Evidence<'t> {
    transcript: &'t Transcript,
    /// `(own tag, tag of the command whose reply precedes it)` for a command sent ahead.
    sent: Option<(&'t str, Option<&'t str>)>,
}

impl<'t> Evidence<'t> {
    /// The reply to the last line sent.
    pub fn last(transcript: &'t Transcript) -> Self {
        Evidence {
            transcript,
            sent: None,
        }
    }

    /// The reply to `own`, sent together with other commands; its reply follows `after`'s.
    pub fn sent(transcript: &'t Transcript, own: &'t str, after: Option<&'t str>) -> Self {
        Evidence {
            transcript,
            sent: Some((own, after)),
        }
    }

    pub fn reply(&self) -> Vec<String> {
        use crate::transport::tap::{Direction, Entry};
        let Some((own, after)) = self.sent else {
            return self.transcript.last_reply();
        };
        let tagged = |e: &Entry, tag: &str| {
            e.text
                .strip_prefix(tag)
                .is_some_and(|rest| rest.starts_with(' '))
        };
        let server = |e: &Entry| e.direction == Direction::Server;
        let entries = self.transcript.entries();
        let done = entries.iter().position(|e| server(e) && tagged(e, own));
        let stop = done.map_or(entries.len(), |at| at + 1);
        let start = entries[..stop]
            .iter()
            .rposition(|e| {
                (e.direction == Direction::Client && tagged(e, own))
                    || (server(e)
                        && (e.text == "+"
                            || e.text.starts_with("+ ")
                            || after.is_some_and(|a| tagged(e, a))))
            })
            .map_or(0, |at| at + 1);
        let mut lines: Vec<String> = entries[start..stop]
            .iter()
            .filter(|e| server(e))
            .map(|e| e.text.clone())
            .collect();
        if done.is_some() {
            lines.extend(
                entries[stop..]
                    .iter()
                    .filter(|e| server(e))
                    .take_while(|e| e.text.starts_with("* BYE"))
                    .map(|e| e.text.clone()),
            );
        }
        lines
    }
}

/// A refusal at `stage` whose words are `words`.
pub fn refusal(stage: Stage, words: &str, evidence: &Evidence<'_>) -> Failure {
    let (default, unexplained) = match stage {
        Stage::Auth => (FailureKind::AuthRejected, "the server rejected the token"),
        Stage::List => (FailureKind::ListFailed, "the server refused LIST"),
        Stage::Examine => (
            FailureKind::ExamineFailed,
            "the server refused to open the folder",
        ),
        Stage::Search => (FailureKind::ExamineFailed, "the server refused SEARCH"),
        _ => (FailureKind::ProtocolError, "the server refused the command"),
    };
    let kind = refusal_kind(default, words);
    let message = match kind {
        FailureKind::AuthenticatedNotConnected => {
            "authenticated, but the server will not open the mailbox"
        }
        FailureKind::Throttled => "the server is throttling requests",
        FailureKind::ServerTemporaryFailure => {
            "the server could not process the authentication (temporary failure)"
        }
        _ => unexplained,
    };
    Failure::new(stage, kind, message).with_reply(evidence.reply())
}

/// A completion other than OK.
pub fn refused(stage: Stage, reply: &Reply, evidence: &Evidence<'_>) -> Failure {
    refusal(stage, &reply.words(), evidence)
}

/// A command that did not complete. A hang-up whose BYE says the mailbox is not connected is
/// that refusal (Exchange may send the BYE alone); any other hang-up is the connection's fault.
pub fn incomplete(
    stage: Stage,
    e: CommandError,
    timeout: Duration,
    evidence: &Evidence<'_>,
) -> Failure {
    match e {
        CommandError::Timeout { verb, after } => timeout_failure(stage, verb, after),
        CommandError::Closed { bye } => {
            let f = refusal(stage, &bye.join("\n"), evidence);
            if f.kind == FailureKind::AuthenticatedNotConnected {
                f
            } else {
                transport_failure(stage, TransportError::Closed).with_reply(evidence.reply())
            }
        }
        CommandError::Io(io) => io_failure(stage, io, timeout, evidence),
        CommandError::TooLong { verb, limit } => Failure::new(
            stage,
            FailureKind::ServerTooVerbose,
            format!("the server sent more than {limit} responses to {verb}; stopped"),
        ),
    }
}

/// Reading or writing failed: a bound the tap enforces, a reply imap-proto could not parse
/// (its error comes through as an I/O error), or the network.
pub fn io_failure(
    stage: Stage,
    io: std::io::Error,
    timeout: Duration,
    evidence: &Evidence<'_>,
) -> Failure {
    let te = match TransportError::from(io) {
        TransportError::Io(inner) if inner.kind() == std::io::ErrorKind::TimedOut => {
            TransportError::Timeout {
                stage: stage.name(),
                after: timeout,
                received: 0,
            }
        }
        other => other,
    };
    transport_failure(stage, te).with_reply(evidence.reply())
}

pub fn timeout_failure(stage: Stage, command: &'static str, after: Duration) -> Failure {
    transport_failure(
        stage,
        TransportError::Timeout {
            stage: command,
            after,
            received: 0,
        },
    )
}
