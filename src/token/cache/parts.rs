//! Values larger than one keyring entry holds everywhere: split across numbered part entries
//! (`<user>|part-1`, `<user>|part-2`, …) under a small manifest entry at the value's own name,
//! `{"v":3,"parts":N,"bytes":L,"sha256":"…"}`. The Windows Credential Manager caps a
//! credential at 2,560 bytes and a Microsoft access token with its refresh token is longer, so
//! every platform splits at that size: the Linux tests exercise the same layout Windows uses.
//!
//! A value that fits is stored as it is (the format of earlier versions). Parts are written
//! before the manifest, which is what makes a new value visible; a reader checks the parts
//! against the manifest's length and digest, so a missing or foreign part (a lost write,
//! another process half-way through) reads as no value and is deleted: never a wrong token.

use ring::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::CacheError;
use super::store::KeyringStore;

/// The most bytes one keyring entry holds on every platform: the Windows Credential Manager's
/// `CRED_MAX_CREDENTIAL_BLOB_SIZE` (5 × 512). Used on every platform, never only on Windows.
pub(super) const ENTRY_BYTES: usize = 2_560;

/// At most this many parts (80 KiB): tokens are a few KiB, so more is a fault, not a token.
pub(super) const MAX_PARTS: usize = 32;

/// Distinct from the token record's version (2), so neither is mistaken for the other.
const MANIFEST_VERSION: u32 = 3;

/// Names no secret: only how many parts, how long, and their digest.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(super) struct Manifest {
    v: u32,
    pub(super) parts: usize,
    bytes: usize,
    sha256: String,
}

pub(super) fn part_user(user: &str, index: usize) -> String {
    format!("{user}|part-{index}")
}

fn sha256_hex(bytes: &[u8]) -> String {
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest in an entry's bytes, if they are one; a token record or an index never is.
pub(super) fn manifest(bytes: &[u8]) -> Option<Manifest> {
    serde_json::from_slice::<Manifest>(bytes)
        .ok()
        .filter(|m| m.v == MANIFEST_VERSION && (1..=MAX_PARTS).contains(&m.parts))
}

impl KeyringStore {
    /// Stores `bytes` under `user`, split when they do not fit one entry; every entry is read
    /// back (`write_verified`). Parts a longer earlier value left behind are deleted after.
    pub(super) fn write_value(
        &self,
        user: &str,
        bytes: &[u8],
        what: &str,
    ) -> Result<(), CacheError> {
        let count = bytes.len().div_ceil(ENTRY_BYTES);
        if count > MAX_PARTS {
            return Err(CacheError::Backend(format!(
                "{what} is {} bytes, more than the {} the cache splits across keyring entries",
                bytes.len(),
                MAX_PARTS * ENTRY_BYTES
            )));
        }
        let old_parts = self.parts_of(user, what)?;
        let new_parts = if count <= 1 {
            self.write_verified(user, bytes, what)?;
            0
        } else {
            for (i, chunk) in bytes.chunks(ENTRY_BYTES).enumerate() {
                let part = format!("part {} of {count} of {what}", i + 1);
                self.write_verified(&part_user(user, i + 1), chunk, &part)?;
            }
            let manifest = Manifest {
                v: MANIFEST_VERSION,
                parts: count,
                bytes: bytes.len(),
                sha256: sha256_hex(bytes),
            };
            let encoded = serde_json::to_vec(&manifest).map_err(|e| {
                CacheError::Backend(format!("cannot encode the manifest of {what}: {e}"))
            })?;
            self.write_verified(user, &encoded, &format!("the manifest of {what}"))?;
            count
        };
        for index in new_parts + 1..=old_parts {
            self.remove_raw(&part_user(user, index), &format!("an old part of {what}"))?;
        }
        Ok(())
    }

    /// The value under `user`, joined from its parts if it was split. Parts that do not add up
    /// to what the manifest says make the value missing, and are deleted with the manifest.
    pub(super) fn read_value(
        &self,
        user: &str,
        what: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, CacheError> {
        let Some(raw) = self.read_raw(user, what)? else {
            return Ok(None);
        };
        let Some(manifest) = manifest(&raw) else {
            return Ok(Some(raw));
        };
        let mut joined = Zeroizing::new(Vec::with_capacity(manifest.bytes));
        let mut whole = true;
        for index in 1..=manifest.parts {
            match self.read_raw(&part_user(user, index), what)? {
                Some(part) if joined.len() + part.len() <= manifest.bytes => {
                    joined.extend_from_slice(&part)
                }
                _ => {
                    whole = false;
                    break;
                }
            }
        }
        if whole && joined.len() == manifest.bytes && sha256_hex(&joined) == manifest.sha256 {
            return Ok(Some(joined));
        }
        self.remove_parts(user, manifest.parts, what)?;
        self.remove_raw(user, &format!("the manifest of {what}"))?;
        Ok(None)
    }

    /// Deletes the value and its parts; `Ok(true)` if there was one.
    pub(super) fn remove_value(&self, user: &str, what: &str) -> Result<bool, CacheError> {
        let parts = self.parts_of(user, what)?;
        self.remove_parts(user, parts, what)?;
        self.remove_raw(user, what)
    }

    /// How many parts the entry at `user` names: 0 for a value stored whole or none.
    fn parts_of(&self, user: &str, what: &str) -> Result<usize, CacheError> {
        Ok(self
            .read_raw(user, what)?
            .and_then(|raw| manifest(&raw))
            .map_or(0, |m| m.parts))
    }

    fn remove_parts(&self, user: &str, parts: usize, what: &str) -> Result<(), CacheError> {
        for index in 1..=parts {
            self.remove_raw(&part_user(user, index), &format!("a part of {what}"))?;
        }
        Ok(())
    }
}
