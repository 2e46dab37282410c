//! A failure as every layer states it: the stage, a stable kind, the category that decides the
//! exit status, the server's words, and the cause and fix, whether known where it happened
//! (advice) or worked out later by the diagnosis (explanation).

use serde::Serialize;

use super::{ExitStatus, Explanation, Stage};
use crate::sasl::ErrorChallenge;

/// What kind of failure, as a stable machine-readable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    TokenUnusable,
    /// The identity provider answered with an error (AADSTS...).
    TokenRejected,
    /// The user did not finish signing in: declined, expired, timed out.
    SignInIncomplete,
    TokenEndpointUnreachable,
    /// The client secret or certificate could not be read or used.
    CredentialUnusable,
    ConnectFailed,
    Timeout,
    ConnectionClosed,
    TlsUntrusted,
    TlsNameMismatch,
    TlsExpired,
    TlsFailed,
    StarttlsNotOffered,
    StarttlsRefused,
    DataBeforeTls,
    /// Implicit TLS to a port that greets in plain text (a STARTTLS port, or not a mail port).
    PlaintextPort,
    /// STARTTLS to a port that speaks TLS from the first byte.
    ImplicitTlsPort,
    /// The greeting is another protocol's (or HTTP): the port belongs to another service.
    WrongProtocolPort,
    ServerTooVerbose,
    GreetingRejected,
    ProtocolError,
    MechanismNotOffered,
    AuthRejected,
    AuthenticatedNotConnected,
    Throttled,
    ListFailed,
    ExamineFailed,
    /// The server said its side failed (IMAP `[UNAVAILABLE]`, SMTP 454): not the token's fault.
    ServerTemporaryFailure,
    SmtpAuthDisabled,
    AuthBlockedByPolicy,
    SendAsDenied,
    SendRejected,
    StatFailed,
}

/// Which exit status a failure maps to (see [`ExitStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The server answered and said no, or misbehaved: exit 1.
    CheckFailed,
    /// The token could not be used as given: exit 3.
    Token,
    /// The server could not be reached or secured: exit 4.
    Network,
}

impl Category {
    pub fn exit_status(self) -> ExitStatus {
        match self {
            Category::CheckFailed => ExitStatus::CheckFailed,
            Category::Token => ExitStatus::Token,
            Category::Network => ExitStatus::Network,
        }
    }
}

impl FailureKind {
    pub fn category(self) -> Category {
        use FailureKind::*;
        match self {
            TokenUnusable | TokenRejected | SignInIncomplete | CredentialUnusable => {
                Category::Token
            }
            TokenEndpointUnreachable => Category::Network,
            ConnectFailed | Timeout | ConnectionClosed | TlsUntrusted | TlsNameMismatch
            | TlsExpired | TlsFailed | StarttlsNotOffered | StarttlsRefused | DataBeforeTls
            | PlaintextPort | ImplicitTlsPort | WrongProtocolPort => Category::Network,
            ServerTooVerbose
            | GreetingRejected
            | ProtocolError
            | MechanismNotOffered
            | AuthRejected
            | AuthenticatedNotConnected
            | Throttled
            | ListFailed
            | ExamineFailed
            | ServerTemporaryFailure
            | SmtpAuthDisabled
            | AuthBlockedByPolicy
            | SendAsDenied
            | SendRejected
            | StatFailed => Category::CheckFailed,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub stage: Stage,
    pub kind: FailureKind,
    pub category: Category,
    /// What went wrong, in one sentence.
    pub message: String,
    /// The server's own words (escaped), when it said something.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_reply: Vec<String>,
    /// A decoded SASL error challenge, when the server sent one.
    /// (Boxed, with `explanation`, to keep `Result<_, Failure>` small on the happy path.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Box<ErrorChallenge>>,
    /// Filled in by `diagnose` when the report is finished.
    #[serde(flatten)]
    pub explanation: Option<Box<Explanation>>,
    /// The cause and fix, when the layer that failed knows them exactly (which input, what to
    /// do: an unset variable, a password-protected certificate); they replace the generic row
    /// of the kind. Set with `with_advice`, applied by `explain`.
    #[serde(skip)]
    pub advice: Option<Box<Advice>>,
    /// The identity provider's ids from its error reply; the report shows them in its ids
    /// block, not here.
    #[serde(skip)]
    pub provider_ids: Option<Box<super::ProviderIds>>,
}

/// A cause and fix known where the failure happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub cause: String,
    pub fix: Option<String>,
}

impl Failure {
    pub fn new(stage: Stage, kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            stage,
            kind,
            category: kind.category(),
            message: message.into(),
            server_reply: Vec::new(),
            challenge: None,
            explanation: None,
            advice: None,
            provider_ids: None,
        }
    }

    pub fn with_reply(mut self, reply: Vec<String>) -> Self {
        self.server_reply = reply;
        self
    }

    /// Keeps the provider's ids, when it sent any.
    pub fn with_provider_ids(mut self, ids: super::ProviderIds) -> Self {
        self.provider_ids = (!ids.is_empty()).then(|| Box::new(ids));
        self
    }

    pub fn with_advice(mut self, cause: impl Into<String>, fix: Option<String>) -> Self {
        self.advice = Some(Box::new(Advice {
            cause: cause.into(),
            fix,
        }));
        self
    }

    /// Attaches `diagnose`'s explanation; advice from the failing layer wins over its row for
    /// the kind (the evidence stays).
    pub fn explain(&mut self, mut explanation: Explanation) {
        if let Some(a) = &self.advice {
            explanation.cause = a.cause.clone();
            explanation.candidates.clear();
            explanation.fix = a.fix.clone();
        }
        self.explanation = Some(Box::new(explanation));
    }
}
