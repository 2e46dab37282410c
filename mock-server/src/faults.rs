//! Injected Exchange Online failure modes, the `[faults]` table: throttled mail services
//! (always, or for the first sign-ins to each mailbox), a wrong `aud` on delegated tokens,
//! and AADSTS refusals at the token endpoint for one user or app. Every field defaults to
//! "no fault". The replies themselves live with each protocol (`imap::responses`,
//! `pop3::responses`, `smtp::responses`, `idp::errors`).
//!
//! ```toml
//! [faults]
//! throttle = ["imap", "pop", "smtp"]
//! throttle_first = 2          # or: the first 2 sign-ins per mailbox and protocol only
//! throttle_backoff_ms = 50    # the "Suggested Backoff Time" those replies carry
//! delegated_audience = "https://graph.microsoft.com"
//! [[faults.token_error]]
//! user = "alice@contoso.example"   # or client_id = "<app id>"
//! code = 53003
//! ```

use std::collections::HashSet;

use serde::Deserialize;

/// AADSTS codes `[[faults.token_error]]` can inject.
pub const TOKEN_ERROR_CODES: [u32; 7] = [53003, 530035, 50076, 500011, 700082, 70043, 50173];

/// `[faults]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsConfig {
    /// Services that answer a signed-in client with their throttling reply, every time
    /// (backoff 299961 ms, as Exchange was seen to ask).
    pub throttle: Vec<MailService>,
    /// Every service answers the first `throttle_first` successful sign-ins to each mailbox
    /// with its throttling reply (counted per protocol and mailbox), then behaves: a client
    /// that retries after the backoff gets through. 0 = off.
    pub throttle_first: u32,
    /// The "Suggested Backoff Time" of `throttle_first` replies, in milliseconds.
    pub throttle_backoff_ms: u64,
    /// Delegated tokens carry this `aud` whatever scope was requested (e.g.
    /// `https://graph.microsoft.com`: the mail services then refuse them).
    pub delegated_audience: Option<String>,
    /// `[[faults.token_error]]`: token requests the identity platform refuses.
    pub token_error: Vec<TokenErrorConfig>,
}

/// A mail service, as named in `throttle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailService {
    /// IMAP (both listeners).
    Imap,
    /// POP3 (both listeners).
    Pop,
    /// SMTP submission (both listeners).
    Smtp,
}

/// One `[[faults.token_error]]`: exactly one of `user` and `client_id`, and the code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenErrorConfig {
    /// A user mailbox: its delegated grants (any app) are refused.
    #[serde(default)]
    pub user: Option<String>,
    /// An app: every grant it redeems is refused.
    #[serde(default)]
    pub client_id: Option<String>,
    /// One of [`TOKEN_ERROR_CODES`]. 700082 (refresh token expired by inactivity), 70043
    /// (sign-in frequency) and 50173 (grant revoked, e.g. by a password change) refuse only
    /// the refresh-token grant; the others refuse every grant of the user or app.
    pub code: u32,
}

impl Default for FaultsConfig {
    fn default() -> Self {
        FaultsConfig {
            throttle: Vec::new(),
            throttle_first: 0,
            throttle_backoff_ms: DEFAULT_THROTTLE_BACKOFF_MS,
            delegated_audience: None,
            token_error: Vec::new(),
        }
    }
}

/// `throttle_backoff_ms` unless set: short, so a test's retry succeeds quickly.
pub const DEFAULT_THROTTLE_BACKOFF_MS: u64 = 50;

/// The backoff Exchange was seen to suggest (reference C1), for `throttle`.
pub(crate) const EXCHANGE_BACKOFF_MS: u64 = 299_961;

/// Most `throttle_backoff_ms`: one hour (Exchange's own suggestion is five minutes).
const MAX_THROTTLE_BACKOFF_MS: u64 = 3_600_000;

impl FaultsConfig {
    /// Whether `service` is throttled.
    pub(crate) fn throttles(&self, service: MailService) -> bool {
        self.throttle.contains(&service)
    }

    /// The injected code for a grant by `client_id` for `user` (delegated) or none
    /// (app-only). A client id rule wins over a user rule.
    pub(crate) fn token_error(&self, client_id: &str, user: Option<&str>) -> Option<u32> {
        let by_app = self.token_error.iter().find(|t| {
            t.client_id
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(client_id))
        });
        let by_user = || {
            self.token_error.iter().find(|t| match (&t.user, user) {
                (Some(rule), Some(user)) => rule.eq_ignore_ascii_case(user),
                _ => false,
            })
        };
        by_app.or_else(by_user).map(|t| t.code)
    }
}

/// What `[faults]` may name, as the config knows it. The config passes these in (rather
/// than this module reading `Config`) so that faults stay a leaf below the config.
pub(crate) trait Principals {
    /// Whether `address` is a `[[mailbox]]` of kind "user".
    fn is_user(&self, address: &str) -> bool;
    /// Whether `client_id` is an `[[app]]`.
    fn is_app(&self, client_id: &str) -> bool;
}

impl FaultsConfig {
    /// Checks `[faults]` against the rest of the config (users and apps it names exist);
    /// the error is the message the config reports as invalid.
    pub(crate) fn validate(&self, principals: &impl Principals) -> Result<(), String> {
        let invalid = |msg: String| Err(msg);
        let mut seen = HashSet::new();
        for service in &self.throttle {
            if !seen.insert(*service) {
                return invalid(format!(
                    "faults.throttle lists {service:?} twice (use \"imap\", \"pop\", \"smtp\")"
                ));
            }
        }
        if self.throttle_backoff_ms > MAX_THROTTLE_BACKOFF_MS {
            return invalid(format!(
                "faults.throttle_backoff_ms {} is more than {MAX_THROTTLE_BACKOFF_MS} (one hour)",
                self.throttle_backoff_ms
            ));
        }
        if let Some(aud) = &self.delegated_audience {
            let ok = !aud.is_empty() && aud.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return invalid(format!(
                    "faults.delegated_audience {aud:?} must be a non-empty audience like \
                     https://graph.microsoft.com"
                ));
            }
        }
        let mut targets = HashSet::new();
        for rule in &self.token_error {
            let target = match (&rule.user, &rule.client_id) {
                (Some(user), None) => {
                    if !principals.is_user(user) {
                        return invalid(format!(
                            "faults.token_error: user {user:?} is not a [[mailbox]] of kind \"user\""
                        ));
                    }
                    format!("user {}", user.to_ascii_lowercase())
                }
                (None, Some(id)) => {
                    if !principals.is_app(id) {
                        return invalid(format!(
                            "faults.token_error: client_id {id:?} is not an [[app]]"
                        ));
                    }
                    format!("app {}", id.to_ascii_lowercase())
                }
                _ => {
                    return invalid(
                        "faults.token_error: each entry needs exactly one of user or client_id"
                            .to_owned(),
                    );
                }
            };
            if !TOKEN_ERROR_CODES.contains(&rule.code) {
                return invalid(format!(
                    "faults.token_error: code {} is not supported (supported: {})",
                    rule.code,
                    TOKEN_ERROR_CODES.map(|c| c.to_string()).join(", ")
                ));
            }
            if !targets.insert(target.clone()) {
                return invalid(format!("faults.token_error: {target} is listed twice"));
            }
        }
        Ok(())
    }
}
