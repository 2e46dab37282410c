//! A stand-in for the Microsoft identity platform (Entra ID, v2 endpoints) for one tenant:
//! authorization code + PKCE with auto-consent, device code, client credentials (secret or
//! certificate assertion) and refresh tokens, issuing Exchange Online access tokens that the
//! mock's mail services then verify. Served over HTTPS with the mail listeners' CA.
//!
//! ```text
//! GET  /{tenant}/oauth2/v2.0/authorize   authorize.rs  → 302 {redirect_uri}?code=…&state=…
//! POST /{tenant}/oauth2/v2.0/token       grants.rs     → token JSON | AADSTS error JSON
//!        client_auth.rs (secret, Basic, assertion.rs), pkce.rs, device.rs, mint.rs,
//!        faults.rs (injected AADSTS refusals)
//! POST /{tenant}/oauth2/v2.0/devicecode  device.rs     → user_code, device_code, …
//! GET  /{tenant}/v2.0/.well-known/openid-configuration   discovery.rs (OIDC discovery)
//! GET  /devicelogin, POST /mock/devicecode/{approve,decline}   test hooks
//! http.rs: axum routes, one hyper HTTP/1.1 connection per TLS stream, bounded bodies
//! ```
//! `{tenant}` is the tenant id, one of its names, or (delegated grants only) `common` /
//! `organizations`. Every token-endpoint request is recorded (`records.rs`) without secrets.
//! Grant state (codes, device grants, refresh tokens) lives in memory, bounded.

mod assertion;
mod authorize;
mod client_auth;
mod device;
mod discovery;
pub(crate) mod errors;
mod faults;
mod grants;
mod graph;
pub(crate) mod http;
pub(crate) mod mint;
pub(crate) mod params;
mod pkce;
pub(crate) mod records;
pub(crate) mod scopes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use self::authorize::AuthCode;
use self::device::{Devices, Poll};
use self::errors::AadError;
use self::grants::RefreshGrant;
use self::mint::{Subject, TokenSpec};
use self::records::Records;
use self::scopes::Requested;
use crate::context::Context;
use crate::keys;

/// Most authorization codes / refresh tokens held at once.
const MAX_STORED: usize = 10_000;

/// How a `{tenant}` path segment resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TenantRef {
    /// The tenant id or one of its names.
    Own,
    /// `common` or `organizations` (delegated grants only).
    Multi,
}

/// The identity platform's state, shared by every HTTPS connection and the `MockServer`.
#[derive(Debug)]
pub(crate) struct Idp {
    pub ctx: Arc<Context>,
    /// `https://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub records: Records,
    codes: Mutex<HashMap<String, AuthCode>>,
    devices: Mutex<Devices>,
    refresh: Mutex<HashMap<String, RefreshGrant>>,
    /// Graph has answered its one 429 (the first request for a second page).
    graph_throttled: std::sync::atomic::AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Idp {
    pub fn new(ctx: Arc<Context>, base_url: String) -> Idp {
        Idp {
            ctx,
            base_url,
            records: Records::default(),
            codes: Mutex::default(),
            devices: Mutex::default(),
            refresh: Mutex::default(),
            graph_throttled: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Resolves a `{tenant}` path segment.
    pub fn tenant(&self, segment: &str) -> Option<TenantRef> {
        let idp = &self.ctx.idp;
        if segment.eq_ignore_ascii_case(&idp.tenant_id)
            || idp
                .tenant_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(segment))
        {
            Some(TenantRef::Own)
        } else if segment.eq_ignore_ascii_case("common")
            || segment.eq_ignore_ascii_case("organizations")
        {
            Some(TenantRef::Multi)
        } else {
            None
        }
    }

    /// How error texts name the directory: the segment as requested (Entra shows its
    /// display name or id).
    pub fn directory_name(&self, segment: &str) -> String {
        match self.tenant(segment) {
            Some(TenantRef::Own) => segment.to_owned(),
            _ => self
                .ctx
                .idp
                .tenant_names
                .first()
                .cloned()
                .unwrap_or_else(|| self.ctx.idp.tenant_id.clone()),
        }
    }

    /// `aud` values a client assertion sent to `/{segment}/oauth2/v2.0/token` may carry:
    /// that URL, and the same URL with the tenant id or any tenant name.
    pub fn assertion_audiences(&self, segment: &str) -> Vec<String> {
        let url = |t: &str| format!("{}/{t}/oauth2/v2.0/token", self.base_url);
        let idp = &self.ctx.idp;
        let mut audiences = vec![url(segment), url(&idp.tenant_id)];
        audiences.extend(idp.tenant_names.iter().map(|n| url(n)));
        audiences
    }

    /// `expires_in` of issued tokens.
    pub fn lifetime(&self) -> i64 {
        self.ctx.idp.token_lifetime_secs
    }

    /// Signs an access token as the token endpoint issues it.
    fn sign_access(
        &self,
        subject: &Subject,
        requested: &Requested,
        appidacr: &'static str,
        now_ms: i64,
    ) -> Result<String, AadError> {
        let key = keys::idp_signing_key().map_err(|e| errors::server_error(&e.to_string()))?;
        let mut issue = grants::issue(subject, requested, appidacr, self.lifetime(), now_ms / 1000);
        issue.delegated_audience = self.ctx.faults.delegated_audience.as_deref();
        mint::access_token(&self.ctx.directory, &self.ctx.idp.tenant_id, key, &issue)
            .map_err(|e| errors::server_error(&e.to_string()))
    }

    /// [`crate::MockServer::issue_token`]: empty only if the embedded key is unusable (then
    /// `MockServer::start` has already failed).
    pub fn issue_token(&self, spec: &TokenSpec) -> String {
        let requested = Requested::parse(&spec.scopes.join(" ")).unwrap_or_else(|_| Requested {
            scopes: spec.scopes.clone(),
            audience: scopes::GRAPH,
            permissions: Vec::new(),
            default: false,
            offline_access: false,
            openid: false,
        });
        let appidacr = match &spec.subject {
            Subject::User { client_id, .. } => match self.ctx.directory.app(client_id) {
                Some(app) if !app.public_client => "1",
                _ => "0",
            },
            Subject::App { .. } => "1",
        };
        let Ok(key) = keys::idp_signing_key() else {
            return String::new();
        };
        let now = crate::clock::now_secs();
        let mut issue = grants::issue(&spec.subject, &requested, appidacr, spec.lifetime_secs, now);
        issue.delegated_audience = self.ctx.faults.delegated_audience.as_deref();
        mint::access_token(&self.ctx.directory, &self.ctx.idp.tenant_id, key, &issue)
            .unwrap_or_default()
    }

    fn store_code(&self, code: String, grant: AuthCode, now_ms: i64) {
        let mut codes = lock(&self.codes);
        codes.retain(|_, c| c.expires_ms > now_ms);
        if codes.len() >= MAX_STORED {
            codes.clear(); // a runaway client; codes are short-lived anyway
        }
        codes.insert(code, grant);
    }

    /// The code's grant as it was, marking it redeemed.
    fn redeem_code(&self, code: &str) -> Option<AuthCode> {
        let mut codes = lock(&self.codes);
        let grant = codes.get_mut(code)?;
        let before = grant.clone();
        grant.redeemed = true;
        Some(before)
    }

    /// Stores a refresh token's grant; returns the new token.
    fn store_refresh(&self, grant: RefreshGrant) -> String {
        let token = crate::ids::opaque("1.AXoAmock.");
        let mut refresh = lock(&self.refresh);
        if refresh.len() >= MAX_STORED
            && let Some(k) = refresh.keys().next().cloned()
        {
            refresh.remove(&k);
        }
        refresh.insert(token.clone(), grant);
        token
    }

    fn refresh_grant(&self, token: &str) -> Option<RefreshGrant> {
        lock(&self.refresh).get(token).cloned()
    }

    fn start_device_code(
        &self,
        client_id: &str,
        scope: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> (String, String) {
        lock(&self.devices).start(client_id, scope, expires_ms, now_ms)
    }

    fn poll_device_code(&self, device_code: &str, client_id: &str, now_ms: i64) -> Poll {
        let config = &self.ctx.idp;
        let interval = i64::try_from(config.device_code_interval_secs).unwrap_or(5) * 1000;
        let min = config.enforce_slow_down.then_some(interval);
        lock(&self.devices).poll(device_code, client_id, now_ms, min)
    }

    /// The user approves `user_code` as `user` (a user mailbox).
    pub fn approve_device_code(&self, user_code: &str, user: &str) -> bool {
        let Some(user) = self.ctx.directory.user(user) else {
            return false;
        };
        lock(&self.devices).approve(user_code, &user.address, crate::clock::now_ms())
    }

    /// The user declines `user_code`.
    pub fn decline_device_code(&self, user_code: &str) -> bool {
        lock(&self.devices).decline(user_code, crate::clock::now_ms())
    }
}

/// Tokens for unit tests elsewhere in the crate, minted for the demo tenant.
#[cfg(test)]
pub(crate) fn test_token(spec: &TokenSpec) -> String {
    let config = crate::config::Config::demo();
    let ctx = Context::new(&config, crate::command_log::CommandLog::default());
    Idp::new(Arc::new(ctx), "https://127.0.0.1:1".to_owned()).issue_token(spec)
}
