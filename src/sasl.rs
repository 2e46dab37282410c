//! SASL XOAUTH2 and OAUTHBEARER (RFC 7628) client messages, as pure functions, and the decoding
//! of a server's error challenge.
//!
//! ```text
//! XOAUTH2      C: base64("user=" U ^A "auth=Bearer " T ^A ^A)
//!              S: (Gmail, Dovecot) + base64({"status":"401",...})   C: ""     S: NO/535/-ERR
//!              S: (Exchange)       NO AUTHENTICATE failed.          (no challenge at all)
//! OAUTHBEARER  C: base64("n,a=" U "," ^A "host=" H ^A "port=" P ^A "auth=Bearer " T ^A ^A)
//!              S: + base64({"status":"invalid_token",...})          C: base64(^A) = "AQ=="
//! ```
//! The acknowledgement matters: a client that sends anything else after an error challenge
//! leaves the server waiting or gets a confusing BAD instead of the real failure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use crate::secret::Secret;

/// The OAuth SASL mechanisms xoauth speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mechanism {
    #[serde(rename = "XOAUTH2")]
    XOAuth2,
    #[serde(rename = "OAUTHBEARER")]
    OAuthBearer,
}

impl Mechanism {
    /// The name as servers advertise it (`AUTH=XOAUTH2`, `SASL XOAUTH2`, `AUTH XOAUTH2`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// What the client must answer to an error challenge so that the server finishes with its
    /// final failure reply: an empty response for XOAUTH2, a single 0x01 for OAUTHBEARER
    /// (RFC 7628 §3.2.3).
    pub fn error_acknowledgement(self) -> &'static [u8] {
        match self {
            Mechanism::XOAuth2 => b"",
            Mechanism::OAuthBearer => b"\x01",
        }
    }
}

/// Which mechanism to use: the one the user named, or the best one the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MechanismChoice {
    /// XOAUTH2 when offered (Exchange Online offers only that), else OAUTHBEARER.
    #[default]
    Auto,
    Only(Mechanism),
}

impl MechanismChoice {
    /// Picks a mechanism given what the server advertises; `None` when nothing fits.
    pub fn pick(self, offered: impl Fn(Mechanism) -> bool) -> Option<Mechanism> {
        match self {
            MechanismChoice::Only(m) => offered(m).then_some(m),
            MechanismChoice::Auto => [Mechanism::XOAuth2, Mechanism::OAuthBearer]
                .into_iter()
                .find(|&m| offered(m)),
        }
    }
}

/// Who the session is for and with which token. `authzid` is the mailbox to open, which for a
/// shared mailbox is the shared address while the token stays the caller's.
pub struct Credentials<'a> {
    pub authzid: &'a str,
    pub token: &'a Secret<String>,
    /// Server host and port, sent by OAUTHBEARER only (RFC 7628 §3.1, optional kvpairs).
    pub host: Option<&'a str>,
    pub port: Option<u16>,
}

/// Input that cannot be put into a SASL message without changing its meaning.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SaslError {
    #[error("the {0} contains a control character (0x01 separates SASL fields)")]
    ControlCharacter(&'static str),
    #[error("the {0} is empty")]
    Empty(&'static str),
}

fn check(field: &'static str, value: &str) -> Result<(), SaslError> {
    if value.is_empty() {
        return Err(SaslError::Empty(field));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(SaslError::ControlCharacter(field));
    }
    Ok(())
}

/// The raw (pre-base64) client message for `mechanism`.
pub fn initial_response_raw(
    mechanism: Mechanism,
    creds: &Credentials<'_>,
) -> Result<Secret<Vec<u8>>, SaslError> {
    check("user", creds.authzid)?;
    check("access token", creds.token.expose())?;
    if let Some(host) = creds.host {
        check("host", host)?;
    }
    let token = creds.token.expose().as_bytes();
    // Built in one buffer sized up front: a `format!` temporary, or a buffer that grows and
    // leaves its old copy behind, would put the token where no wipe reaches it.
    let authzid = match mechanism {
        Mechanism::XOAuth2 => creds.authzid.to_string(),
        Mechanism::OAuthBearer => gs2_escape(creds.authzid),
    };
    let host = creds.host.unwrap_or("");
    let port = creds.port.map(|p| p.to_string()).unwrap_or_default();
    let capacity = 64 + authzid.len() + host.len() + token.len();
    let mut raw = Vec::with_capacity(capacity);
    match mechanism {
        Mechanism::XOAuth2 => {
            raw.extend_from_slice(b"user=");
            raw.extend_from_slice(authzid.as_bytes());
            raw.push(0x01);
        }
        Mechanism::OAuthBearer => {
            raw.extend_from_slice(b"n,a=");
            raw.extend_from_slice(authzid.as_bytes());
            raw.push(b',');
            if creds.host.is_some() {
                raw.extend_from_slice(b"\x01host=");
                raw.extend_from_slice(host.as_bytes());
            }
            if creds.port.is_some() {
                raw.extend_from_slice(b"\x01port=");
                raw.extend_from_slice(port.as_bytes());
            }
            raw.push(0x01);
        }
    }
    raw.extend_from_slice(b"auth=Bearer ");
    raw.extend_from_slice(token);
    raw.extend_from_slice(b"\x01\x01");
    debug_assert_eq!(
        raw.capacity(),
        capacity,
        "the buffer grew and left a copy behind"
    );
    Ok(Secret::new(raw))
}

/// The base64 client message, as sent on the wire after `AUTHENTICATE XOAUTH2 ` or `AUTH XOAUTH2 `.
pub fn initial_response(
    mechanism: Mechanism,
    creds: &Credentials<'_>,
) -> Result<Secret<String>, SaslError> {
    let raw = initial_response_raw(mechanism, creds)?;
    Ok(Secret::new(B64.encode(raw.expose())))
}

/// RFC 5801 saslname: `,` and `=` must be escaped in the gs2 header.
fn gs2_escape(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// A server's error challenge after a rejected token, decoded for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorChallenge {
    /// The challenge exactly as received (base64 text; not secret).
    pub raw: String,
    /// The decoded text when it was valid base64 and UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// The decoded text parsed as JSON (RFC 7628 §3.2.2 says it is a JSON object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
}

impl ErrorChallenge {
    /// `status` from the JSON (`"401"`, `"400"`, `"invalid_token"`), when present.
    pub fn status(&self) -> Option<&str> {
        self.json.as_ref()?.get("status")?.as_str()
    }

    pub fn scope(&self) -> Option<&str> {
        self.json.as_ref()?.get("scope")?.as_str()
    }
}

/// Decodes a challenge sent after the client's initial response. Never fails: what cannot be
/// decoded is still reported as received.
pub fn decode_error_challenge(raw: &str) -> ErrorChallenge {
    let raw = raw.trim();
    let decoded = B64
        .decode(raw)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let json = decoded
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text.trim()).ok())
        .filter(|v| v.is_object());
    ErrorChallenge {
        raw: raw.to_string(),
        decoded,
        json,
    }
}

/// Same, for a challenge the protocol layer already base64-decoded (async-imap does).
pub fn error_challenge_from_bytes(bytes: &[u8]) -> ErrorChallenge {
    decode_error_challenge(&B64.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(user: &'a str, token: &'a Secret<String>) -> Credentials<'a> {
        Credentials {
            authzid: user,
            token,
            host: None,
            port: None,
        }
    }

    /// Reference section D, Microsoft's worked example.
    #[test]
    fn xoauth2_microsoft_worked_example() {
        let token = Secret::new("EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA".to_string());
        let ir = initial_response(
            Mechanism::XOAuth2,
            &creds("test@contoso.onmicrosoft.com", &token),
        )
        .unwrap();
        assert_eq!(
            ir.expose(),
            "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ=="
        );
    }

    /// Reference section D, Google's worked example.
    #[test]
    fn xoauth2_google_worked_example() {
        let token = Secret::new("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg".to_string());
        let ir =
            initial_response(Mechanism::XOAuth2, &creds("someuser@example.com", &token)).unwrap();
        assert_eq!(
            ir.expose(),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
    }

    /// Reference section D: curl's test845 vector for OAUTHBEARER with host and port.
    #[test]
    fn oauthbearer_rfc7628_layout() {
        let token = Secret::new("mF_9.B5f-4.1JqM".to_string());
        let c = Credentials {
            authzid: "user",
            token: &token,
            host: Some("127.0.0.1"),
            port: Some(993),
        };
        let raw = initial_response_raw(Mechanism::OAuthBearer, &c).unwrap();
        assert_eq!(
            raw.expose().as_slice(),
            b"n,a=user,\x01host=127.0.0.1\x01port=993\x01auth=Bearer mF_9.B5f-4.1JqM\x01\x01"
        );
        assert_eq!(
            initial_response(Mechanism::OAuthBearer, &c)
                .unwrap()
                .expose(),
            "bixhPXVzZXIsAWhvc3Q9MTI3LjAuMC4xAXBvcnQ9OTkzAWF1dGg9QmVhcmVyIG1GXzkuQjVmLTQuMUpxTQEB"
        );
    }

    #[test]
    fn oauthbearer_escapes_gs2_specials() {
        let token = Secret::new("t".to_string());
        let raw = initial_response_raw(Mechanism::OAuthBearer, &creds("a,b=c@x.example", &token))
            .unwrap();
        assert!(raw.expose().starts_with(b"n,a=a=2Cb=3Dc@x.example,\x01"));
    }

    /// The longest fields still fit the buffer sized up front (the build asserts it never
    /// grows, which would leave an unwiped copy of the token behind).
    #[test]
    fn the_message_buffer_never_grows() {
        let token = Secret::new("t".repeat(5000));
        let user = ",=".repeat(200) + "@x.example";
        let host = "h".repeat(253);
        for mechanism in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
            let c = Credentials {
                authzid: &user,
                token: &token,
                host: Some(&host),
                port: Some(65535),
            };
            let raw = initial_response_raw(mechanism, &c).unwrap();
            assert!(raw.expose().ends_with(b"\x01\x01"));
        }
    }

    #[test]
    fn rejects_field_separators_and_empty_values() {
        let token = Secret::new("abc\x01def".to_string());
        assert_eq!(
            initial_response(Mechanism::XOAuth2, &creds("u@x", &token)).unwrap_err(),
            SaslError::ControlCharacter("access token")
        );
        let token = Secret::new("abc".to_string());
        assert_eq!(
            initial_response(Mechanism::XOAuth2, &creds("", &token)).unwrap_err(),
            SaslError::Empty("user")
        );
        assert!(initial_response(Mechanism::XOAuth2, &creds("u@x\r\n", &token)).is_err());
    }

    /// Reference C4: the challenge Gmail documents and the one it really sends.
    #[test]
    fn decodes_gmail_error_challenges() {
        let doc = decode_error_challenge(
            "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K",
        );
        assert_eq!(doc.status(), Some("401"));
        assert_eq!(doc.scope(), Some("https://mail.google.com/"));
        let real = decode_error_challenge(
            "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
        );
        assert_eq!(real.status(), Some("400"));
        assert_eq!(
            real.decoded.as_deref(),
            Some(r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#)
        );
    }

    #[test]
    fn oauthbearer_error_challenge_and_acknowledgement() {
        let json = r#"{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}"#;
        let c = error_challenge_from_bytes(json.as_bytes());
        assert_eq!(c.status(), Some("invalid_token"));
        assert_eq!(
            B64.encode(Mechanism::OAuthBearer.error_acknowledgement()),
            "AQ=="
        );
        assert_eq!(Mechanism::XOAuth2.error_acknowledgement(), b"");
    }

    #[test]
    fn undecodable_challenges_are_kept_verbatim() {
        let c = decode_error_challenge("Ready for more");
        assert_eq!(c.raw, "Ready for more");
        assert!(c.decoded.is_none() && c.json.is_none());
        let c = error_challenge_from_bytes(b"not json");
        assert_eq!(c.decoded.as_deref(), Some("not json"));
        assert!(c.json.is_none());
    }
}
