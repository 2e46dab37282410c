//! What clients sent to the token and device-code endpoints, for tests to assert on (the
//! pimalaya pattern): grant type, client id, scope, how the client authenticated, whether
//! a PKCE verifier came along, and the outcome. Never a secret, code or token value.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Oldest records are dropped beyond this.
const MAX_RECORDS: usize = 10_000;

/// How the client authenticated a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No credential (public client).
    None,
    /// `client_secret` in the body.
    Secret,
    /// HTTP Basic (`Authorization: Basic base64(id:secret)`).
    Basic,
    /// `client_assertion` (jwt-bearer).
    Assertion,
}

/// One request to `/{tenant}/oauth2/v2.0/token` or `/{tenant}/oauth2/v2.0/devicecode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequestRecord {
    /// Request path, e.g. `/contoso.example/oauth2/v2.0/token`.
    pub path: String,
    /// `grant_type` as sent (empty when absent, as for the device-code endpoint).
    pub grant_type: String,
    /// `client_id` from the body, else the Basic user name, else the client assertion's `iss`.
    pub client_id: Option<String>,
    /// `scope` as sent.
    pub scope: Option<String>,
    /// How the client authenticated.
    pub client_auth: ClientAuth,
    /// A `code_verifier` was sent.
    pub had_code_verifier: bool,
    /// HTTP status of the answer.
    pub status: u16,
    /// The AADSTS number of an error answer.
    pub error_code: Option<u32>,
}

/// The shared, bounded list of records.
#[derive(Debug, Clone, Default)]
pub(crate) struct Records(Arc<Mutex<VecDeque<TokenRequestRecord>>>);

impl Records {
    pub fn push(&self, record: TokenRequestRecord) {
        let mut records = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() >= MAX_RECORDS {
            records.pop_front();
        }
        records.push_back(record);
    }

    pub fn snapshot(&self) -> Vec<TokenRequestRecord> {
        let records = self.0.lock().unwrap_or_else(|p| p.into_inner());
        records.iter().cloned().collect()
    }
}
