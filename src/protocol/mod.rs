//! Protocol drivers. A driver receives a connected stream and a token, never a token source,
//! and records what happened into a report; it knows nothing of the CLI.

pub mod imap;
pub mod pop3;
pub mod record;
pub mod refusal;
pub mod results;
pub mod server_name;
pub mod smtp;
pub mod wrong_port;

pub use refusal::{refusal, refusal_kind};
pub use results::{Examined, Folder, Found, Stat, Submission};

use std::time::Duration;

use crate::outcome::{Failure, FailureKind, Stage};
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
    /// Whether commands may be sent ahead of replies (see `Plan::pipelining`).
    pub pipelining: bool,
}

/// What a check learned, filled in as far as it got.
#[derive(Debug, Default)]
pub struct Facts {
    /// Set when TLS came from STARTTLS (implicit TLS is recorded by the caller).
    pub tls: Option<TlsInfo>,
    /// The token used, as the report shows it.
    pub token: Option<crate::token::TokenInfo>,
    /// What the token's claims say about this check, found before connecting.
    pub preflight: Vec<crate::outcome::Finding>,
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

/// The mechanism to use, or the failure that none of the wanted ones is offered. The failure
/// names what the server does offer: when it is the other OAuth mechanism, the fix is a flag,
/// not a server setting.
pub fn pick_mechanism(
    choice: MechanismChoice,
    offered: &[String],
    stage: Stage,
) -> Result<Mechanism, Failure> {
    let has = |m: Mechanism| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name()));
    if let Some(m) = choice.pick(has) {
        return Ok(m);
    }
    // Server words: escaped like every other line it sent.
    let list = if offered.is_empty() {
        "it advertises no SASL mechanism at all".to_string()
    } else {
        let names: Vec<String> = offered
            .iter()
            .map(|o| crate::transport::util::escape(o.as_bytes()))
            .collect();
        format!("it offers: {}", names.join(", "))
    };
    let other = match choice {
        MechanismChoice::Only(wanted) => [Mechanism::XOAuth2, Mechanism::OAuthBearer]
            .into_iter()
            .find(|&m| m != wanted && has(m))
            .map(|m| (wanted, m)),
        MechanismChoice::Auto => None,
    };
    let Some((wanted, other)) = other else {
        return Err(Failure::new(
            stage,
            FailureKind::MechanismNotOffered,
            format!(
                "the server offers no OAuth SASL mechanism (neither XOAUTH2 nor OAUTHBEARER); \
                 {list}"
            ),
        ));
    };
    let (wanted, other) = (wanted.name(), other.name());
    let flag = wanted.to_ascii_lowercase();
    Err(Failure::new(
        stage,
        FailureKind::MechanismNotOffered,
        format!(
            "the server does not offer {wanted} (asked for with --mechanism {flag}); it offers \
             {other}, which --mechanism auto would use ({list})"
        ),
    )
    .with_advice(
        format!(
            "the server offers the OAuth mechanism {other}, not {wanted} as --mechanism {flag} \
             asks"
        ),
        Some(format!(
            "run with --mechanism auto (the default), which uses {other} here, or with \
             --mechanism {}",
            other.to_ascii_lowercase()
        )),
    ))
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
        TransportError::Tls(TlsFailure::UntrustedIssuer { .. }) => K::TlsUntrusted,
        TransportError::Tls(TlsFailure::NameMismatch { .. }) => K::TlsNameMismatch,
        TransportError::Tls(TlsFailure::Expired { .. } | TlsFailure::NotYetValid { .. }) => {
            K::TlsExpired
        }
        TransportError::NotTls { .. } => K::PlaintextPort,
        TransportError::TlsExpected { .. } => K::ImplicitTlsPort,
        TransportError::Tls(_) => K::TlsFailed,
        TransportError::LineTooLong { .. }
        | TransportError::ReplyTooLong { .. }
        | TransportError::SessionTooLarge { .. } => K::ServerTooVerbose,
        TransportError::DataBeforeTls => K::DataBeforeTls,
    };
    let message = e.to_string();
    match e {
        // The server's own words, so the diagnosis can tell which service answered.
        TransportError::NotTls { first_line, .. } => {
            Failure::new(stage, kind, message).with_reply(vec![first_line])
        }
        // What the server answered the hello with, so the diagnosis can name the versions.
        TransportError::Tls(TlsFailure::OldVersion(old)) => {
            Failure::new(stage, kind, message).with_reply(vec![old.evidence()])
        }
        _ => Failure::new(stage, kind, message),
    }
}

/// One line about a TLS session for the step list.
pub fn tls_summary(info: &TlsInfo) -> String {
    let resumed = if info.resumed { " (resumed)" } else { "" };
    match &info.certificate {
        Some(c) => format!(
            "{} {}{resumed}; certificate {} issued by {}, valid until {}",
            info.version, info.cipher_suite, c.subject, c.issuer, c.not_after
        ),
        None => format!("{} {}{resumed}", info.version, info.cipher_suite),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn refusal(choice: MechanismChoice, names: &[&str]) -> Failure {
        pick_mechanism(choice, &offered(names), Stage::Capability).unwrap_err()
    }

    #[test]
    fn a_mechanism_asked_for_but_not_offered_names_the_one_offered() {
        let f = refusal(MechanismChoice::Only(Mechanism::OAuthBearer), &["XOAUTH2"]);
        assert_eq!(f.kind, FailureKind::MechanismNotOffered);
        assert!(
            f.message.contains("does not offer OAUTHBEARER"),
            "{}",
            f.message
        );
        assert!(f.message.contains("it offers XOAUTH2"), "{}", f.message);
        assert!(f.message.contains("--mechanism auto"), "{}", f.message);
        let ex = f.advice.expect("the cause is known here");
        assert!(
            !ex.cause.contains("does not advertise an OAuth"),
            "{}",
            ex.cause
        );
        assert!(ex.cause.contains("XOAUTH2"), "{}", ex.cause);
        assert!(ex.fix.unwrap().contains("--mechanism auto"));

        let f = refusal(
            MechanismChoice::Only(Mechanism::XOAuth2),
            &["PLAIN", "OAUTHBEARER"],
        );
        assert!(
            f.message.contains("does not offer XOAUTH2"),
            "{}",
            f.message
        );
        assert!(f.message.contains("it offers OAUTHBEARER"), "{}", f.message);
        assert!(f.message.contains("PLAIN, OAUTHBEARER"), "{}", f.message);
        assert!(f.advice.unwrap().cause.contains("OAUTHBEARER"));
    }

    #[test]
    fn no_oauth_mechanism_lists_what_is_offered() {
        for choice in [
            MechanismChoice::Auto,
            MechanismChoice::Only(Mechanism::XOAuth2),
            MechanismChoice::Only(Mechanism::OAuthBearer),
        ] {
            let f = refusal(choice, &["PLAIN", "LOGIN"]);
            assert_eq!(f.kind, FailureKind::MechanismNotOffered);
            assert!(
                f.message.contains("it offers: PLAIN, LOGIN"),
                "{}",
                f.message
            );
            assert!(f.advice.is_none(), "diagnose explains this one");
            let f = refusal(choice, &[]);
            assert!(
                f.message.contains("no SASL mechanism at all"),
                "{}",
                f.message
            );
        }
        let f = refusal(MechanismChoice::Auto, &["PLAIN\x1b[2J"]);
        assert!(f.message.contains("PLAIN\\x1b[2J"), "{}", f.message);
    }

    #[test]
    fn an_offered_mechanism_is_picked() {
        let auto = MechanismChoice::Auto;
        let pick = |c, names: &[&str]| pick_mechanism(c, &offered(names), Stage::Auth).unwrap();
        assert_eq!(pick(auto, &["oauthbearer", "xoauth2"]), Mechanism::XOAuth2);
        assert_eq!(pick(auto, &["OAUTHBEARER"]), Mechanism::OAuthBearer);
    }
}
