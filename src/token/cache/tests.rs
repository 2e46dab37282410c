//! The cache end to end: the record's format, the choice of backend, the memory store, and a
//! real OS keyring when there is one (skipped loudly otherwise). Values split across entries:
//! `tests/parts.rs`.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::backend::*;
use super::record::*;
use super::store::*;
use super::*;
use crate::secret::Secret;

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
        matches!(err, CacheError::BadChoice(ref m) if m == "file"),
        "{err}"
    );
}

#[test]
fn selection_prefers_secret_service_then_keyutils_and_explains_failures() {
    let both = |_: Backend| Ok(());
    let only_keyutils = |b: Backend| match b {
        Backend::Keyutils => Ok(()),
        Backend::SecretService => Err("org.freedesktop.secrets not provided".to_string()),
        Backend::Native => Err("not on Linux".to_string()),
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
        Err(CacheError::Off)
    ));
}

#[test]
fn without_the_linux_stores_the_systems_own_store_is_chosen() {
    // What Windows and macOS builds choose among (`Backend::candidates` there).
    let stores = [Backend::Native];
    let works = |_: Backend| Ok(());
    for dbus in [true, false] {
        assert_eq!(
            choose_among(&stores, Choice::Auto, dbus, &works).unwrap(),
            Backend::Native
        );
    }
    let refused = |_: Backend| Err("the Keychain is locked".to_string());
    let err = choose_among(&stores, Choice::Auto, false, &refused).unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("the Keychain is locked"), "{shown}");
    assert!(!shown.contains("DBUS"), "no D-Bus talk off Linux: {shown}");
    assert!(matches!(
        choose_among(&stores, Choice::Off, false, &works),
        Err(CacheError::Off)
    ));
    // On Linux the Linux stores are the candidates, and asking for the system's store names
    // which OS has none of the Linux ones.
    if cfg!(target_os = "linux") {
        assert_eq!(
            Backend::candidates(),
            vec![Backend::SecretService, Backend::Keyutils]
        );
    }
    assert!(
        ["windows-credential-manager", "macos-keychain", "os-keyring"]
            .contains(&Backend::Native.name())
    );
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
    let Some((_guard, store)) = real_store("backend_corrupt_entry_is_reported_then_overwritten")
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
    // The path `open_default` takes, with the test's own service name: the probe writes and
    // deletes a throwaway entry, which must not be under the user's service either.
    let service = service_name(Ok(TEST_SERVICE.to_string())).unwrap();
    let default = open_with_service(&service).unwrap();
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
    let Some((_guard, store)) = real_store("backend_entries_are_seen_by_another_process") else {
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

mod parts;
