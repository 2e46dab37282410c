//! Values split across keyring entries (`parts`): long Microsoft-sized tokens and a big index,
//! in the real OS keyring the other backend tests use (service `xoauth-test`), so the layout
//! Windows needs is exercised on Linux.

use super::super::parts::{ENTRY_BYTES, MAX_PARTS, manifest, part_user};
use super::*;

/// About the size of a Microsoft access token with its refresh token: ~5 KiB in all.
fn long_token(expires_at: i64, seed: &str) -> CachedToken {
    let access = format!("{ACCESS}.{}", format!("{seed}-payload-").repeat(300));
    let refresh = format!("{REFRESH}.{}", format!("{seed}-refresh-").repeat(150));
    CachedToken {
        access_token: Secret::new(access),
        expires_at,
        refresh_token: Some(Secret::new(refresh)),
    }
}

/// The parts the manifest at `user` names, each read raw; panics if `user` holds no manifest.
fn raw_parts(store: &KeyringStore, user: &str) -> Vec<Option<Vec<u8>>> {
    let raw = store.read_raw(user, "test").unwrap().expect("an entry");
    let m = manifest(&raw).expect("the entry is a manifest");
    (1..=m.parts)
        .map(|i| {
            store
                .read_raw(&part_user(user, i), "test")
                .unwrap()
                .map(|b| b.to_vec())
        })
        .collect()
}

/// Parts 1 to `up_to` of `user` are gone (each check is a keyring round trip, hence a bound).
fn no_parts_left(store: &KeyringStore, user: &str, up_to: usize) {
    for i in 1..=up_to {
        assert_eq!(
            store.read_raw(&part_user(user, i), "test").unwrap(),
            None,
            "part {i} of {user} is left over"
        );
    }
}

#[test]
fn only_a_manifest_is_read_as_one() {
    let k = key("contoso", "alice@contoso.example");
    assert!(manifest(&encode(&k, &token(1, true)).unwrap()).is_none());
    assert!(manifest(br#"["a|b|c"]"#).is_none());
    assert!(manifest(b"{not json").is_none());
    let m = br#"{"v":3,"parts":2,"bytes":3000,"sha256":"00"}"#;
    assert_eq!(manifest(m).map(|m| m.parts), Some(2));
    for not_one in [
        &br#"{"v":2,"parts":2,"bytes":3000,"sha256":"00"}"#[..],
        br#"{"v":3,"parts":0,"bytes":0,"sha256":"00"}"#,
        br#"{"v":3,"parts":99,"bytes":3000,"sha256":"00"}"#,
        br#"{"v":3,"parts":2,"bytes":3000,"sha256":"00","access_token":"x"}"#,
    ] {
        assert!(manifest(not_one).is_none());
    }
}

#[test]
fn no_single_entry_is_larger_than_every_store_holds() {
    // Refused before any keyring is asked, so this holds without one.
    let store = KeyringStore::new(Backend::Keyutils, TEST_SERVICE);
    let err = store
        .write_verified("unused|user", &vec![b'x'; ENTRY_BYTES + 1], "a big value")
        .unwrap_err();
    assert!(err.to_string().contains("2560"), "{err}");
    let err = store
        .write_value(
            "unused|user",
            &vec![b'x'; MAX_PARTS * ENTRY_BYTES + 1],
            "a huge value",
        )
        .unwrap_err();
    assert!(err.to_string().contains("splits across"), "{err}");
}

#[test]
fn backend_long_tokens_are_split_into_entries_that_fit_every_store() {
    let Some((_guard, store)) =
        real_store("backend_long_tokens_are_split_into_entries_that_fit_every_store")
    else {
        return;
    };
    let k = unique_key("long");
    let t = long_token(1_900_000_000, "a");
    let encoded = encode(&k, &t).unwrap();
    assert!(encoded.len() > ENTRY_BYTES, "{}", encoded.len());
    store.put(&k, &t).unwrap();

    let parts = raw_parts(&store, &k.account());
    assert_eq!(parts.len(), encoded.len().div_ceil(ENTRY_BYTES));
    for part in &parts {
        let part = part.as_ref().expect("every part is there");
        assert!(part.len() <= ENTRY_BYTES, "{}", part.len());
    }
    let manifest_bytes = store.read_raw(&k.account(), "test").unwrap().unwrap();
    assert!(manifest_bytes.len() < 200);
    assert_no_secret(&String::from_utf8_lossy(&manifest_bytes));

    let fresh = open_keyring(TEST_SERVICE).unwrap();
    assert_eq!(fresh.get(&k).unwrap(), Some(t.clone()));
    let row = fresh.list().unwrap().into_iter().find(|l| l.key == k);
    assert_eq!(row.map(|r| r.has_refresh_token), Some(true));

    assert!(fresh.delete(&k).unwrap());
    assert_eq!(store.read_raw(&k.account(), "test").unwrap(), None);
    no_parts_left(&store, &k.account(), parts.len());
    assert_eq!(store.get(&k).unwrap(), None);
}

#[test]
fn backend_a_missing_or_foreign_part_reads_as_no_cache_and_is_cleaned_up() {
    let Some((_guard, store)) =
        real_store("backend_a_missing_or_foreign_part_reads_as_no_cache_and_is_cleaned_up")
    else {
        return;
    };
    let k = unique_key("broken");
    let account = k.account();
    let count = encode(&k, &long_token(100, "a"))
        .unwrap()
        .len()
        .div_ceil(ENTRY_BYTES);

    // A part lost (another tool, a write that never finished).
    store.put(&k, &long_token(100, "a")).unwrap();
    assert!(store.remove_raw(&part_user(&account, 2), "test").unwrap());
    assert_eq!(store.get(&k).unwrap(), None);
    assert_eq!(store.read_raw(&account, "test").unwrap(), None);
    no_parts_left(&store, &account, count);

    // A part from another write of the same length: the digest tells them apart.
    store.put(&k, &long_token(200, "a")).unwrap();
    let other = encode(&k, &long_token(200, "b")).unwrap();
    store
        .write_verified(&part_user(&account, 1), &other[..ENTRY_BYTES], "test")
        .unwrap();
    assert_eq!(store.get(&k).unwrap(), None, "never a wrong token");
    assert_eq!(store.read_raw(&account, "test").unwrap(), None);
    no_parts_left(&store, &account, count);

    // A dropped entry leaves the listing and the index on the next list.
    store.put(&k, &long_token(300, "a")).unwrap();
    assert!(store.remove_raw(&part_user(&account, 1), "test").unwrap());
    assert!(!store.list().unwrap().iter().any(|l| l.key == k));
    assert!(!store.read_index().unwrap().contains(&account));
    no_parts_left(&store, &account, count);

    store.put(&k, &long_token(400, "a")).unwrap();
    assert_eq!(store.get(&k).unwrap(), Some(long_token(400, "a")));
    assert!(store.delete(&k).unwrap());
}

#[test]
fn backend_a_shorter_value_leaves_no_old_parts_behind() {
    let Some((_guard, store)) = real_store("backend_a_shorter_value_leaves_no_old_parts_behind")
    else {
        return;
    };
    let k = unique_key("shrink");
    let account = k.account();
    store.put(&k, &long_token(100, "longer-seed")).unwrap();
    let before = raw_parts(&store, &account).len();

    let shorter = long_token(200, "s");
    store.put(&k, &shorter).unwrap();
    let after = raw_parts(&store, &account).len();
    assert!(after < before, "{after} parts after {before}");
    for i in after + 1..=before {
        assert_eq!(
            store.read_raw(&part_user(&account, i), "test").unwrap(),
            None
        );
    }
    assert_eq!(store.get(&k).unwrap(), Some(shorter));

    // Down to one entry: stored whole, as earlier versions did, with no parts left.
    store.put(&k, &token(300, true)).unwrap();
    let whole = store.read_raw(&account, "test").unwrap().unwrap();
    assert!(manifest(&whole).is_none());
    no_parts_left(&store, &account, after);
    assert_eq!(store.get(&k).unwrap(), Some(token(300, true)));

    // And back up again.
    store.put(&k, &long_token(400, "a")).unwrap();
    assert_eq!(store.get(&k).unwrap(), Some(long_token(400, "a")));
    assert!(store.delete(&k).unwrap());
    no_parts_left(&store, &account, before);
}

#[test]
fn backend_an_index_larger_than_one_entry_is_split_and_cleared() {
    let Some((_guard, store)) =
        real_store("backend_an_index_larger_than_one_entry_is_split_and_cleared")
    else {
        return;
    };
    let _ = store.clear();
    // Account strings of a few hundred bytes (many scopes): a handful outgrow one entry.
    let keys: Vec<CacheKey> = (0..7)
        .map(|i| {
            let mut k = unique_key(&format!("index-{i}"));
            k.scopes = (0..6)
                .map(|s| format!("https://outlook.office.com/Scope{s}.AccessAsUser.All"))
                .collect();
            k
        })
        .collect();
    for (i, k) in keys.iter().enumerate() {
        store.put(k, &token(1_000 + i as i64, false)).unwrap();
    }
    let index_bytes: usize = keys.iter().map(|k| k.account().len() + 3).sum();
    assert!(index_bytes > ENTRY_BYTES, "{index_bytes}");
    let index_parts = raw_parts(&store, INDEX_USER).len();
    assert!(index_parts >= 2);
    assert_eq!(store.read_index().unwrap().len(), keys.len());
    assert_eq!(store.list().unwrap().len(), keys.len());

    assert_eq!(store.clear().unwrap(), keys.len());
    assert_eq!(store.read_raw(INDEX_USER, "test").unwrap(), None);
    no_parts_left(&store, INDEX_USER, index_parts);
    assert!(store.list().unwrap().is_empty());
}
