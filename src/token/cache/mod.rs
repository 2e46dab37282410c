//! The token cache: access and refresh tokens kept in the OS keyring (on Linux the Secret
//! Service over D-Bus or the kernel's keyutils, on Windows the Credential Manager, on macOS the
//! Keychain) so that the next run can skip the OAuth flow. Never a
//! plaintext file: when no keyring works, [`open_default`] says what it tried and why each
//! attempt failed, and the caller runs without a cache.
//!
//! Here: the store's contract ([`TokenStore`], [`CacheError`]) and the in-memory store. The
//! record (key, token, entry JSON) is in `record`, the keyring store (entries, index, read-back,
//! the blocking pool) in `store`, values split to fit every store's entry size in `parts`, the
//! choice of backend and service name in `backend`.

mod backend;
mod parts;
mod record;
mod store;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use backend::{BACKEND_ENV, SERVICE, SERVICE_ENV, open_default, open_with_service};
pub use record::{APP_ONLY_USER, CacheKey, CacheListing, CachedToken, PUBLIC_CLIENT};
pub use store::{clear, delete, get, list, put};

/// Why the cache could not be used. No variant ever carries token text.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No keyring backend works; says what was tried and why each attempt failed.
    #[error("no usable OS keyring for the token cache: {0}")]
    NoBackend(String),
    /// `XOAUTH_KEYRING=none`: the user's choice, not a fault, so callers stay quiet about it.
    #[error("the token cache is turned off by {}=none", backend::BACKEND_ENV)]
    Off,
    /// `XOAUTH_KEYRING` holds something else than a backend's name: a typo to correct, not a
    /// missing keyring.
    #[error("{env}={0:?} is not one of secret-service, keyutils, none", env = backend::BACKEND_ENV)]
    BadChoice(String),
    #[error("keyring error: {0}")]
    Backend(String),
    /// An entry is unreadable; callers ignore it and overwrite it.
    #[error("cached token entry is unreadable: {0}")]
    Corrupt(String),
}

impl CacheError {
    pub(super) fn detail(&self) -> &str {
        match self {
            CacheError::NoBackend(s)
            | CacheError::Backend(s)
            | CacheError::Corrupt(s)
            | CacheError::BadChoice(s) => s,
            CacheError::Off => "the cache is turned off",
        }
    }
}

/// Where tokens are cached. Implementations block; async code goes through [`get`]/[`put`].
pub trait TokenStore: Send + Sync {
    /// `"secret-service"`, `"keyutils"`, `"windows-credential-manager"`, `"macos-keychain"`,
    /// `"os-keyring"` or `"memory"`.
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

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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

#[cfg(test)]
mod tests;
