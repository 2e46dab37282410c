//! Protocol drivers. A driver receives a connected stream and a token, never a token source,
//! and records what happened into a report; it knows nothing of the CLI.

pub mod imap;
pub mod pop3;
pub mod smtp;

use std::time::Duration;

use crate::report::{Examined, Failure, FailureKind, Folder, Found, Stage, Stat, Submission};
use crate::sasl::{self, Credentials, ErrorChallenge, Mechanism, MechanismChoice};
use crate::secret::Secret;
use crate::transport::tap::Transcript;
use crate::transport::{Limits, TlsFailure, TlsInfo, TransportError};

/// Who to authenticate as and how; the same for every protocol.
pub struct Request<'a> {
    /// The mailbox to open (`user=`): the shared mailbox, or the user's own address.
    pub authzid: &'a str,
    pub token: &'a Secret<String>,
    pub mechanism: MechanismChoice,
    /// Sent by OAUTHBEARER.
    pub host: &'a str,
    pub port: u16,
    pub timeout: Duration,
    pub limits: Limits,
}

/// What a check learned, filled in as far as it got.
#[derive(Debug, Default)]
pub struct Facts {
    /// Set when TLS came from STARTTLS (implicit TLS is recorded by the caller).
    pub tls: Option<TlsInfo>,
    /// The token used, as the report shows it.
    pub token: Option<crate::report::TokenInfo>,
    /// What the token's claims say about this check, found before connecting.
    pub preflight: Vec<crate::diagnose::Finding>,
    pub capabilities: Vec<String>,
    pub mechanism: Option<Mechanism>,
    /// A decoded SASL error challenge, when the server sent one.
    pub challenge: Option<Box<ErrorChallenge>>,
    pub warnings: Vec<String>,
    pub folders: Option<Vec<Folder>>,
    pub examined: Option<Examined>,
    pub found: Option<Found>,
    pub stat: Option<Stat>,
    pub submission: Option<Submission>,
}

/// The SASL initial response for `req`, registered with the transcript so that it is redacted
/// wherever it appears. Input that cannot be encoded is the token's fault (exit 3).
pub fn initial_response(
    req: &Request<'_>,
    mechanism: Mechanism,
    transcript: &Transcript,
) -> Result<(Secret<Vec<u8>>, Secret<String>), Failure> {
    let creds = Credentials {
        authzid: req.authzid,
        token: req.token,
        host: Some(req.host),
        port: Some(req.port),
    };
    let unusable =
        |e: sasl::SaslError| Failure::new(Stage::Auth, FailureKind::TokenUnusable, e.to_string());
    let raw = sasl::initial_response_raw(mechanism, &creds).map_err(unusable)?;
    let encoded = sasl::initial_response(mechanism, &creds).map_err(unusable)?;
    transcript.add_secret(req.token.expose());
    transcript.add_secret(encoded.expose());
    Ok((raw, encoded))
}

/// The mechanism to use, or the failure that none of the wanted ones is offered.
pub fn pick_mechanism(
    choice: MechanismChoice,
    offered: &[String],
    stage: Stage,
) -> Result<Mechanism, Failure> {
    choice
        .pick(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())))
        .ok_or_else(|| {
            let wanted = match choice {
                MechanismChoice::Auto => "XOAUTH2 or OAUTHBEARER".to_string(),
                MechanismChoice::Only(m) => m.name().to_string(),
            };
            let offered = if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            };
            Failure::new(
                stage,
                FailureKind::MechanismNotOffered,
                format!("the server does not advertise {wanted} (it offers: {offered})"),
            )
        })
}

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

/// One line about a TLS session for the step list.
pub fn tls_summary(info: &TlsInfo) -> String {
    match &info.certificate {
        Some(c) => format!(
            "{} {}; certificate {} issued by {}, valid until {}",
            info.version, info.cipher_suite, c.subject, c.issuer, c.not_after
        ),
        None => format!("{} {}", info.version, info.cipher_suite),
    }
}

/// A refusal's kind and headline from the server's words where those are known, else the
/// defaults: a kind named by the words gets that kind's headline, so a throttled POP login is
/// never headed "the server rejected the token".
pub fn refusal<'a>(default: FailureKind, headline: &'a str, text: &str) -> (FailureKind, &'a str) {
    let kind = refusal_kind(default, text);
    let headline = match kind {
        _ if kind == default => headline,
        FailureKind::AuthenticatedNotConnected => {
            "authenticated, but the server will not open the mailbox"
        }
        FailureKind::Throttled => "the server is throttling requests",
        FailureKind::ServerTemporaryFailure => {
            "the server could not process the authentication (temporary failure)"
        }
        _ => headline,
    };
    (kind, headline)
}

/// A refusal's kind from the server's words where those are known, else `default`.
pub fn refusal_kind(default: FailureKind, text: &str) -> FailureKind {
    if text.contains("User is authenticated but not connected") {
        FailureKind::AuthenticatedNotConnected
    } else if text.contains("Request is throttled") || text.contains("sender thread limit exceeded")
    {
        FailureKind::Throttled
    } else if text.contains("[UNAVAILABLE]")
        || text.contains("[SYS/TEMP]")
        || text.contains("Temporary authentication failure")
    {
        FailureKind::ServerTemporaryFailure
    } else {
        default
    }
}
