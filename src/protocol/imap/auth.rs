//! AUTHENTICATE (RFC 3501 §6.2.2, RFC 4959 SASL-IR, RFC 7628) as async-imap drives it: the
//! initial response on the command line or after a bare `+` (servers without SASL-IR), an
//! error challenge answered with the mechanism's acknowledgement and kept for the report.
//! Success hands back the authenticated session.
//!
//! ```text
//! C: A1 AUTHENTICATE XOAUTH2 <ir>     S: A1 OK AUTHENTICATE completed.
//!                                     S: A1 NO AUTHENTICATE failed.          (Exchange)
//!                                     S: + <base64 JSON>  C: ""  S: A1 NO    (Gmail, Dovecot)
//! ```

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::command::{Session, Stream};
use super::failure::{client_failure, timeout_failure};
use super::response::Capabilities;
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::protocol::record::record;
use crate::protocol::{Facts, Request, initial_response};
use crate::sasl::{self, ErrorChallenge, Mechanism};
use crate::secret::Secret;
use crate::transport::tap::Transcript;

/// AUTHENTICATE with `mechanism`; the decoded error challenge, if any, goes into `facts` and
/// into the failure.
pub async fn authenticate<T: Stream>(
    client: async_imap::Client<T>,
    mechanism: Mechanism,
    caps: &Capabilities,
    req: &Request<'_>,
    transcript: &Transcript,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<Session<T>, Failure> {
    let t = Instant::now();
    let (raw, ir) = initial_response(req, mechanism, transcript)?;
    let sasl_ir = caps.has("SASL-IR");
    let (command, mut auth) = if sasl_ir {
        (
            format!("{} {}", mechanism.name(), ir.expose()),
            SaslAuth::new(mechanism, None),
        )
    } else {
        (
            mechanism.name().to_string(),
            SaslAuth::new(mechanism, Some(raw)),
        )
    };
    let how = if sasl_ir { "SASL-IR" } else { "two-step" };
    let looping = auth.looping.clone();
    let result = tokio::select! {
        r = tokio::time::timeout(req.timeout, client.authenticate(command, &mut auth)) => Some(r),
        () = looping.notified() => None,
    };
    facts.challenge = auth.challenge.clone().map(Box::new);
    let result = match result {
        None => Err(Failure::new(
            Stage::Auth,
            FailureKind::ProtocolError,
            format!(
                "the server answered more than {MAX_SASL_ROUNDS} SASL continuations (+) in one \
                 AUTHENTICATE; stopped"
            ),
        )
        .with_reply(transcript.last_reply())),
        Some(Ok(Ok(session))) => Ok(session),
        Some(Ok(Err((e, _client)))) => {
            let mut failure = client_failure(Stage::Auth, e, req.timeout, transcript);
            failure.challenge = auth.challenge.clone().map(Box::new);
            Err(failure)
        }
        Some(Err(_)) => Err(timeout_failure(Stage::Auth, "AUTHENTICATE", req.timeout)),
    };
    record(rec, Stage::Auth, t, result, |_| {
        format!("{} ({how}) as {}", mechanism.name(), req.authzid)
    })
}

/// More continuations than this in one AUTHENTICATE is a looping server (the initial response
/// and one error challenge need two).
const MAX_SASL_ROUNDS: usize = 3;

/// Only the first challenge is kept. async-imap base64-encodes every answer and cannot send
/// `*` to cancel, so a server that keeps challenging is cut off from outside: past
/// [`MAX_SASL_ROUNDS`] the authenticator signals `looping` and the exchange is dropped.
pub struct SaslAuth {
    mechanism: Mechanism,
    /// The raw initial response, when it was not sent on the AUTHENTICATE line.
    pending: Option<Secret<Vec<u8>>>,
    pub challenge: Option<ErrorChallenge>,
    rounds: usize,
    looping: Arc<Notify>,
}

impl SaslAuth {
    pub fn new(mechanism: Mechanism, pending: Option<Secret<Vec<u8>>>) -> Self {
        SaslAuth {
            mechanism,
            pending,
            challenge: None,
            rounds: 0,
            looping: Arc::new(Notify::new()),
        }
    }
}

impl async_imap::Authenticator for &mut SaslAuth {
    type Response = Vec<u8>;

    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        self.rounds += 1;
        if self.rounds > MAX_SASL_ROUNDS {
            // `notify_one` keeps the permit, so the waiting select sees it on its next poll.
            self.looping.notify_one();
        }
        if let Some(ir) = self.pending.take() {
            return ir.expose().clone();
        }
        if self.challenge.is_none() {
            self.challenge = Some(sasl::error_challenge_from_bytes(challenge));
        }
        self.mechanism.error_acknowledgement().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::Authenticator as _;

    #[test]
    fn sends_pending_response_then_acknowledges() {
        let mut auth = SaslAuth::new(Mechanism::OAuthBearer, Some(Secret::new(b"ir".to_vec())));
        let mut a = &mut auth;
        assert_eq!(a.process(b""), b"ir");
        assert_eq!(a.process(br#"{"status":"invalid_token"}"#), b"\x01");
        assert_eq!(auth.challenge.unwrap().status(), Some("invalid_token"));
    }

    #[test]
    fn xoauth2_acknowledges_with_an_empty_response() {
        let mut auth = SaslAuth::new(Mechanism::XOAuth2, None);
        let mut a = &mut auth;
        assert_eq!(a.process(br#"{"status":"400"}"#), b"");
        assert_eq!(auth.challenge.unwrap().status(), Some("400"));
    }
}
