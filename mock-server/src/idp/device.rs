//! The device authorization grant (RFC 8628) as Entra runs it: the device-code endpoint,
//! the pending grants, the test hooks that stand in for the user at /devicelogin, and what
//! each poll of the token endpoint gets. I/O-free; times are Unix milliseconds.
//!
//! ```text
//! POST /{tenant}/oauth2/v2.0/devicecode  client_id, scope
//!   → {"user_code":"ABCD2345","device_code":…,"verification_uri":…,"expires_in":900,"interval":5,"message":…}
//! POST /{tenant}/oauth2/v2.0/token  grant_type=urn:ietf:params:oauth:grant-type:device_code
//!   → authorization_pending … (user approves) … tokens
//!   → slow_down (polled faster than interval) | authorization_declined | expired_token
//!   | bad_verification_code
//! ```

use std::collections::HashMap;

use serde_json::Value;

use super::Idp;
use super::authorize::scope_error;
use super::errors::{self, AadError};
use super::params::Params;
use super::scopes::Requested;
use crate::ids;

/// Most grants held at once; expired ones go first.
const MAX_GRANTS: usize = 10_000;
/// How long an expired grant is still remembered (answers `expired_token`, not
/// `bad_verification_code`).
const KEEP_EXPIRED_MS: i64 = 60 * 60 * 1000;
/// User codes avoid look-alike characters (no I, O, 0, 1).
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Pending,
    Approved(String),
    Declined,
}

/// One device authorization.
#[derive(Debug, Clone)]
pub(crate) struct DeviceGrant {
    pub client_id: String,
    /// `scope` as requested.
    pub scope: String,
    pub user_code: String,
    expires_ms: i64,
    status: Status,
    last_poll_ms: Option<i64>,
}

/// What a poll of the token endpoint gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll {
    /// The user approved: issue tokens for `user` (the grant is gone now).
    Approved {
        user: String,
        scope: String,
    },
    Refused(AadError),
}

/// Every pending, approved-not-yet-redeemed, declined or recently expired grant, by
/// device code.
#[derive(Debug, Default)]
pub(crate) struct Devices {
    grants: HashMap<String, DeviceGrant>,
}

impl Devices {
    /// Starts a grant; returns `(device_code, user_code)`.
    pub fn start(
        &mut self,
        client_id: &str,
        scope: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> (String, String) {
        self.grants
            .retain(|_, g| g.expires_ms + KEEP_EXPIRED_MS > now_ms);
        if self.grants.len() >= MAX_GRANTS
            && let Some(oldest) = self
                .grants
                .iter()
                .min_by_key(|(_, g)| g.expires_ms)
                .map(|(k, _)| k.clone())
        {
            self.grants.remove(&oldest);
        }
        let mut user_code = new_user_code();
        while self.grants.values().any(|g| g.user_code == user_code) {
            user_code = new_user_code();
        }
        let device_code = ids::opaque("DAQABIQEAAAB");
        self.grants.insert(
            device_code.clone(),
            DeviceGrant {
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                user_code: user_code.clone(),
                expires_ms,
                status: Status::Pending,
                last_poll_ms: None,
            },
        );
        (device_code, user_code)
    }

    fn by_user_code(&mut self, user_code: &str, now_ms: i64) -> Option<&mut DeviceGrant> {
        let wanted: String = user_code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        self.grants
            .values_mut()
            .find(|g| g.user_code == wanted && g.expires_ms > now_ms && g.status == Status::Pending)
    }

    /// The user entered `user_code` and signed in as `user`; false if no pending, unexpired
    /// grant has that code.
    pub fn approve(&mut self, user_code: &str, user: &str, now_ms: i64) -> bool {
        match self.by_user_code(user_code, now_ms) {
            Some(g) => {
                g.status = Status::Approved(user.to_owned());
                true
            }
            None => false,
        }
    }

    /// The user entered `user_code` and declined.
    pub fn decline(&mut self, user_code: &str, now_ms: i64) -> bool {
        match self.by_user_code(user_code, now_ms) {
            Some(g) => {
                g.status = Status::Declined;
                true
            }
            None => false,
        }
    }

    /// One poll by `client_id`. `min_interval_ms` = the interval when `slow_down` is
    /// enforced (the first poll is never too early).
    pub fn poll(
        &mut self,
        device_code: &str,
        client_id: &str,
        now_ms: i64,
        min_interval_ms: Option<i64>,
    ) -> Poll {
        let Some(grant) = self
            .grants
            .get_mut(device_code)
            .filter(|g| g.client_id.eq_ignore_ascii_case(client_id))
        else {
            return Poll::Refused(errors::bad_device_code());
        };
        if grant.expires_ms <= now_ms {
            return Poll::Refused(errors::device_code_expired());
        }
        let previous = grant.last_poll_ms.replace(now_ms);
        if let (Some(min), Some(previous)) = (min_interval_ms, previous)
            && now_ms - previous < min
        {
            let secs = u64::try_from(min / 1000).unwrap_or(0);
            return Poll::Refused(errors::slow_down(secs));
        }
        match grant.status.clone() {
            Status::Pending => Poll::Refused(errors::authorization_pending()),
            Status::Declined => Poll::Refused(errors::authorization_declined()),
            Status::Approved(user) => {
                let scope = grant.scope.clone();
                self.grants.remove(device_code);
                Poll::Approved { user, scope }
            }
        }
    }
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`: starts a grant for a known app and valid
/// scopes (consent is checked when the approved grant is redeemed).
pub(crate) fn device_authorization(
    idp: &Idp,
    tenant: &str,
    params: &Params,
    now_ms: i64,
) -> Result<String, AadError> {
    if idp.tenant(tenant).is_none() {
        return Err(errors::tenant_not_found(tenant));
    }
    let client_id = params
        .non_empty("client_id")
        .ok_or_else(|| errors::missing_parameter("client_id"))?;
    let app = idp
        .ctx
        .directory
        .app(client_id)
        .ok_or_else(|| errors::app_not_found(client_id, &idp.directory_name(tenant)))?;
    let scope = params.get("scope").unwrap_or_default();
    Requested::parse(scope).map_err(|e| scope_error(e, scope, &idp.directory_name(tenant)))?;
    let config = &idp.ctx.idp;
    let expires_in = config.device_code_expires_secs;
    let expires_ms =
        now_ms.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX / 2) * 1000);
    let (device_code, user_code) = idp.start_device_code(&app.client_id, scope, expires_ms, now_ms);
    let verification_uri = format!("{}/devicelogin", idp.base_url);
    let message = format!(
        "To sign in, use a web browser to open the page {verification_uri} and enter the code \
         {user_code} to authenticate."
    );
    let s = |text: &str| Value::from(text).to_string();
    let complete = if config.device_code_verification_uri_complete {
        format!(
            ",\"verification_uri_complete\":{}",
            s(&format!("{verification_uri}?user_code={user_code}"))
        )
    } else {
        String::new()
    };
    Ok(format!(
        "{{\"user_code\":{},\"device_code\":{},\"verification_uri\":{}{complete},\
         \"expires_in\":{expires_in},\"interval\":{},\"message\":{}}}",
        s(&user_code),
        s(&device_code),
        s(&verification_uri),
        config.device_code_interval_secs,
        s(&message)
    ))
}

fn new_user_code() -> String {
    let bytes: [u8; 8] = ids::random_bytes();
    bytes
        .iter()
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "11111111-2222-3333-4444-555555555555";

    fn codes(poll: &Poll) -> Option<u32> {
        match poll {
            Poll::Refused(e) => Some(e.code),
            Poll::Approved { .. } => None,
        }
    }

    fn error(poll: &Poll) -> &str {
        match poll {
            Poll::Refused(e) => e.error,
            Poll::Approved { .. } => "approved",
        }
    }

    #[test]
    fn pending_then_approved_once() {
        let mut d = Devices::default();
        let (device, user) = d.start(APP, "openid", 900_000, 0);
        assert_eq!(user.len(), 8);
        assert!(user.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        assert_eq!(
            error(&d.poll(&device, APP, 0, Some(5000))),
            "authorization_pending"
        );
        assert_eq!(codes(&d.poll(&device, APP, 1000, Some(5000))), Some(70016));
        assert_eq!(error(&d.poll(&device, APP, 2000, Some(5000))), "slow_down");
        assert!(d.approve(&user.to_lowercase(), "alice@contoso.example", 3000));
        assert!(
            !d.approve(&user, "bob@contoso.example", 3000),
            "already approved"
        );
        assert_eq!(
            d.poll(&device, APP, 8000, Some(5000)),
            Poll::Approved {
                user: "alice@contoso.example".to_owned(),
                scope: "openid".to_owned()
            }
        );
        assert_eq!(
            error(&d.poll(&device, APP, 20_000, Some(5000))),
            "bad_verification_code"
        );
    }

    #[test]
    fn declined_expired_unknown() {
        let mut d = Devices::default();
        let (device, user) = d.start(APP, "openid", 10_000, 0);
        assert_eq!(
            error(&d.poll(&device, "other", 0, None)),
            "bad_verification_code"
        );
        assert!(d.decline(&user, 1));
        assert_eq!(
            error(&d.poll(&device, APP, 2, None)),
            "authorization_declined"
        );
        assert_eq!(
            error(&d.poll(&device, APP, 3, None)),
            "authorization_declined"
        );
        assert_eq!(error(&d.poll(&device, APP, 10_000, None)), "expired_token");
        let (device, user) = d.start(APP, "openid", 10_000, 0);
        assert!(
            !d.approve(&user, "alice@contoso.example", 10_000),
            "expired"
        );
        assert_eq!(codes(&d.poll(&device, APP, 10_001, None)), Some(70019));
        assert_eq!(
            error(&d.poll("nope", APP, 0, None)),
            "bad_verification_code"
        );
        // Old grants are forgotten after a while.
        d.start(APP, "openid", 10_000_000, 10_000 + KEEP_EXPIRED_MS);
        assert_eq!(
            error(&d.poll(&device, APP, 10_000 + KEEP_EXPIRED_MS, None)),
            "bad_verification_code"
        );
    }
}
