//! The cache record: what a cached token was obtained for ([`CacheKey`] and its account
//! string), the token with its expiry and freshness, and the JSON in one keyring entry,
//! `{"v":2,"access_token":…,"expires_at":…,"refresh_token":…,"key":{…}}`, read and written
//! without ever quoting a token in an error. Entries of format 1 (keys without the credential)
//! are never looked up again, since their account strings differ.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

use super::CacheError;
use crate::secret::Secret;

/// The `user` of an app-only (client-credentials) token, which has no user. Not an address, so
/// it cannot clash with one.
pub const APP_ONLY_USER: &str = "(app-only)";

/// The `credential` of a public client's token (device code, interactive).
pub const PUBLIC_CLIENT: &str = "public-client";
/// Version of the JSON stored in each entry (2: the key names the credential).
pub(super) const FORMAT_VERSION: u32 = 2;

/// What a cached token was obtained for. Two runs share a token only if every field matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CacheKey {
    pub provider: String,
    pub tenant: String,
    pub client_id: String,
    pub flow: String,
    /// Which credential obtained the token: a digest of the client secret, the certificate's
    /// thumbprint, or [`PUBLIC_CLIENT`]. Never the secret itself.
    pub credential: String,
    /// The account signed in as, or [`APP_ONLY_USER`].
    pub user: String,
    pub scopes: Vec<String>,
}

impl CacheKey {
    /// Stable, human-readable account string, scopes sorted (and de-duplicated):
    /// `"provider|tenant|client_id|flow|credential|user|scope1 scope2"`.
    pub fn account(&self) -> String {
        let mut scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        scopes.sort_unstable();
        scopes.dedup();
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.provider,
            self.tenant,
            self.client_id,
            self.flow,
            self.credential,
            self.user,
            scopes.join(" ")
        )
    }
}

/// A token as the cache keeps it. `Debug` shows only `<redacted>` for the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedToken {
    pub access_token: Secret<String>,
    /// Unix seconds.
    pub expires_at: i64,
    pub refresh_token: Option<Secret<String>>,
}

impl CachedToken {
    /// Usable if it expires more than `margin_secs` after `now`.
    pub fn is_fresh(&self, now: i64, margin_secs: i64) -> bool {
        self.expires_at.saturating_sub(now) > margin_secs
    }
}

/// One row of `list()`: what is cached, never the tokens themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheListing {
    pub key: CacheKey,
    pub expires_at: i64,
    pub has_refresh_token: bool,
}

/// The JSON in one entry. Deliberately no `Debug`: it holds the tokens in clear.
#[derive(Serialize, Deserialize)]
struct Record {
    v: u32,
    access_token: String,
    expires_at: i64,
    refresh_token: Option<String>,
    key: CacheKey,
}

/// The tokens' copies in a record are wiped with it (hence no moving out of one).
impl Drop for Record {
    fn drop(&mut self) {
        self.access_token.zeroize();
        self.refresh_token.zeroize();
    }
}

/// The entry's JSON, wiped when dropped. Written into a buffer sized for it, so that no
/// outgrown copy of the tokens is left behind.
pub(super) fn encode(
    key: &CacheKey,
    token: &CachedToken,
) -> Result<Zeroizing<Vec<u8>>, CacheError> {
    let record = Record {
        v: FORMAT_VERSION,
        access_token: token.access_token.expose().clone(),
        expires_at: token.expires_at,
        refresh_token: token.refresh_token.as_ref().map(|t| t.expose().clone()),
        key: key.clone(),
    };
    let tokens = record.access_token.len() + record.refresh_token.as_ref().map_or(0, String::len);
    let mut bytes = Zeroizing::new(Vec::with_capacity(512 + tokens + 2 * key.account().len()));
    serde_json::to_writer(&mut *bytes, &record).map_err(|e| {
        CacheError::Backend(format!("cannot encode the cache entry: {}", json_fault(&e)))
    })?;
    Ok(bytes)
}

/// serde_json's messages can quote the offending value (`invalid type: string "eyJ…"`), which
/// may be a token: keep only the category and position.
pub(super) fn json_fault(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

/// The version alone, read first so that an entry of another format is named as such.
#[derive(Deserialize)]
struct Version {
    v: u32,
}

pub(super) fn decode(
    bytes: &[u8],
    expected_account: &str,
) -> Result<(CacheKey, CachedToken), CacheError> {
    let not_ours = |e: serde_json::Error| {
        CacheError::Corrupt(format!("not xoauth cache JSON ({})", json_fault(&e)))
    };
    let version: Version = serde_json::from_slice(bytes).map_err(not_ours)?;
    if version.v != FORMAT_VERSION {
        return Err(CacheError::Corrupt(format!(
            "entry format version {}, expected {FORMAT_VERSION} (`xoauth cache clear` removes it)",
            version.v
        )));
    }
    let mut record: Record = serde_json::from_slice(bytes).map_err(not_ours)?;
    if record.key.account() != expected_account {
        return Err(CacheError::Corrupt(
            "entry holds a token for a different key than its name says".to_string(),
        ));
    }
    let token = CachedToken {
        access_token: Secret::new(std::mem::take(&mut record.access_token)),
        expires_at: record.expires_at,
        refresh_token: record.refresh_token.take().map(Secret::new),
    };
    Ok((record.key.clone(), token))
}
