//! One redacting wrapper for everything that must never reach output: access tokens, SASL
//! initial responses, client secrets, refresh tokens, certificate passwords and private keys.
//!
//! `Debug` prints `<redacted>` and there is deliberately no `Display` or `Serialize`: the only
//! way to the bytes is [`Secret::expose`], which is easy to grep for in review. Dropping a
//! secret overwrites its bytes ([`zeroize`]), so a freed token does not linger in the heap for
//! a core dump or a swapped page to show.

use std::fmt;

use zeroize::Zeroize;

/// The text shown wherever a secret would have been.
pub const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself. Callers pass it straight to the wire, never to a formatter.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("eyJ0eXAiOiJKV1QiLCJhbGciOi".to_string());
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("eyJ0"), "{shown}");
        assert!(shown.contains(REDACTED));
        assert_eq!(s.expose(), "eyJ0eXAiOiJKV1QiLCJhbGciOi");
    }

    /// Counts how often it is wiped.
    struct Probe(Arc<AtomicUsize>);

    impl Zeroize for Probe {
        fn zeroize(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn dropping_a_secret_wipes_it_once() {
        let wiped = Arc::new(AtomicUsize::new(0));
        let secret = Secret::new(Probe(wiped.clone()));
        assert_eq!(wiped.load(Ordering::SeqCst), 0);
        drop(secret);
        assert_eq!(wiped.load(Ordering::SeqCst), 1);
    }

    /// The wipe `Drop` relies on really clears the kinds of secret xoauth holds.
    #[test]
    fn the_wipe_clears_strings_and_bytes() {
        let mut s = "mock-secret-valid-0001".to_string();
        s.zeroize();
        assert!(s.is_empty());
        let mut b = b"user=a\x01auth=Bearer t\x01\x01".to_vec();
        b.zeroize();
        assert!(b.is_empty());
    }
}
