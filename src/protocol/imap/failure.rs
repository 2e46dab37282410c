//! IMAP failures as report data: a refused command is named by the server's words through
//! the one shared classifier (`protocol::refusal`), else by what refusing that command means;
//! a command that never completed is a transport failure. The words come from parsed replies;
//! the transcript only supplies the redacted, escaped lines the report quotes as evidence.

use std::time::Duration;

use super::command::{CommandError, Reply};
use crate::outcome::{Failure, FailureKind, Stage};
use crate::protocol::{refusal_kind, transport_failure};
use crate::transport::TransportError;
use crate::transport::tap::Transcript;

/// A refusal at `stage` whose words are `words`.
pub fn refusal(stage: Stage, words: &str, transcript: &Transcript) -> Failure {
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
    Failure::new(stage, kind, message).with_reply(transcript.last_reply())
}

/// A completion other than OK.
pub fn refused(stage: Stage, reply: &Reply, transcript: &Transcript) -> Failure {
    refusal(stage, &reply.words(), transcript)
}

/// A command that did not complete. A hang-up whose BYE says the mailbox is not connected is
/// that refusal (Exchange may send the BYE alone); any other hang-up is the connection's fault.
pub fn incomplete(
    stage: Stage,
    e: CommandError,
    timeout: Duration,
    transcript: &Transcript,
) -> Failure {
    match e {
        CommandError::Timeout { verb, after } => timeout_failure(stage, verb, after),
        CommandError::Closed { bye } => {
            let f = refusal(stage, &bye.join("\n"), transcript);
            if f.kind == FailureKind::AuthenticatedNotConnected {
                f
            } else {
                transport_failure(stage, TransportError::Closed).with_reply(transcript.last_reply())
            }
        }
        CommandError::Io(io) => io_failure(stage, io, timeout, transcript),
        CommandError::TooLong { verb, limit } => Failure::new(
            stage,
            FailureKind::ServerTooVerbose,
            format!("the server sent more than {limit} responses to {verb}; stopped"),
        ),
    }
}

/// An error from async-imap's own commands (AUTHENTICATE). Its `No`/`Bad` carry the parsed
/// completion's code and text, which is what the refusal is classified by.
pub fn client_failure(
    stage: Stage,
    e: async_imap::error::Error,
    timeout: Duration,
    transcript: &Transcript,
) -> Failure {
    use async_imap::error::Error as E;
    match e {
        E::No(words) | E::Bad(words) => refusal(stage, &words, transcript),
        E::ConnectionLost => {
            transport_failure(stage, TransportError::Closed).with_reply(transcript.last_reply())
        }
        E::Io(io) => io_failure(stage, io, timeout, transcript),
        E::Parse(p) => Failure::new(
            stage,
            FailureKind::ProtocolError,
            format!("could not parse the server's reply: {p}"),
        )
        .with_reply(transcript.last_reply()),
        other => Failure::new(stage, FailureKind::ProtocolError, other.to_string())
            .with_reply(transcript.last_reply()),
    }
}

fn io_failure(
    stage: Stage,
    io: std::io::Error,
    timeout: Duration,
    transcript: &Transcript,
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
    transport_failure(stage, te).with_reply(transcript.last_reply())
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
