//! PKCE (RFC 7636): the S256 transform and the check at code redemption. Pure.
//!
//! ```text
//! authorize:  code_challenge = BASE64URL(SHA256(ASCII(code_verifier))), method S256
//! token:      code_verifier  → recompute, compare
//! ```

use ring::digest;

use crate::ids;

/// `code_challenge_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    S256,
    Plain,
}

impl Method {
    /// `S256` / `plain` (RFC 7636 §4.3; absent means plain).
    pub fn parse(method: Option<&str>) -> Option<Method> {
        match method {
            Some("S256") => Some(Method::S256),
            Some("plain") | None => Some(Method::Plain),
            Some(_) => None,
        }
    }
}

/// BASE64URL(SHA256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    ids::b64url(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

/// Whether `verifier` (43–128 unreserved characters, RFC 7636 §4.1) answers `challenge`.
pub(crate) fn verify(challenge: &str, method: Method, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    match method {
        Method::S256 => s256(verifier) == challenge,
        Method::Plain => verifier == challenge,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256(verifier), challenge);
        assert!(verify(challenge, Method::S256, verifier));
        assert!(!verify(
            challenge,
            Method::S256,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"
        ));
        assert!(!verify(challenge, Method::Plain, verifier));
        assert!(verify(verifier, Method::Plain, verifier));
        assert!(!verify("short", Method::Plain, "short"), "too short");
        assert!(!verify(
            &s256(&"a b".repeat(20)),
            Method::S256,
            &"a b".repeat(20)
        ));
        assert_eq!(Method::parse(Some("S256")), Some(Method::S256));
        assert_eq!(Method::parse(None), Some(Method::Plain));
        assert_eq!(Method::parse(Some("s256")), None);
    }
}
