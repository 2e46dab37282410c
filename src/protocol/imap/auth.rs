//! The SASL exchange as async-imap drives it: answer a bare `+` with the initial response
//! (servers without SASL-IR), and answer an error challenge with the mechanism's
//! acknowledgement while keeping the decoded challenge for the report.

use crate::sasl::{self, ErrorChallenge, Mechanism};
use crate::secret::Secret;

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
