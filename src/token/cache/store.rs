//! The keyring store: one value per [`CacheKey::account`] under the keyring service, plus an
//! index value (user `__index__`, a JSON list of account strings and no secrets), because
//! keyring cannot enumerate; a value too big for one entry is split (`parts`). A corrupt index
//! is reset on the next update; entries that vanished are dropped from it by `list`, format-1
//! entries skipped by `list` and removed by `clear`.
//!
//! Every write is read back before it counts: keyutils reports a refused write as "no entry",
//! and a cache that silently loses tokens is worse than none. keyring calls block (D-Bus round
//! trips), so async code uses [`get`] and [`put`], which run them on tokio's blocking pool.
//! Backends are chosen per entry (`Entry::new_with_credential`), never through keyring's
//! process-global default builder.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use keyring::credential::CredentialPersistence;
use zeroize::Zeroizing;

use super::parts::ENTRY_BYTES;
use super::record::{CacheKey, CacheListing, CachedToken, decode, encode, json_fault};
use super::{CacheError, TokenStore, lock};

/// The keyring user of the index entry; account strings always contain `|`, so never clash.
pub(super) const INDEX_USER: &str = "__index__";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    SecretService,
    Keyutils,
    /// keyring's own store for the system it was built for: the Windows Credential Manager,
    /// the macOS Keychain. On Linux the two above are chosen between instead.
    Native,
}

impl Backend {
    pub(super) fn name(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            // A run-time match on the OS, not a `cfg`: every build names every store.
            Backend::Native => match std::env::consts::OS {
                "windows" => "windows-credential-manager",
                "macos" => "macos-keychain",
                _ => "os-keyring",
            },
        }
    }

    /// keyring's builder for this backend, or `None` where this build of keyring has no such
    /// store (the Linux ones elsewhere).
    fn builder(self) -> Option<Box<keyring::CredentialBuilder>> {
        match self {
            Backend::SecretService => linux::secret_service(),
            Backend::Keyutils => linux::keyutils(),
            Backend::Native => Some(keyring::default::default_credential_builder()),
        }
    }

    /// The stores this build chooses between, in order of preference: the Linux ones where
    /// they exist, else keyring's own store for the system.
    pub(super) fn candidates() -> Vec<Backend> {
        let linux: Vec<Backend> = [Backend::SecretService, Backend::Keyutils]
            .into_iter()
            .filter(|b| b.builder().is_some())
            .collect();
        if linux.is_empty() {
            vec![Backend::Native]
        } else {
            linux
        }
    }
}

/// The only platform-selected lines: which of keyring's Linux builders exist. Windows and
/// macOS go through keyring's portable `default` module, with no code of ours for them.
#[cfg(target_os = "linux")]
mod linux {
    pub(super) fn secret_service() -> Option<Box<keyring::CredentialBuilder>> {
        Some(keyring::secret_service::default_credential_builder())
    }
    pub(super) fn keyutils() -> Option<Box<keyring::CredentialBuilder>> {
        Some(keyring::keyutils::default_credential_builder())
    }
}

#[cfg(not(target_os = "linux"))]
mod linux {
    pub(super) fn secret_service() -> Option<Box<keyring::CredentialBuilder>> {
        None
    }
    pub(super) fn keyutils() -> Option<Box<keyring::CredentialBuilder>> {
        None
    }
}

/// Serializes read-modify-write of index entries within this process (other processes can
/// still race; the worst case is an index missing a live entry or naming a gone one).
static INDEX_LOCK: Mutex<()> = Mutex::new(());

pub(super) struct KeyringStore {
    pub(super) backend: Backend,
    service: String,
}

fn credential(
    backend: Backend,
    service: &str,
    user: &str,
) -> keyring::Result<Box<keyring::Credential>> {
    let unusable = |why: String| keyring::Error::Invalid(backend.name().to_string(), why);
    let builder = backend.builder().ok_or_else(|| {
        unusable(format!(
            "there is no such store on {}",
            std::env::consts::OS
        ))
    })?;
    // keyring falls back to its in-memory mock on a system it has no store for: tokens there
    // would vanish with the entry object, so that is no store at all.
    if matches!(
        builder.persistence(),
        CredentialPersistence::EntryOnly | CredentialPersistence::ProcessOnly
    ) {
        return Err(unusable(format!(
            "keyring has no persistent store for {}",
            std::env::consts::OS
        )));
    }
    builder.build(None, service, user)
}

impl KeyringStore {
    pub(super) fn new(backend: Backend, service: &str) -> Self {
        KeyringStore {
            backend,
            service: service.to_string(),
        }
    }

    /// Only keyring's `Display` is used: its `Debug` of `BadEncoding` would print the bytes.
    pub(super) fn failure(&self, doing: &str, err: &keyring::Error) -> CacheError {
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

    /// An entry's bytes, wiped when dropped: a token entry holds the tokens in clear.
    pub(super) fn read_raw(
        &self,
        user: &str,
        what: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, CacheError> {
        match self.entry(user)?.get_secret() {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.failure(&format!("reading {what}"), &e)),
        }
    }

    /// Writes, then reads back through a fresh entry object and compares.
    pub(super) fn write_verified(
        &self,
        user: &str,
        bytes: &[u8],
        what: &str,
    ) -> Result<(), CacheError> {
        let backend = self.backend.name();
        // The same limit on every platform, so that a value too big for Windows fails here too.
        if bytes.len() > ENTRY_BYTES {
            return Err(CacheError::Backend(format!(
                "{what} is {} bytes, more than the {ENTRY_BYTES} one keyring entry holds on \
                 every platform (larger values are split first)",
                bytes.len()
            )));
        }
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
            Some(back) if back.as_slice() == bytes => Ok(()),
            Some(_) => Err(CacheError::Backend(format!(
                "{backend} returned something else than was just stored for {what} (another \
                 process writing the same entry?)"
            ))),
            None => Err(CacheError::Backend(format!(
                "{backend} accepted {what} but it is missing when read back: the write was lost"
            ))),
        }
    }

    pub(super) fn remove_raw(&self, user: &str, what: &str) -> Result<bool, CacheError> {
        match self.entry(user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.failure(&format!("deleting {what}"), &e)),
        }
    }

    /// A missing index is empty; a corrupt one is `Corrupt`.
    pub(super) fn read_index(&self) -> Result<BTreeSet<String>, CacheError> {
        match self.read_value(INDEX_USER, "the cache index")? {
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
        self.write_value(INDEX_USER, &bytes, "the cache index")
    }

    /// Read-modify-write of the index; a corrupt index is reset rather than blocking the cache.
    pub(super) fn update_index(
        &self,
        change: impl FnOnce(&mut BTreeSet<String>),
    ) -> Result<(), CacheError> {
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
        match self.read_value(&account, "the cached token")? {
            None => Ok(None),
            Some(bytes) => decode(&bytes, &account).map(|(_, token)| Some(token)),
        }
    }

    fn put(&self, key: &CacheKey, token: &CachedToken) -> Result<(), CacheError> {
        let account = key.account();
        self.write_value(&account, &encode(key, token)?, "the token")?;
        self.update_index(|accounts| {
            accounts.insert(account);
        })
    }

    fn delete(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let account = key.account();
        let deleted = self.remove_value(&account, "the cached token")?;
        self.update_index(|accounts| {
            accounts.remove(&account);
        })?;
        Ok(deleted)
    }

    fn list(&self) -> Result<Vec<CacheListing>, CacheError> {
        let mut listings = Vec::new();
        let mut vanished = Vec::new();
        for account in self.read_index()? {
            match self.read_value(&account, "a cached token")? {
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
            if self.remove_value(account, "a cached token")? {
                deleted += 1;
            }
        }
        self.remove_value(INDEX_USER, "the cache index")?;
        Ok(deleted)
    }
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
