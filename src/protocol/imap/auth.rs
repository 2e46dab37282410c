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

use std::time::Instant;

use super::command::{Session, Stream};
use super::failure::{client_failure, timeout_failure};
use super::response::Capabilities;
use crate::outcome::{Failure, Recorder, Stage};
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
    let result = tokio::time::timeout(req.timeout, client.authenticate(command, &mut auth)).await;
    facts.challenge = auth.challenge.clone().map(Box::new);
    let result = match result {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((e, _client))) => {
            let mut failure = client_failure(Stage::Auth, e, req.timeout, transcript);
            failure.challenge = auth.challenge.clone().map(Box::new);
            Err(failure)
        }
        Err(_) => Err(timeout_failure(Stage::Auth, "AUTHENTICATE", req.timeout)),
    };
    record(rec, Stage::Auth, t, result, |_| {
        format!("{} ({how}) as {}", mechanism.name(), req.authzid)
    })
}

/// Only the first challenge is kept; a server that keeps challenging is cut off by the
/// AUTHENTICATE timeout, since async-imap base64-encodes every answer and cannot send `*`.
pub struct SaslAuth {
    mechanism: Mechanism,
    /// The raw initial response, when it was not sent on the AUTHENTICATE line.
    pending: Option<Secret<Vec<u8>>>,
    pub challenge: Option<ErrorChallenge>,
}

impl SaslAuth {
    pub fn new(mechanism: Mechanism, pending: Option<Secret<Vec<u8>>>) -> Self {
        SaslAuth {
            mechanism,
            pending,
            challenge: None,
        }
    }
}

impl async_imap::Authenticator for &mut SaslAuth {
    type Response = Vec<u8>;

    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
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
