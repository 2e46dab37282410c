//! Protocol drivers. A driver receives a connected stream and a token, never a token source,
//! and records what happened into a report; it knows nothing of the CLI.

pub mod imap;

use crate::report::{Failure, FailureKind, Stage};
use crate::transport::{TlsFailure, TransportError};

/// A transport error at `stage`, as a report failure.
pub fn transport_failure(stage: Stage, e: TransportError) -> Failure {
    use FailureKind as K;
    let kind = match &e {
        TransportError::Resolve { .. }
        | TransportError::NoAddress { .. }
        | TransportError::Connect { .. }
        | TransportError::Io(_) => K::ConnectFailed,
        TransportError::Timeout { .. } => K::Timeout,
        TransportError::Closed => K::ConnectionClosed,
        TransportError::Tls(TlsFailure::UntrustedIssuer) => K::TlsUntrusted,
        TransportError::Tls(TlsFailure::NameMismatch { .. }) => K::TlsNameMismatch,
        TransportError::Tls(TlsFailure::Expired | TlsFailure::NotYetValid) => K::TlsExpired,
        TransportError::Tls(_) => K::TlsFailed,
        TransportError::LineTooLong { .. }
        | TransportError::ReplyTooLong { .. }
        | TransportError::SessionTooLarge { .. } => K::ServerTooVerbose,
        TransportError::DataBeforeTls => K::DataBeforeTls,
    };
    Failure::new(stage, kind, e.to_string())
}
