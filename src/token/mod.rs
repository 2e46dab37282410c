//! Access tokens: given by the user, or obtained from an identity provider by a flow, cached in
//! the OS keyring, and decoded for the report. Knows no mail protocol.

pub mod assertion;
pub mod cache;
pub mod claims;
pub mod discovery;
pub mod flow;
pub mod http;
pub mod info;
pub mod input;
pub mod provider;
pub mod redirect;
pub mod refused;
pub mod source;

use std::sync::Arc;

use serde::Serialize;

pub use info::TokenInfo;
pub use input::{ClientCredential, Flow, OAuthPlan, SecretSource, TokenPlan};
pub use source::{TokenError, TokenSource};

use crate::outcome::{Failure, FailureKind, Stage};
use crate::secret::Secret;

/// A cached token is reused only while it has this long left: a check takes seconds, but a
/// token that expires mid-run makes a confusing failure.
const FRESH_MARGIN_SECS: i64 = 300;

/// Where the token in a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Env,
    File,
    Stdin,
    Caller,
    Cache,
    Refresh,
    Interactive,
    DeviceCode,
    ClientCredentials,
}

pub struct Token {
    pub access: Secret<String>,
    pub origin: Origin,
    /// Seconds since the epoch, when known from the token response or the cache.
    pub expires_at: Option<i64>,
    pub refresh: Option<Secret<String>>,
    /// Things worth telling the user that did not stop the run (cache unavailable, ...).
    pub warnings: Vec<String>,
}

/// What obtaining a token needs besides the plan.
pub struct Context<'a> {
    pub http: &'a reqwest::Client,
    /// Show progress (device-code countdown) on stderr.
    pub progress: bool,
    /// The cache to use; `None` opens the OS keyring when the plan wants caching.
    pub store: Option<Arc<dyn cache::TokenStore>>,
    /// Called with the user code of a device-code flow, for callers that show or approve it
    /// themselves (the demo approves it at the mock). The code is printed either way.
    pub on_device_code: Option<&'a DeviceCodeHook<'a>>,
    /// How long to wait for a token on standard input (the plan's `--timeout`).
    pub input_wait: std::time::Duration,
}

pub type DeviceCodeHook<'a> = dyn Fn(&str) + Send + Sync + 'a;

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A token with less than this left is warned about: a check, and more so an audit, may
/// outlive it.
pub const SHORT_LIFETIME_SECS: i64 = 300;

/// Gets the token the plan describes.
pub async fn obtain(plan: &TokenPlan, ctx: &Context<'_>) -> Result<Token, Failure> {
    let mut token = obtain_any(plan, ctx).await?;
    // A given token's lifetime is its `exp` claim (an opaque one has none to read).
    let expires_at = token.expires_at.or_else(|| {
        claims::decode(token.access.expose())
            .ok()
            .and_then(|c| c.exp)
    });
    if let Some(warning) = expires_at.and_then(|exp| short_lifetime(exp, now())) {
        token.warnings.push(warning);
    }
    Ok(token)
}

/// The warning for a token with little time left; an expired one is the pre-flight's to
/// report (it blocks), not a warning's.
fn short_lifetime(expires_at: i64, now: i64) -> Option<String> {
    let left = expires_at - now;
    (left > 0 && left < SHORT_LIFETIME_SECS).then(|| {
        format!(
            "the access token expires in {left} s (at {}): a longer run may fail part-way; \
             get a fresh one first (with --client-id xoauth obtains it, --refresh forces a new \
             one)",
            crate::transport::util::rfc3339(expires_at)
        )
    })
}

async fn obtain_any(plan: &TokenPlan, ctx: &Context<'_>) -> Result<Token, Failure> {
    match plan {
        TokenPlan::Given(source) => {
            let origin = match source {
                TokenSource::Env(_) => Origin::Env,
                TokenSource::File(_) => Origin::File,
                TokenSource::Stdin => Origin::Stdin,
                TokenSource::Value(_) => Origin::Caller,
            };
            let access = source::load(source, ctx.input_wait).await.map_err(|e| {
                Failure::new(Stage::Token, FailureKind::TokenUnusable, e.to_string())
                    .with_advice(e.cause(), Some(e.fix()))
            })?;
            Ok(Token {
                access,
                origin,
                expires_at: None,
                refresh: None,
                warnings: Vec::new(),
            })
        }
        TokenPlan::OAuth(oauth) => obtain_oauth(oauth, ctx).await,
    }
}

/// What a token was obtained for, including which credential obtained it (its
/// [`flow::Credential::fingerprint`], never the secret), so that a rotated or wrong secret is
/// never answered from the cache. `None` when the token must not be cached: a delegated flow
/// without an account to sign in as could come back as anyone.
pub fn cache_key(p: &OAuthPlan, credential: Option<&flow::Credential>) -> Option<cache::CacheKey> {
    let user = match (p.flow, &p.login_hint) {
        (Flow::ClientCredentials, _) => cache::APP_ONLY_USER.to_string(),
        (_, Some(user)) if !user.is_empty() => user.clone(),
        (_, _) => return None,
    };
    Some(cache::CacheKey {
        provider: p.authority.name.to_string(),
        tenant: p.tenant.clone(),
        client_id: p.client_id.clone(),
        flow: p.flow.name().to_string(),
        credential: credential.map_or_else(
            || cache::PUBLIC_CLIENT.to_string(),
            flow::Credential::fingerprint,
        ),
        user,
        scopes: p.scopes.clone(),
    })
}

/// When a freshly obtained token stops being worth caching: its `expires_in`, else its `exp`
/// claim, else (an opaque token with no lifetime) 50 minutes, under the hour most providers
/// give.
fn cache_until(obtained: &flow::Obtained) -> i64 {
    obtained
        .expires_at
        .or_else(|| {
            claims::decode(obtained.access.expose())
                .ok()
                .and_then(|c| c.exp)
        })
        .unwrap_or_else(|| now() + 3000)
}

/// Opens the OS keyring on tokio's blocking pool; `Err` says why none works
/// ([`cache::CacheError::Off`] when the user turned the cache off).
pub async fn open_store() -> Result<Arc<dyn cache::TokenStore>, cache::CacheError> {
    match tokio::task::spawn_blocking(cache::open_default).await {
        Ok(result) => result,
        Err(e) => Err(cache::CacheError::Backend(format!(
            "the keyring probe failed: {e}"
        ))),
    }
}

async fn obtain_oauth(p: &OAuthPlan, ctx: &Context<'_>) -> Result<Token, Failure> {
    let mut warnings = Vec::new();
    let store = match (&ctx.store, p.cache) {
        (_, false) => None,
        (Some(store), true) => Some(store.clone()),
        (None, true) => match open_store().await {
            Ok(store) => Some(store),
            // Turned off on purpose: nothing to warn about.
            Err(cache::CacheError::Off) => None,
            Err(e) => {
                warnings.push(format!(
                    "token cache unavailable, continuing without it: {e}"
                ));
                None
            }
        },
    };
    let credential = flow::Credential::load(p)?;
    // Checked before the cache too: a cached token hides an expiring certificate until the
    // day every app using it stops.
    if let Some(flow::Credential::Certificate(cert)) = &credential {
        match cert.expiry(now()) {
            Ok(Some(warning)) => warnings.push(warning),
            Ok(None) => {}
            Err(e) => return Err(flow::certificate_failure(&e)),
        }
    }
    let key = cache_key(p, credential.as_ref());
    let store = store.zip(key);
    let mut stale_refresh = None;
    // --refresh: no read at all (not even the refresh token), but the new token is written.
    if let Some((store, key)) = store.as_ref().filter(|_| !p.refresh) {
        match cache::get(store.clone(), key.clone()).await {
            Ok(Some(cached)) if cached.is_fresh(now(), FRESH_MARGIN_SECS) => {
                return Ok(Token {
                    access: cached.access_token,
                    origin: Origin::Cache,
                    expires_at: Some(cached.expires_at),
                    refresh: cached.refresh_token,
                    warnings,
                });
            }
            Ok(Some(cached)) => stale_refresh = cached.refresh_token,
            Ok(None) => {}
            Err(e) => warnings.push(format!("ignoring the cached token: {e}")),
        }
    }
    // Only now, with no usable cached token, are endpoints needed.
    let resolved = discovery::resolve(p, ctx.http).await?;
    let p = &resolved;
    let mut obtained = None;
    // Why a refused refresh token's entry was dropped, for the failure if signing in fails too.
    let mut dropped = None;
    if let Some(refresh) = stale_refresh {
        match flow::refresh(p, ctx.http, &refresh).await {
            Ok(o) => obtained = Some((o, Origin::Refresh)),
            Err(f) => match refused::why(p, &f) {
                Some(why) => {
                    let mut note = format!("{why}; the cached sign-in was dropped");
                    if let Some((store, key)) = store.as_ref()
                        && let Err(e) = cache::delete(store.clone(), key.clone()).await
                    {
                        note = format!("{why}; dropping the cached sign-in failed: {e}");
                    }
                    warnings.push(format!(
                        "{note}. Signing in again with the {} flow (to sign in ahead of a                          run: {})",
                        p.flow.name(),
                        refused::sign_in_again(p)
                    ));
                    dropped = Some(note);
                }
                None => warnings.push(format!(
                    "the cached refresh token did not work ({}); signing in again",
                    f.message
                )),
            },
        }
    }
    let (obtained, origin) = match obtained {
        Some(o) => o,
        None => (
            flow::run(
                p,
                ctx.http,
                credential.as_ref(),
                ctx.progress,
                ctx.on_device_code,
            )
            .await
            .map_err(|mut f| {
                if let Some(note) = &dropped {
                    f.message = format!(
                        "{} (before that, {note}; sign in again with: {})",
                        f.message,
                        refused::sign_in_again(p)
                    );
                }
                f
            })?,
            flow::origin(p.flow),
        ),
    };
    if let Some((store, key)) = store {
        let entry = cache::CachedToken {
            access_token: obtained.access.clone(),
            expires_at: cache_until(&obtained),
            refresh_token: obtained.refresh.clone(),
        };
        // A token that is already past its lifetime (a zero or negative `expires_in`) is
        // reported as it is, but never kept for the next run.
        if entry.is_fresh(now(), 0)
            && let Err(e) = cache::put(store, key, entry).await
        {
            warnings.push(format!("could not cache the token: {e}"));
        }
    }
    Ok(Token {
        access: obtained.access,
        origin,
        expires_at: obtained.expires_at,
        refresh: obtained.refresh,
        warnings,
    })
}

#[cfg(test)]
mod lifetime_tests {
    use super::*;

    #[test]
    fn a_short_lifetime_is_warned_but_not_a_long_or_a_past_one() {
        let now = 1_795_456_629;
        let w = short_lifetime(now + 90, now).unwrap();
        assert!(w.contains("expires in 90 s"), "{w}");
        assert!(w.contains("2026-11-23T17:58:39Z"), "{w}");
        assert_eq!(short_lifetime(now + SHORT_LIFETIME_SECS, now), None);
        assert_eq!(short_lifetime(now - 1, now), None);
    }
}
