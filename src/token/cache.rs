//! The token cache: access and refresh tokens kept in the OS keyring (the Secret Service over
//! D-Bus, or the Linux kernel's keyutils) so that the next run can skip the OAuth flow. Never a
//! plaintext file: when no keyring works, [`open_default`] says what it tried and why each
//! attempt failed, and the caller runs without a cache.
//!
//! Layout under keyring service `xoauth` (or `$XOAUTH_KEYRING_SERVICE`): one entry per
//! [`CacheKey::account`] whose secret is
//! `{"v":2,"access_token":…,"expires_at":…,"refresh_token":…,"key":{…}}`, plus an index entry
//! (user `__index__`, a JSON list of account strings and no secrets), because keyring cannot
//! enumerate. A corrupt index is reset on the next update; entries that vanished are dropped
//! from it by [`TokenStore::list`]. Entries of format 1 (keys without the credential) are never
//! looked up again, since their account strings differ; `list` skips them and `clear` removes
//! them.
//!
//! Every write is read back before it counts: keyutils reports a refused write as "no entry",
//! and a cache that silently loses tokens is worse than none. keyring calls block (D-Bus round
//! trips), so async code uses [`get`] and [`put`], which run them on tokio's blocking pool.
//! Backends are chosen per entry (`Entry::new_with_credential`), never through keyring's
//! process-global default builder.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The keyring service name every xoauth entry lives under.
pub const SERVICE: &str = "xoauth";
/// Overrides [`SERVICE`] for [`open_default`]: tests (and anyone keeping separate caches) set
/// it so that they never read, write or clear the user's own entries.
pub const SERVICE_ENV: &str = "XOAUTH_KEYRING_SERVICE";
/// The `user` of an app-only (client-credentials) token, which has no user. Not an address, so
/// it cannot clash with one.
pub const APP_ONLY_USER: &str = "(app-only)";
/// The `credential` of a public client's token (device code, interactive).
pub const PUBLIC_CLIENT: &str = "public-client";
/// Forces a backend: `secret-service`, `keyutils` or `none`.
pub const BACKEND_ENV: &str = "XOAUTH_KEYRING";
/// The keyring user of the index entry; account strings always contain `|`, so never clash.
const INDEX_USER: &str = "__index__";
/// Version of the JSON stored in each entry (2: the key names the credential).
const FORMAT_VERSION: u32 = 2;

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

/// Why the cache could not be used. No variant ever carries token text.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No keyring backend works; says what was tried and why each attempt failed.
    #[error("no usable OS keyring for the token cache: {0}")]
    NoBackend(String),
    #[error("keyring error: {0}")]
    Backend(String),
    /// An entry is unreadable; callers ignore it and overwrite it.
    #[error("cached token entry is unreadable: {0}")]
    Corrupt(String),
}

impl CacheError {
    fn detail(&self) -> &str {
        match self {
            CacheError::NoBackend(s) | CacheError::Backend(s) | CacheError::Corrupt(s) => s,
        }
    }
}

/// Where tokens are cached. Implementations block; async code goes through [`get`]/[`put`].
pub trait TokenStore: Send + Sync {
    /// `"secret-service"`, `"keyutils"` or `"memory"`.
    fn backend(&self) -> &'static str;
    /// A missing entry is `Ok(None)`.
    fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError>;
    /// Stores the token and verifies it by reading it back.
    fn put(&self, key: &CacheKey, token: &CachedToken) -> Result<(), CacheError>;
    /// `Ok(true)` if an entry was deleted.
    fn delete(&self, key: &CacheKey) -> Result<bool, CacheError>;
    /// What is cached, without the tokens.
    fn list(&self) -> Result<Vec<CacheListing>, CacheError>;
    /// Deletes every entry of this store, returns how many.
    fn clear(&self) -> Result<usize, CacheError>;
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Entry format

/// The JSON in one entry. Deliberately no `Debug`: it holds the tokens in clear.
#[derive(Serialize, Deserialize)]
struct Record {
    v: u32,
    access_token: String,
    expires_at: i64,
    refresh_token: Option<String>,
    key: CacheKey,
}

fn encode(key: &CacheKey, token: &CachedToken) -> Result<Vec<u8>, CacheError> {
    let record = Record {
        v: FORMAT_VERSION,
        access_token: token.access_token.expose().clone(),
        expires_at: token.expires_at,
        refresh_token: token.refresh_token.as_ref().map(|t| t.expose().clone()),
        key: key.clone(),
    };
    serde_json::to_vec(&record).map_err(|e| {
        CacheError::Backend(format!("cannot encode the cache entry: {}", json_fault(&e)))
    })
}

/// serde_json's messages can quote the offending value (`invalid type: string "eyJ…"`), which
/// may be a token: keep only the category and position.
fn json_fault(e: &serde_json::Error) -> String {
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

fn decode(bytes: &[u8], expected_account: &str) -> Result<(CacheKey, CachedToken), CacheError> {
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
    let record: Record = serde_json::from_slice(bytes).map_err(not_ours)?;
    if record.key.account() != expected_account {
        return Err(CacheError::Corrupt(
            "entry holds a token for a different key than its name says".to_string(),
        ));
    }
    let token = CachedToken {
        access_token: Secret::new(record.access_token),
        expires_at: record.expires_at,
        refresh_token: record.refresh_token.map(Secret::new),
    };
    Ok((record.key, token))
}

// ---------------------------------------------------------------------------------------------
// In-memory store

/// In-process store for unit tests and uses that must not touch the OS keyring.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, (CacheKey, CachedToken)>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
        Ok(lock(&self.entries)
            .get(&key.account())
            .map(|(_, token)| token.clone()))
    }

    fn put(&self, key: &CacheKey, token: &CachedToken) -> Result<(), CacheError> {
        lock(&self.entries).insert(key.account(), (key.clone(), token.clone()));
        Ok(())
    }

    fn delete(&self, key: &CacheKey) -> Result<bool, CacheError> {
        Ok(lock(&self.entries).remove(&key.account()).is_some())
    }

    fn list(&self) -> Result<Vec<CacheListing>, CacheError> {
        Ok(lock(&self.entries)
            .values()
            .map(|(key, token)| CacheListing {
                key: key.clone(),
                expires_at: token.expires_at,
                has_refresh_token: token.refresh_token.is_some(),
            })
            .collect())
    }

    fn clear(&self) -> Result<usize, CacheError> {
        let mut entries = lock(&self.entries);
        let count = entries.len();
        entries.clear();
        Ok(count)
    }
}

// ---------------------------------------------------------------------------------------------
// OS keyring store

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    SecretService,
    Keyutils,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
        }
    }
}

/// Serializes read-modify-write of index entries within this process (other processes can
/// still race; the worst case is an index missing a live entry or naming a gone one).
static INDEX_LOCK: Mutex<()> = Mutex::new(());

struct KeyringStore {
    backend: Backend,
    service: String,
}

#[cfg(target_os = "linux")]
fn credential(
    backend: Backend,
    service: &str,
    user: &str,
) -> keyring::Result<Box<keyring::Credential>> {
    use keyring::{keyutils::KeyutilsCredential, secret_service::SsCredential};
    Ok(match backend {
        Backend::SecretService => Box::new(SsCredential::new_with_target(None, service, user)?),
        Backend::Keyutils => Box::new(KeyutilsCredential::new_with_target(None, service, user)?),
    })
}

#[cfg(not(target_os = "linux"))]
fn credential(
    backend: Backend,
    _service: &str,
    _user: &str,
) -> keyring::Result<Box<keyring::Credential>> {
    Err(keyring::Error::Invalid(
        backend.name().to_string(),
        "xoauth's keyring cache supports Linux only".to_string(),
    ))
}

impl KeyringStore {
    fn new(backend: Backend, service: &str) -> Self {
        KeyringStore {
            backend,
            service: service.to_string(),
        }
    }

    /// Only keyring's `Display` is used: its `Debug` of `BadEncoding` would print the bytes.
    fn failure(&self, doing: &str, err: &keyring::Error) -> CacheError {
        let text = err.to_string();
        // Non-root users get 20000 bytes of kernel keys (/proc/sys/kernel/keys/maxbytes): a few
        // tokens with their refresh tokens.
        let hint = if self.backend == Backend::Keyutils && text.contains("QuotaExceeded") {
            " (the kernel's per-user key quota, /proc/sys/kernel/keys/maxbytes, is full: \
             clearing the token cache frees it)"
        } else {
            ""
        };
        CacheError::Backend(format!(
            "{} failed {doing}: {text}{hint}",
            self.backend.name()
        ))
    }

    fn entry(&self, user: &str) -> Result<keyring::Entry, CacheError> {
        credential(self.backend, &self.service, user)
            .map(keyring::Entry::new_with_credential)
            .map_err(|e| self.failure("to address an entry", &e))
    }

    fn read_raw(&self, user: &str, what: &str) -> Result<Option<Vec<u8>>, CacheError> {
        match self.entry(user)?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.failure(&format!("reading {what}"), &e)),
        }
    }

    /// Writes, then reads back through a fresh entry object and compares.
    fn write_verified(&self, user: &str, bytes: &[u8], what: &str) -> Result<(), CacheError> {
        let backend = self.backend.name();
        match self.entry(user)?.set_secret(bytes) {
            Ok(()) => {}
            Err(keyring::Error::NoEntry) => {
                return Err(CacheError::Backend(format!(
                    "{backend} refused to store {what} (it reported \"no entry\"; for keyutils \
                     this means the session keyring is not writable: run under `keyctl session -`)"
                )));
            }
            Err(e) => return Err(self.failure(&format!("storing {what}"), &e)),
        }
        match self.read_raw(user, what)? {
            Some(back) if back == bytes => Ok(()),
            Some(_) => Err(CacheError::Backend(format!(
                "{backend} returned something else than was just stored for {what} (another \
                 process writing the same entry?)"
            ))),
            None => Err(CacheError::Backend(format!(
                "{backend} accepted {what} but it is missing when read back: the write was lost"
            ))),
        }
    }

    fn remove_raw(&self, user: &str, what: &str) -> Result<bool, CacheError> {
        match self.entry(user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.failure(&format!("deleting {what}"), &e)),
        }
    }

    /// A missing index is empty; a corrupt one is `Corrupt`.
    fn read_index(&self) -> Result<BTreeSet<String>, CacheError> {
        match self.read_raw(INDEX_USER, "the cache index")? {
            None => Ok(BTreeSet::new()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CacheError::Corrupt(format!(
                    "the cache index is not a JSON list ({})",
                    json_fault(&e)
                ))
            }),
        }
    }

    fn write_index(&self, accounts: &BTreeSet<String>) -> Result<(), CacheError> {
        let bytes = serde_json::to_vec(accounts).map_err(|e| {
            CacheError::Backend(format!("cannot encode the cache index: {}", json_fault(&e)))
        })?;
        self.write_verified(INDEX_USER, &bytes, "the cache index")
    }

    /// Read-modify-write of the index; a corrupt index is reset rather than blocking the cache.
    fn update_index(&self, change: impl FnOnce(&mut BTreeSet<String>)) -> Result<(), CacheError> {
        let _guard = lock(&INDEX_LOCK);
        let (mut accounts, was_corrupt) = match self.read_index() {
            Ok(accounts) => (accounts, false),
            Err(CacheError::Corrupt(_)) => (BTreeSet::new(), true),
            Err(e) => return Err(e),
        };
        let before = accounts.clone();
        change(&mut accounts);
        if was_corrupt || accounts != before {
            self.write_index(&accounts)?;
        }
        Ok(())
    }
}

impl TokenStore for KeyringStore {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
        let account = key.account();
        match self.read_raw(&account, "the cached token")? {
            None => Ok(None),
            Some(bytes) => decode(&bytes, &account).map(|(_, token)| Some(token)),
        }
    }

    fn put(&self, key: &CacheKey, token: &CachedToken) -> Result<(), CacheError> {
        let account = key.account();
        self.write_verified(&account, &encode(key, token)?, "the token")?;
        self.update_index(|accounts| {
            accounts.insert(account);
        })
    }

    fn delete(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let account = key.account();
        let deleted = self.remove_raw(&account, "the cached token")?;
        self.update_index(|accounts| {
            accounts.remove(&account);
        })?;
        Ok(deleted)
    }

    fn list(&self) -> Result<Vec<CacheListing>, CacheError> {
        let mut listings = Vec::new();
        let mut vanished = Vec::new();
        for account in self.read_index()? {
            match self.read_raw(&account, "a cached token")? {
                None => vanished.push(account),
                Some(bytes) => match decode(&bytes, &account) {
                    Ok((key, token)) => listings.push(CacheListing {
                        key,
                        expires_at: token.expires_at,
                        has_refresh_token: token.refresh_token.is_some(),
                    }),
                    // Unreadable: not listed, but kept in the index so that clear() removes it.
                    Err(CacheError::Corrupt(_)) => {}
                    Err(e) => return Err(e),
                },
            }
        }
        if !vanished.is_empty() {
            self.update_index(|accounts| {
                for account in &vanished {
                    accounts.remove(account);
                }
            })?;
        }
        Ok(listings)
    }

    fn clear(&self) -> Result<usize, CacheError> {
        let _guard = lock(&INDEX_LOCK);
        let accounts = match self.read_index() {
            Ok(accounts) => accounts,
            Err(CacheError::Corrupt(_)) => BTreeSet::new(),
            Err(e) => return Err(e),
        };
        let mut deleted = 0;
        for account in &accounts {
            if self.remove_raw(account, "a cached token")? {
                deleted += 1;
            }
        }
        self.remove_raw(INDEX_USER, "the cache index")?;
        Ok(deleted)
    }
}

// ---------------------------------------------------------------------------------------------
// Choosing a backend

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Auto,
    Force(Backend),
    Off,
}

fn parse_choice(value: Option<&str>) -> Result<Choice, CacheError> {
    match value.map(str::trim) {
        None | Some("") => Ok(Choice::Auto),
        Some("secret-service") => Ok(Choice::Force(Backend::SecretService)),
        Some("keyutils") => Ok(Choice::Force(Backend::Keyutils)),
        Some("none") => Ok(Choice::Off),
        Some(other) => Err(CacheError::NoBackend(format!(
            "{BACKEND_ENV}={other:?} is not one of secret-service, keyutils, none"
        ))),
    }
}

/// The selection policy, with the probe passed in so it can be tested without a keyring.
fn choose(
    choice: Choice,
    dbus_session: bool,
    probe: &dyn Fn(Backend) -> Result<(), String>,
) -> Result<Backend, CacheError> {
    match choice {
        Choice::Off => Err(CacheError::NoBackend(format!(
            "{BACKEND_ENV}=none turns the keyring cache off"
        ))),
        Choice::Force(backend) => probe(backend).map(|()| backend).map_err(|why| {
            CacheError::NoBackend(format!(
                "{BACKEND_ENV}={} was requested but does not work: {why}",
                backend.name()
            ))
        }),
        Choice::Auto => {
            let mut tried = Vec::new();
            if dbus_session {
                match probe(Backend::SecretService) {
                    Ok(()) => return Ok(Backend::SecretService),
                    Err(why) => tried.push(format!("secret-service: {why}")),
                }
            } else {
                tried.push(
                    "secret-service: skipped, DBUS_SESSION_BUS_ADDRESS is not set".to_string(),
                );
            }
            match probe(Backend::Keyutils) {
                Ok(()) => return Ok(Backend::Keyutils),
                Err(why) => tried.push(format!("keyutils: {why}")),
            }
            Err(CacheError::NoBackend(tried.join("; ")))
        }
    }
}

/// Writes, reads back and deletes a throwaway entry (never the index).
fn probe(backend: Backend, service: &str) -> Result<(), String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let store = KeyringStore::new(backend, service);
    let user = format!(
        "__probe__.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    store
        .write_verified(&user, b"xoauth keyring probe", "a probe entry")
        .map_err(|e| e.detail().to_string())?;
    match store.remove_raw(&user, "the probe entry") {
        Ok(true) => Ok(()),
        Ok(false) => Err("the probe entry could not be found to delete it".to_string()),
        Err(e) => Err(e.detail().to_string()),
    }
}

fn open_keyring(service: &str) -> Result<KeyringStore, CacheError> {
    if service.is_empty() {
        return Err(CacheError::NoBackend(
            "the keyring service name is empty".to_string(),
        ));
    }
    let forced = std::env::var(BACKEND_ENV).ok();
    let choice = parse_choice(forced.as_deref())?;
    let dbus_session =
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|address| !address.is_empty());
    let backend = choose(choice, dbus_session, &|backend| probe(backend, service))?;
    Ok(KeyringStore::new(backend, service))
}

/// Chooses a backend: `XOAUTH_KEYRING=secret-service|keyutils|none` forces one (`none` gives
/// `Err(NoBackend)`); otherwise the Secret Service when `DBUS_SESSION_BUS_ADDRESS` is set and a
/// probe write + read-back + delete works, else keyutils when its probe works, else
/// `Err(NoBackend)` explaining each attempt. Never a plaintext file. The service name is
/// `$XOAUTH_KEYRING_SERVICE` when set (tests give each run its own), else [`SERVICE`].
pub fn open_default() -> Result<Arc<dyn TokenStore>, CacheError> {
    open_with_service(&service_name(std::env::var(SERVICE_ENV))?)
}

/// Unset means [`SERVICE`]; set but unusable is an error, never a silent fall back to the
/// user's own entries.
fn service_name(value: Result<String, std::env::VarError>) -> Result<String, CacheError> {
    match value {
        Err(std::env::VarError::NotPresent) => Ok(SERVICE.to_string()),
        Ok(name) if !name.trim().is_empty() => Ok(name),
        _ => Err(CacheError::NoBackend(format!(
            "{SERVICE_ENV} is set but is not a usable keyring service name"
        ))),
    }
}

/// [`open_default`] under another keyring service name, so that tests can exercise a real
/// keyring (including `clear`) without touching the user's cache.
pub fn open_with_service(service: &str) -> Result<Arc<dyn TokenStore>, CacheError> {
    Ok(Arc::new(open_keyring(service)?))
}

// ---------------------------------------------------------------------------------------------
// Async wrappers

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, CacheError> + Send + 'static,
) -> Result<T, CacheError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| CacheError::Backend(format!("the keyring task did not finish: {e}")))?
}

/// [`TokenStore::get`] on tokio's blocking pool.
pub async fn get(
    store: Arc<dyn TokenStore>,
    key: CacheKey,
) -> Result<Option<CachedToken>, CacheError> {
    blocking(move || store.get(&key)).await
}

/// [`TokenStore::put`] on tokio's blocking pool.
pub async fn put(
    store: Arc<dyn TokenStore>,
    key: CacheKey,
    token: CachedToken,
) -> Result<(), CacheError> {
    blocking(move || store.put(&key, &token)).await
}

/// [`TokenStore::delete`] on tokio's blocking pool.
pub async fn delete(store: Arc<dyn TokenStore>, key: CacheKey) -> Result<bool, CacheError> {
    blocking(move || store.delete(&key)).await
}

/// [`TokenStore::list`] on tokio's blocking pool.
pub async fn list(store: Arc<dyn TokenStore>) -> Result<Vec<CacheListing>, CacheError> {
    blocking(move || store.list()).await
}

/// [`TokenStore::clear`] on tokio's blocking pool.
pub async fn clear(store: Arc<dyn TokenStore>) -> Result<usize, CacheError> {
    blocking(move || store.clear()).await
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;

    const ACCESS: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.ACCESS-SECRET";
    const REFRESH: &str = "0.AAAA-REFRESH-SECRET";

    fn unique(tag: &str) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!(
            "{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn key(tenant: &str, user: &str) -> CacheKey {
        CacheKey {
            provider: "microsoft".to_string(),
            tenant: tenant.to_string(),
            client_id: "9e5f94bc-e8a4-4e73-b8be-63364c29d753".to_string(),
            flow: "device".to_string(),
            credential: PUBLIC_CLIENT.to_string(),
            user: user.to_string(),
            scopes: vec![
                "offline_access".to_string(),
                "https://outlook.office.com/IMAP.AccessAsUser.All".to_string(),
            ],
        }
    }

    fn unique_key(tag: &str) -> CacheKey {
        let id = unique(tag);
        key(&format!("tenant-{id}"), &format!("{id}@example.test"))
    }

    fn token(expires_at: i64, refresh: bool) -> CachedToken {
        CachedToken {
            access_token: Secret::new(format!("{ACCESS}-{expires_at}")),
            expires_at,
            refresh_token: refresh.then(|| Secret::new(REFRESH.to_string())),
        }
    }

    fn assert_no_secret(shown: &str) {
        for needle in ["ACCESS-SECRET", "REFRESH-SECRET", "eyJ0eXAi"] {
            assert!(!shown.contains(needle), "secret leaked: {shown}");
        }
    }

    // --- keys, freshness, format -------------------------------------------------------------

    #[test]
    fn account_is_stable_and_sorts_scopes() {
        let mut k = key("contoso", "alice@contoso.example");
        let first = k.account();
        assert_eq!(
            first,
            "microsoft|contoso|9e5f94bc-e8a4-4e73-b8be-63364c29d753|device|public-client|\
             alice@contoso.example|https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
        );
        k.scopes.reverse();
        k.scopes.push("offline_access".to_string());
        assert_eq!(k.account(), first);
        k.user = "bob@contoso.example".to_string();
        assert_ne!(k.account(), first);
    }

    #[test]
    fn the_credential_and_the_app_only_marker_are_part_of_the_account() {
        let mut a = key("contoso", APP_ONLY_USER);
        a.flow = "client-credentials".to_string();
        a.credential = "secret:0123456789abcdef".to_string();
        let mut rotated = a.clone();
        rotated.credential = "secret:fedcba9876543210".to_string();
        assert_ne!(a.account(), rotated.account());
        assert!(
            a.account().contains("|secret:0123456789abcdef|(app-only)|"),
            "{}",
            a.account()
        );
        assert!(
            !a.account().contains("||"),
            "no empty field: {}",
            a.account()
        );
    }

    #[test]
    fn service_name_comes_from_the_environment_or_is_the_default() {
        use std::env::VarError;
        assert_eq!(service_name(Err(VarError::NotPresent)).unwrap(), SERVICE);
        assert_eq!(
            service_name(Ok("xoauth-test-42".into())).unwrap(),
            "xoauth-test-42"
        );
        for unusable in [Ok(String::new()), Ok("  ".into())] {
            assert!(matches!(
                service_name(unusable),
                Err(CacheError::NoBackend(m)) if m.contains(SERVICE_ENV)
            ));
        }
        assert!(service_name(Err(VarError::NotUnicode("x".into()))).is_err());
    }

    #[test]
    fn freshness_respects_the_margin() {
        let t = token(1_000, false);
        assert!(t.is_fresh(900, 60));
        assert!(
            !t.is_fresh(940, 60),
            "exactly the margin left is not enough"
        );
        assert!(!t.is_fresh(1_000, 0));
        assert!(!t.is_fresh(2_000, 60));
        assert!(!token(i64::MIN, false).is_fresh(i64::MAX, 0));
        assert!(token(i64::MAX, false).is_fresh(i64::MIN, 0));
    }

    #[test]
    fn entry_json_round_trips() {
        let k = key("contoso", "alice@contoso.example");
        let t = token(1_700_000_000, true);
        let bytes = encode(&k, &t).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["v"], 2);
        assert_eq!(json["key"]["credential"], PUBLIC_CLIENT);
        assert_eq!(json["expires_at"], 1_700_000_000);
        assert_eq!(json["key"]["user"], "alice@contoso.example");
        let (k2, t2) = decode(&bytes, &k.account()).unwrap();
        assert_eq!((k2, t2), (k.clone(), t));

        let other = key("contoso", "bob@contoso.example");
        assert!(matches!(
            decode(&bytes, &other.account()),
            Err(CacheError::Corrupt(_))
        ));
        let v3 = serde_json::to_vec(&serde_json::json!({
            "v": 3, "access_token": "x", "expires_at": 1, "refresh_token": null,
            "key": serde_json::to_value(&k).unwrap(),
        }))
        .unwrap();
        assert!(
            matches!(decode(&v3, &k.account()), Err(CacheError::Corrupt(m)) if m.contains("version 3"))
        );
    }

    /// An entry written by xoauth before keys named the credential.
    fn format_1_entry(k: &CacheKey) -> (String, Vec<u8>) {
        let account = format!(
            "{}|{}|{}|{}|{}|{}",
            k.provider,
            k.tenant,
            k.client_id,
            k.flow,
            k.user,
            k.scopes.join(" ")
        );
        let bytes = serde_json::to_vec(&serde_json::json!({
            "v": 1, "access_token": ACCESS, "expires_at": 1_900_000_000, "refresh_token": REFRESH,
            "key": {"provider": k.provider, "tenant": k.tenant, "client_id": k.client_id,
                    "flow": k.flow, "user": k.user, "scopes": k.scopes},
        }))
        .unwrap();
        (account, bytes)
    }

    #[test]
    fn a_format_1_entry_is_named_as_such_and_shows_no_secret() {
        let k = key("contoso", "alice@contoso.example");
        let (account, bytes) = format_1_entry(&k);
        assert_ne!(account, k.account(), "old entries are never looked up");
        let err = decode(&bytes, &account).unwrap_err();
        assert!(
            matches!(&err, CacheError::Corrupt(m) if m.contains("version 1, expected 2")),
            "{err:?}"
        );
        assert_no_secret(&format!("{err} {err:?}"));
    }

    #[test]
    fn corrupt_entries_and_errors_never_show_secrets() {
        let k = key("contoso", "alice@contoso.example");
        let mut shown = String::new();
        // serde_json would quote these values in its own messages.
        let corrupt = [
            format!(r#"{{"v":2,"access_token":"{ACCESS}","expires_at":"{REFRESH}"}}"#),
            format!(r#"{{"v":2,"access_token":["{ACCESS}"]}}"#),
            format!(r#"{{"v":"{ACCESS}"}}"#),
            format!("{ACCESS} {REFRESH}"),
            format!(r#"["{ACCESS}"#),
        ];
        for text in &corrupt {
            let err = decode(text.as_bytes(), &k.account()).err().unwrap();
            assert!(matches!(err, CacheError::Corrupt(_)), "{err:?}");
            shown.push_str(&format!("{err} {err:?}\n"));
        }
        let fail = |_: Backend| Err("probe said no".to_string());
        for err in [
            choose(Choice::Auto, true, &fail).unwrap_err(),
            choose(Choice::Off, true, &fail).unwrap_err(),
            CacheError::Backend("x".to_string()),
        ] {
            shown.push_str(&format!("{err} {err:?}\n"));
        }
        let t = token(5, true);
        let listing = CacheListing {
            key: k,
            expires_at: t.expires_at,
            has_refresh_token: true,
        };
        shown.push_str(&format!("{t:?} {:?} {listing:?}", Some(&t)));
        assert_no_secret(&shown);
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn keyutils_quota_failure_says_what_is_full() {
        #[derive(Debug)]
        struct Quota;
        impl std::fmt::Display for Quota {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("QuotaExceeded")
            }
        }
        impl std::error::Error for Quota {}
        let store = KeyringStore::new(Backend::Keyutils, TEST_SERVICE);
        let err = store.failure(
            "storing the token",
            &keyring::Error::PlatformFailure(Box::new(Quota)),
        );
        assert!(err.to_string().contains("maxbytes"), "{err}");
    }

    // --- backend selection -------------------------------------------------------------------

    #[test]
    fn choice_comes_from_the_environment_value() {
        assert_eq!(parse_choice(None).unwrap(), Choice::Auto);
        assert_eq!(parse_choice(Some("")).unwrap(), Choice::Auto);
        assert_eq!(
            parse_choice(Some("keyutils")).unwrap(),
            Choice::Force(Backend::Keyutils)
        );
        assert_eq!(
            parse_choice(Some("secret-service")).unwrap(),
            Choice::Force(Backend::SecretService)
        );
        assert_eq!(parse_choice(Some("none")).unwrap(), Choice::Off);
        let err = parse_choice(Some("file")).unwrap_err();
        assert!(
            matches!(err, CacheError::NoBackend(ref m) if m.contains("\"file\"")),
            "{err}"
        );
    }

    #[test]
    fn selection_prefers_secret_service_then_keyutils_and_explains_failures() {
        let both = |_: Backend| Ok(());
        let only_keyutils = |b: Backend| match b {
            Backend::Keyutils => Ok(()),
            Backend::SecretService => Err("org.freedesktop.secrets not provided".to_string()),
        };
        let none = |b: Backend| Err(format!("{} probe failed", b.name()));
        let probed = Mutex::new(Vec::new());
        let recording = |b: Backend| {
            lock(&probed).push(b);
            Err("no".to_string())
        };

        assert_eq!(
            choose(Choice::Auto, true, &both).unwrap(),
            Backend::SecretService
        );
        assert_eq!(
            choose(Choice::Auto, false, &both).unwrap(),
            Backend::Keyutils
        );
        assert_eq!(
            choose(Choice::Auto, true, &only_keyutils).unwrap(),
            Backend::Keyutils
        );
        assert_eq!(
            choose(Choice::Force(Backend::SecretService), false, &both).unwrap(),
            Backend::SecretService
        );

        let err = choose(Choice::Auto, true, &none).unwrap_err().to_string();
        assert!(
            err.contains("secret-service: secret-service probe failed"),
            "{err}"
        );
        assert!(err.contains("keyutils: keyutils probe failed"), "{err}");
        let err = choose(Choice::Auto, false, &recording)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DBUS_SESSION_BUS_ADDRESS is not set"), "{err}");
        assert_eq!(
            *lock(&probed),
            vec![Backend::Keyutils],
            "no D-Bus probe without a bus"
        );

        let err = choose(Choice::Force(Backend::SecretService), true, &only_keyutils).unwrap_err();
        assert!(
            matches!(err, CacheError::NoBackend(ref m) if m.contains("XOAUTH_KEYRING=secret-service") && m.contains("not provided")),
            "{err}"
        );
        assert!(matches!(
            choose(Choice::Off, true, &both),
            Err(CacheError::NoBackend(_))
        ));
    }

    // --- memory store ------------------------------------------------------------------------

    #[test]
    fn memory_store_round_trips_overwrites_and_deletes() {
        let store = MemoryStore::new();
        let k = key("contoso", "alice@contoso.example");
        assert_eq!(store.backend(), "memory");
        assert!(store.get(&k).unwrap().is_none());
        store.put(&k, &token(100, false)).unwrap();
        store.put(&k, &token(200, true)).unwrap();
        let mut reordered = k.clone();
        reordered.scopes.reverse();
        assert_eq!(store.get(&reordered).unwrap(), Some(token(200, true)));
        assert!(store.delete(&k).unwrap());
        assert!(!store.delete(&k).unwrap());
        assert!(store.get(&k).unwrap().is_none());
    }

    #[test]
    fn memory_store_lists_without_tokens_and_clears() {
        let store = MemoryStore::new();
        let a = key("contoso", "alice@contoso.example");
        let b = key("contoso", "bob@contoso.example");
        store.put(&a, &token(100, true)).unwrap();
        store.put(&b, &token(200, false)).unwrap();
        let listed = store.list().unwrap();
        assert_eq!(
            listed,
            vec![
                CacheListing {
                    key: a.clone(),
                    expires_at: 100,
                    has_refresh_token: true
                },
                CacheListing {
                    key: b.clone(),
                    expires_at: 200,
                    has_refresh_token: false
                },
            ]
        );
        assert_no_secret(&format!("{listed:?}"));
        assert_eq!(store.clear().unwrap(), 2);
        assert!(store.list().unwrap().is_empty());
        assert_eq!(store.clear().unwrap(), 0);
    }

    #[test]
    fn freshness_decides_use_of_a_memory_entry() {
        let store = MemoryStore::new();
        let k = key("contoso", "alice@contoso.example");
        store.put(&k, &token(1_000, true)).unwrap();
        let cached = store.get(&k).unwrap().unwrap();
        assert!(cached.is_fresh(500, 300));
        assert!(!cached.is_fresh(800, 300));
        assert_eq!(
            cached.refresh_token.as_ref().map(|t| t.expose().as_str()),
            Some(REFRESH)
        );
    }

    #[tokio::test]
    async fn async_wrappers_run_on_the_blocking_pool() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let k = key("contoso", "alice@contoso.example");
        assert!(get(store.clone(), k.clone()).await.unwrap().is_none());
        put(store.clone(), k.clone(), token(42, false))
            .await
            .unwrap();
        assert_eq!(
            get(store.clone(), k.clone()).await.unwrap(),
            Some(token(42, false))
        );
        assert_eq!(list(store.clone()).await.unwrap().len(), 1);
        assert!(delete(store.clone(), k).await.unwrap());
        assert_eq!(clear(store).await.unwrap(), 0);
    }

    // --- real OS keyring ---------------------------------------------------------------------
    //
    // These use service `xoauth-test`, never the user's `xoauth` entries, and hold BACKEND_TESTS
    // so that clear() and index resets cannot disturb a concurrent test. Without a keyring they
    // skip loudly, unless CI is set, where they fail.

    const TEST_SERVICE: &str = "xoauth-test";
    static BACKEND_TESTS: Mutex<()> = Mutex::new(());

    /// Written straight to stderr: libtest captures `eprintln!`, and a skip must be seen.
    fn loud(line: &str) {
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    fn real_store(test: &str) -> Option<(MutexGuard<'static, ()>, KeyringStore)> {
        let guard = lock(&BACKEND_TESTS);
        match open_keyring(TEST_SERVICE) {
            Ok(store) => {
                loud(&format!(
                    "{test}: using the {} backend",
                    store.backend.name()
                ));
                Some((guard, store))
            }
            Err(e) => {
                let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
                assert!(
                    !ci,
                    "{test}: CI is set but no OS keyring backend works: {e}"
                );
                loud(&format!(
                    "SKIPPED: no OS keyring backend ({}); run under dbus-run-session or keyctl \
                     session [{test}]",
                    e.detail()
                ));
                None
            }
        }
    }

    #[test]
    fn backend_round_trip_in_a_fresh_store() {
        let Some((_guard, store)) = real_store("backend_round_trip_in_a_fresh_store") else {
            return;
        };
        let k = unique_key("roundtrip");
        let t = token(1_900_000_000, true);
        store.put(&k, &t).unwrap();

        let fresh = open_keyring(TEST_SERVICE).unwrap();
        assert_eq!(fresh.backend, store.backend);
        assert_eq!(fresh.get(&k).unwrap(), Some(t));

        let listed = fresh.list().unwrap();
        let row = listed.iter().find(|l| l.key == k).expect("listed");
        assert_eq!(
            (row.expires_at, row.has_refresh_token),
            (1_900_000_000, true)
        );
        assert_no_secret(&format!("{listed:?}"));
        assert!(fresh.read_index().unwrap().contains(&k.account()));

        assert!(fresh.delete(&k).unwrap());
        assert_eq!(store.get(&k).unwrap(), None);
        assert!(!store.delete(&k).unwrap());
        assert!(!store.list().unwrap().iter().any(|l| l.key == k));
        assert!(!store.read_index().unwrap().contains(&k.account()));
    }

    #[test]
    fn backend_overwrite_keeps_one_entry() {
        let Some((_guard, store)) = real_store("backend_overwrite_keeps_one_entry") else {
            return;
        };
        let k = unique_key("overwrite");
        store.put(&k, &token(100, true)).unwrap();
        store.put(&k, &token(200, false)).unwrap();
        assert_eq!(store.get(&k).unwrap(), Some(token(200, false)));
        let rows: Vec<_> = store
            .list()
            .unwrap()
            .into_iter()
            .filter(|l| l.key == k)
            .collect();
        assert_eq!(rows.len(), 1);
        assert!(!rows[0].has_refresh_token);
        assert!(store.delete(&k).unwrap());
    }

    #[test]
    fn backend_corrupt_entry_is_reported_then_overwritten() {
        let Some((_guard, store)) =
            real_store("backend_corrupt_entry_is_reported_then_overwritten")
        else {
            return;
        };
        let k = unique_key("corrupt");
        let garbage = format!(r#"{{"v":2,"access_token":"{ACCESS}","expires_at":"{REFRESH}"}}"#);
        store
            .write_verified(&k.account(), garbage.as_bytes(), "garbage")
            .unwrap();
        let err = store.get(&k).unwrap_err();
        assert!(matches!(err, CacheError::Corrupt(_)), "{err:?}");
        assert_no_secret(&format!("{err} {err:?}"));

        store.put(&k, &token(300, false)).unwrap();
        assert_eq!(store.get(&k).unwrap(), Some(token(300, false)));
        assert!(store.delete(&k).unwrap());
    }

    #[test]
    fn backend_format_1_entries_are_misses_then_cleared() {
        let Some((_guard, store)) = real_store("backend_format_1_entries_are_misses_then_cleared")
        else {
            return;
        };
        let k = unique_key("format1");
        let (account, bytes) = format_1_entry(&k);
        store
            .write_verified(&account, &bytes, "an old entry")
            .unwrap();
        store
            .update_index(|accounts| {
                accounts.insert(account.clone());
            })
            .unwrap();

        assert_eq!(store.get(&k).unwrap(), None, "a miss, not an error");
        let listed = store.list().unwrap();
        assert!(!listed.iter().any(|l| l.key.tenant == k.tenant));
        store.put(&k, &token(800, true)).unwrap();
        assert_eq!(store.get(&k).unwrap(), Some(token(800, true)));
        assert!(store.clear().unwrap() >= 2);
        assert_eq!(store.read_raw(&account, "the old entry").unwrap(), None);
    }

    #[test]
    fn backend_corrupt_index_is_reset_and_vanished_entries_dropped() {
        let Some((_guard, store)) =
            real_store("backend_corrupt_index_is_reset_and_vanished_entries_dropped")
        else {
            return;
        };
        store
            .write_verified(INDEX_USER, b"{not json", "a broken index")
            .unwrap();
        assert!(matches!(store.list(), Err(CacheError::Corrupt(_))));

        let kept = unique_key("kept");
        let gone = unique_key("gone");
        store.put(&kept, &token(400, true)).unwrap();
        store.put(&gone, &token(500, true)).unwrap();
        let index = store.read_index().unwrap();
        assert!(index.contains(&kept.account()) && index.contains(&gone.account()));

        // Deleted behind the index's back (another tool, keyring expiry).
        assert!(store.remove_raw(&gone.account(), "test entry").unwrap());
        let listed = store.list().unwrap();
        assert!(listed.iter().any(|l| l.key == kept));
        assert!(!listed.iter().any(|l| l.key == gone));
        assert!(!store.read_index().unwrap().contains(&gone.account()));

        assert!(store.delete(&kept).unwrap());
    }

    #[test]
    fn backend_clear_removes_every_entry_of_the_service() {
        let Some((_guard, store)) = real_store("backend_clear_removes_every_entry_of_the_service")
        else {
            return;
        };
        let a = unique_key("clear-a");
        let b = unique_key("clear-b");
        store.put(&a, &token(600, true)).unwrap();
        store.put(&b, &token(700, false)).unwrap();
        assert!(store.clear().unwrap() >= 2);
        assert!(store.list().unwrap().is_empty());
        assert_eq!(store.get(&a).unwrap(), None);
        assert_eq!(store.get(&b).unwrap(), None);
        assert!(store.read_index().unwrap().is_empty());
        assert_eq!(store.clear().unwrap(), 0);
    }

    #[test]
    fn backend_open_default_agrees_with_the_test_store() {
        let Some((_guard, store)) = real_store("backend_open_default_agrees_with_the_test_store")
        else {
            return;
        };
        // Only probes (throwaway entries), never reads or writes the user's cache entries.
        let default = open_default().unwrap();
        assert_eq!(default.backend(), store.backend());
    }

    /// Child side of the cross-process test, also usable by hand:
    /// `XOAUTH_CACHE_CHILD=put|get|delete XOAUTH_CACHE_CHILD_ID=<id> <test binary>
    ///  token::cache::tests::child_process_helper --exact --ignored --nocapture`.
    #[test]
    #[ignore = "run by backend_entries_are_seen_by_another_process"]
    fn child_process_helper() {
        let (Ok(action), Ok(id)) = (
            std::env::var("XOAUTH_CACHE_CHILD"),
            std::env::var("XOAUTH_CACHE_CHILD_ID"),
        ) else {
            return;
        };
        let k = key(&format!("tenant-{id}"), &format!("{id}@example.test"));
        let store = open_keyring(TEST_SERVICE).unwrap();
        let result = match action.as_str() {
            "put" => format!("{:?}", store.put(&k, &token(1_234, true))),
            "get" => match store.get(&k).unwrap() {
                Some(t) => format!("found expires_at={}", t.expires_at),
                None => "missing".to_string(),
            },
            "delete" => format!("{:?}", store.delete(&k)),
            other => format!("unknown action {other}"),
        };
        let _ = writeln!(
            std::io::stdout(),
            "CHILD-RESULT backend={} {result}",
            store.backend.name()
        );
    }

    #[test]
    fn backend_entries_are_seen_by_another_process() {
        let Some((_guard, store)) = real_store("backend_entries_are_seen_by_another_process")
        else {
            return;
        };
        let id = unique("child");
        let k = key(&format!("tenant-{id}"), &format!("{id}@example.test"));
        store.put(&k, &token(1_234, true)).unwrap();
        let child = |action: &str| {
            let exe = std::env::current_exe().unwrap();
            let out = std::process::Command::new(exe)
                .args([
                    "token::cache::tests::child_process_helper",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("XOAUTH_CACHE_CHILD", action)
                .env("XOAUTH_CACHE_CHILD_ID", &id)
                .env(BACKEND_ENV, store.backend.name())
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let seen = child("get");
        let deleted = child("delete");
        let after = store.get(&k).unwrap();
        let _ = store.delete(&k);
        assert!(
            seen.contains("CHILD-RESULT") && seen.contains("found expires_at=1234"),
            "{seen}"
        );
        assert!(deleted.contains("Ok(true)"), "{deleted}");
        assert_eq!(after, None, "a delete in another process is seen here");
    }
}
