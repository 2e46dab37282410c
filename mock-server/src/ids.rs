//! Identifiers: UUID-shaped ids (random, or derived from a name so they stay stable across
//! runs), opaque random codes, and the base64url/hex spellings of bytes used in JWTs and
//! thumbprints.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// `n` random bytes. ring's system RNG does not fail on supported platforms; if it ever
/// did, the bytes come from the clock and a counter (still unique, not secret).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = format!(
            "{}:{}",
            crate::clock::now_ms(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let hash = digest::digest(&digest::SHA256, seed.as_bytes());
        for (b, h) in bytes.iter_mut().zip(hash.as_ref().iter().cycle()) {
            *b = *h;
        }
    }
    bytes
}

/// A random version-4 UUID, lower-case.
pub(crate) fn random_uuid() -> String {
    let mut b: [u8; 16] = random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_string(&b)
}

/// A UUID-shaped id derived from `name` (SHA-256, version nibble 5): the same name always
/// gives the same id.
pub(crate) fn derived_uuid(name: &str) -> String {
    let hash = digest::digest(&digest::SHA256, name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_string(&b)
}

fn uuid_string(b: &[u8; 16]) -> String {
    let h = hex_lower(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `8-4-4-4-12` hex digits (either case).
pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An opaque random code: `prefix`, then 32 random bytes in base64url.
pub(crate) fn opaque(prefix: &str) -> String {
    let bytes: [u8; 32] = random_bytes();
    format!("{prefix}{}", b64url(&bytes))
}

/// Base64url without padding (RFC 7515 §2).
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Base64url without padding → bytes (padding tolerated).
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// Lower-case hex.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Upper-case hex, as Entra prints thumbprints.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        let a = random_uuid();
        assert!(is_uuid(&a), "{a}");
        assert_ne!(a, random_uuid());
        assert_eq!(&a[14..15], "4");
        let d = derived_uuid("user:alice@contoso.example");
        assert!(is_uuid(&d));
        assert_eq!(d, derived_uuid("user:alice@contoso.example"));
        assert_ne!(d, derived_uuid("user:bob@contoso.example"));
        assert!(is_uuid("8F0C2A55-5b1e-4c2b-9d3a-0c1f2e3d4a5b"));
        assert!(!is_uuid("8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5"));
        assert!(!is_uuid("contoso.example"));
        assert!(!is_uuid("8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5g"));
    }

    #[test]
    fn encodings() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64url_decode("-_8="), Some(vec![0xfb, 0xff]));
        assert_eq!(b64url_decode("+/8"), None);
        assert_eq!(hex_upper(&[0x8d, 0x32]), "8D32");
        assert_eq!(hex_lower(&[0x8d, 0x32]), "8d32");
        assert!(opaque("x.").starts_with("x."));
        assert_ne!(opaque(""), opaque(""));
    }
}
