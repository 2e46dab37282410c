//! SASL bearer-token messages as a server sees them: XOAUTH2 and OAUTHBEARER (RFC 7628)
//! decoding, and the error-challenge JSON a server sends back. Pure; shared by IMAP, POP3
//! and SMTP.
//!
//! ```text
//! XOAUTH2:     user=<addr> ^A auth=Bearer <token> ^A ^A
//! OAUTHBEARER: n,a=<addr>, ^A host=<h> ^A port=<p> ^A auth=Bearer <token> ^A ^A
//! ```
//! The decoders take the bytes *after* base64 decoding; transports do the base64.

use std::fmt;

/// Exchange's OAUTHBEARER error challenge (RFC 7628 §3.2.2 JSON).
pub(crate) const OAUTHBEARER_ERROR_JSON: &str = r#"{"status":"invalid_token","scope":"https://outlook.office.com/IMAP.AccessAsUser.All","openid-configuration":"https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"}"#;

/// Gmail's XOAUTH2 error challenge, as seen in the field (reference C4).
pub(crate) const GMAIL_XOAUTH2_ERROR_JSON: &str =
    r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;

/// The credentials carried by an XOAUTH2 or OAUTHBEARER message.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BearerCredentials {
    /// `user=` (XOAUTH2) or the gs2 `a=` authzid (OAUTHBEARER, optional there).
    pub user: Option<String>,
    /// The bearer token. Never printed by `Debug`.
    pub token: String,
}

impl fmt::Debug for BearerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerCredentials")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Why a SASL message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SaslError {
    /// Not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// The message does not end in `^A^A` or a key/value pair is not `key=value`.
    #[error("bad framing: {0}")]
    Framing(&'static str),
    /// A required key is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// `auth=` is not `Bearer <token>`.
    #[error("auth is not 'Bearer <token>'")]
    NotBearer,
}

/// Decodes `user=<addr>\x01auth=Bearer <token>\x01\x01`.
pub(crate) fn decode_xoauth2(raw: &[u8]) -> Result<BearerCredentials, SaslError> {
    let text = std::str::from_utf8(raw).map_err(|_| SaslError::NotUtf8)?;
    let pairs = text
        .strip_suffix("\x01\x01")
        .ok_or(SaslError::Framing("must end with ^A^A"))?;
    let (user, token) = bearer_from_pairs(pairs)?;
    let user = user.ok_or(SaslError::Missing("user="))?;
    Ok(BearerCredentials {
        user: Some(user),
        token,
    })
}

/// Decodes `<gs2-header>\x01<kvpairs>\x01` (RFC 7628 §3.1), e.g. `n,a=u@x,\x01auth=Bearer t\x01\x01`.
pub(crate) fn decode_oauthbearer(raw: &[u8]) -> Result<BearerCredentials, SaslError> {
    let text = std::str::from_utf8(raw).map_err(|_| SaslError::NotUtf8)?;
    let (gs2, rest) = text
        .split_once('\x01')
        .ok_or(SaslError::Framing("no ^A after the gs2 header"))?;
    let pairs = rest
        .strip_suffix("\x01\x01")
        .ok_or(SaslError::Framing("must end with ^A^A"))?;
    let user = gs2_authzid(gs2)?;
    let (_, token) = bearer_from_pairs(pairs)?;
    Ok(BearerCredentials { user, token })
}

/// gs2-header = gs2-cbind-flag "," [ authzid ] "," ; flag n or y (no channel binding).
fn gs2_authzid(gs2: &str) -> Result<Option<String>, SaslError> {
    let mut parts = gs2.split(',');
    match parts.next() {
        Some("n") | Some("y") => {}
        _ => return Err(SaslError::Framing("gs2 header must start with n, or y,")),
    }
    let authzid = parts.next().ok_or(SaslError::Framing("gs2 header"))?;
    if parts.next() != Some("") || parts.next().is_some() {
        return Err(SaslError::Framing("gs2 header must be 'n,a=<user>,'"));
    }
    if authzid.is_empty() {
        return Ok(None);
    }
    let escaped = authzid
        .strip_prefix("a=")
        .ok_or(SaslError::Framing("gs2 authzid must be a=<user>"))?;
    unescape_saslname(escaped).map(Some)
}

/// RFC 5801 saslname: `=2C` is ',' and `=3D` is '='; any other '=' is an error.
fn unescape_saslname(s: &str) -> Result<String, SaslError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("=2C") {
            out.push(',');
        } else if tail.starts_with("=3D") {
            out.push('=');
        } else {
            return Err(SaslError::Framing("bad '=' escape in authzid"));
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Finds `user=` and `auth=Bearer <token>` among `\x01`-separated pairs.
fn bearer_from_pairs(pairs: &str) -> Result<(Option<String>, String), SaslError> {
    let mut user = None;
    let mut auth = None;
    for pair in pairs.split('\x01') {
        let (key, value) = pair
            .split_once('=')
            .ok_or(SaslError::Framing("key/value pair without '='"))?;
        match key {
            "user" => user = Some(value.to_owned()),
            "auth" => auth = Some(value),
            _ => {} // host=, port=, ... are allowed and ignored.
        }
    }
    let auth = auth.ok_or(SaslError::Missing("auth="))?;
    let (scheme, token) = auth.split_once(' ').ok_or(SaslError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("Bearer") || token.is_empty() {
        return Err(SaslError::NotBearer);
    }
    Ok((user, token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn xoauth2_microsoft_worked_example() {
        // [EXO-OAUTH] worked example.
        let b64 = "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ==";
        let raw = STANDARD.decode(b64).expect("valid base64");
        let c = decode_xoauth2(&raw).expect("valid XOAUTH2");
        assert_eq!(c.user.as_deref(), Some("test@contoso.onmicrosoft.com"));
        assert_eq!(c.token, "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA");
    }

    #[test]
    fn xoauth2_rejects_malformed() {
        assert_eq!(
            decode_xoauth2(b"user=a@b\x01auth=Bearer t\x01"),
            Err(SaslError::Framing("must end with ^A^A"))
        );
        assert_eq!(
            decode_xoauth2(b"auth=Bearer t\x01\x01"),
            Err(SaslError::Missing("user="))
        );
        assert_eq!(
            decode_xoauth2(b"user=a@b\x01\x01"),
            Err(SaslError::Missing("auth="))
        );
        assert_eq!(
            decode_xoauth2(b"user=a@b\x01junk\x01auth=Bearer t\x01\x01"),
            Err(SaslError::Framing("key/value pair without '='"))
        );
        assert_eq!(
            decode_xoauth2(b"user=a@b\x01auth=Basic dXNlcjpwdw==\x01\x01"),
            Err(SaslError::NotBearer)
        );
        assert_eq!(
            decode_xoauth2(b"user=a@b\x01auth=Bearer \x01\x01"),
            Err(SaslError::NotBearer)
        );
        assert_eq!(decode_xoauth2(b"\xff\x01\x01"), Err(SaslError::NotUtf8));
        assert!(decode_xoauth2(b"").is_err());
    }

    #[test]
    fn xoauth2_debug_redacts_the_token() {
        let c = decode_xoauth2(b"user=a@b\x01auth=Bearer secret-123\x01\x01").expect("valid");
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-123"), "{shown}");
        assert!(shown.contains("a@b"));
    }

    #[test]
    fn oauthbearer_curl_example() {
        // curl test845: n,a=user,^Ahost=127.0.0.1^Aport=...^Aauth=Bearer mF_9.B5f-4.1JqM^A^A
        let c = decode_oauthbearer(
            b"n,a=user,\x01host=127.0.0.1\x01port=993\x01auth=Bearer mF_9.B5f-4.1JqM\x01\x01",
        )
        .expect("valid OAUTHBEARER");
        assert_eq!(c.user.as_deref(), Some("user"));
        assert_eq!(c.token, "mF_9.B5f-4.1JqM");
    }

    #[test]
    fn oauthbearer_variants() {
        let c = decode_oauthbearer(b"n,,\x01auth=Bearer t\x01\x01").expect("no authzid is ok");
        assert_eq!(c.user, None);
        let c = decode_oauthbearer(b"y,a=we=2Cird=3Dname@x,\x01auth=bearer t\x01\x01")
            .expect("escaped authzid");
        assert_eq!(c.user.as_deref(), Some("we,ird=name@x"));
        assert!(decode_oauthbearer(b"p=tls-unique,,\x01auth=Bearer t\x01\x01").is_err());
        assert!(decode_oauthbearer(b"n,a=u,\x01auth=Bearer t\x01").is_err());
        assert!(decode_oauthbearer(b"n,a=u\x01auth=Bearer t\x01\x01").is_err());
        assert!(decode_oauthbearer(b"n,a=u=XX,\x01auth=Bearer t\x01\x01").is_err());
        assert!(decode_oauthbearer(b"n,a=u,\x01host=h\x01\x01").is_err());
        assert!(decode_oauthbearer(b"").is_err());
    }

    #[test]
    fn challenges_are_the_documented_json() {
        assert_eq!(
            STANDARD.encode(GMAIL_XOAUTH2_ERROR_JSON),
            "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
        );
        assert!(OAUTHBEARER_ERROR_JSON.starts_with(r#"{"status":"invalid_token""#));
    }
}
