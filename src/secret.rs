//! One redacting wrapper for everything that must never reach output: access tokens, SASL
//! initial responses, client secrets, refresh tokens, certificate passwords and private keys.
//!
//! `Debug` prints `<redacted>` and there is deliberately no `Display` or `Serialize`: the only
//! way to the bytes is [`Secret::expose`], which is easy to grep for in review.

use std::fmt;

/// The text shown wherever a secret would have been.
pub const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself. Callers pass it straight to the wire, never to a formatter.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
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
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("eyJ0eXAiOiJKV1QiLCJhbGciOi".to_string());
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("eyJ0"), "{shown}");
        assert!(shown.contains(REDACTED));
        assert_eq!(s.expose(), "eyJ0eXAiOiJKV1QiLCJhbGciOi");
    }
}
