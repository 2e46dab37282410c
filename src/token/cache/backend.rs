//! Which keyring backend holds the cache: on Linux the Secret Service, keyutils or none, forced
//! by `XOAUTH_KEYRING` or found by a probe; elsewhere the system's own store (Windows
//! Credential Manager, macOS Keychain) or none; and under which keyring service name, `xoauth` or
//! `$XOAUTH_KEYRING_SERVICE`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::store::{Backend, KeyringStore};
use super::{CacheError, TokenStore};

/// The keyring service name every xoauth entry lives under.
pub const SERVICE: &str = "xoauth";

/// Overrides [`SERVICE`] for [`open_default`]: tests (and anyone keeping separate caches) set
/// it so that they never read, write or clear the user's own entries.
pub const SERVICE_ENV: &str = "XOAUTH_KEYRING_SERVICE";

/// Forces a backend: `secret-service`, `keyutils` or `none`.
pub const BACKEND_ENV: &str = "XOAUTH_KEYRING";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choice {
    Auto,
    Force(Backend),
    Off,
}

pub(super) fn parse_choice(value: Option<&str>) -> Result<Choice, CacheError> {
    match value.map(str::trim) {
        None | Some("") => Ok(Choice::Auto),
        Some("secret-service") => Ok(Choice::Force(Backend::SecretService)),
        Some("keyutils") => Ok(Choice::Force(Backend::Keyutils)),
        Some("none") => Ok(Choice::Off),
        Some(other) => Err(CacheError::BadChoice(other.to_string())),
    }
}

/// The selection policy among this build's stores, with the probe passed in so it can be
/// tested without a keyring.
pub(super) fn choose(
    choice: Choice,
    dbus_session: bool,
    probe: &dyn Fn(Backend) -> Result<(), String>,
) -> Result<Backend, CacheError> {
    choose_among(&Backend::candidates(), choice, dbus_session, probe)
}

/// [`choose`] among `stores` in order: on Linux the Secret Service (only with a session bus)
/// then keyutils; on Windows and macOS keyring's store for the system.
pub(super) fn choose_among(
    stores: &[Backend],
    choice: Choice,
    dbus_session: bool,
    probe: &dyn Fn(Backend) -> Result<(), String>,
) -> Result<Backend, CacheError> {
    match choice {
        Choice::Off => Err(CacheError::Off),
        Choice::Force(backend) => probe(backend).map(|()| backend).map_err(|why| {
            CacheError::NoBackend(format!(
                "{BACKEND_ENV}={} was requested but does not work: {why}",
                backend.name()
            ))
        }),
        Choice::Auto => {
            let mut tried = Vec::new();
            for &backend in stores {
                if backend == Backend::SecretService && !dbus_session {
                    tried.push(
                        "secret-service: skipped, DBUS_SESSION_BUS_ADDRESS is not set".to_string(),
                    );
                    continue;
                }
                match probe(backend) {
                    Ok(()) => return Ok(backend),
                    Err(why) => tried.push(format!("{}: {why}", backend.name())),
                }
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

pub(super) fn open_keyring(service: &str) -> Result<KeyringStore, CacheError> {
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
/// `Err(Off)`); otherwise, on Linux, the Secret Service when `DBUS_SESSION_BUS_ADDRESS` is set
/// and a probe write + read-back + delete works, else keyutils when its probe works; on Windows
/// and macOS the system's store when its probe works; else `Err(NoBackend)` explaining each
/// attempt. Never a plaintext file. The service name is
/// `$XOAUTH_KEYRING_SERVICE` when set (tests give each run its own), else [`SERVICE`].
pub fn open_default() -> Result<Arc<dyn TokenStore>, CacheError> {
    open_with_service(&service_name(std::env::var(SERVICE_ENV))?)
}

/// Unset means [`SERVICE`]; set but unusable is an error, never a silent fall back to the
/// user's own entries.
pub(super) fn service_name(
    value: Result<String, std::env::VarError>,
) -> Result<String, CacheError> {
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
