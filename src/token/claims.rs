//! The access token's claims, decoded for diagnosis: who it is for (`aud`), what it allows
//! (`scp` for delegated tokens, `roles` for app-only ones), whose it is (`upn`, `oid`, `appid`),
//! which tenant (`tid`) and until when (`exp`).
//!
//! The signature is deliberately not checked: the client has no reason to trust or distrust the
//! token (the server decides), and reading the claims must work for tokens from any issuer.
//! A token that is not a JWT (Google's `ya29.` tokens, opaque tokens) simply has no claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};

/// The claims xoauth reports. Every field is optional: issuers differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// v1 tokens carry `appid`, v2 tokens `azp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_displayname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Delegated permissions, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Application permissions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// `aud` may be a string or a list (RFC 7519 §4.1.3); a list is shown joined.
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<Aud>::deserialize(d)?.map(|a| match a {
        Aud::One(s) => s,
        Aud::Many(v) => v.join(" "),
    }))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClaimsError {
    #[error("the token is not a JWT (not three dot-separated parts), so it has no readable claims")]
    NotJwt,
    #[error("the token's payload is not base64url JSON: {0}")]
    BadPayload(String),
}

/// Decodes the payload of a compact JWS (`header.payload.signature`).
pub fn decode(token: &str) -> Result<Claims, ClaimsError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimsError::NotJwt);
    };
    let bytes = B64URL
        .decode(payload.trim_end_matches('='))
        .map_err(|e| ClaimsError::BadPayload(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ClaimsError::BadPayload(e.to_string()))
}

impl Claims {
    /// The signed-in user's name, whichever claim carries it.
    pub fn user(&self) -> Option<&str> {
        self.upn
            .as_deref()
            .or(self.preferred_username.as_deref())
            .or(self.unique_name.as_deref())
            .or(self.email.as_deref())
    }

    pub fn app_id(&self) -> Option<&str> {
        self.appid.as_deref().or(self.azp.as_deref())
    }

    /// App-only tokens have no user and no delegated scopes.
    pub fn is_app_only(&self) -> bool {
        self.idtyp.as_deref() == Some("app") || (self.scp.is_none() && self.user().is_none())
    }

    pub fn scopes(&self) -> Vec<&str> {
        self.scp
            .as_deref()
            .map(|s| s.split_ascii_whitespace().collect())
            .unwrap_or_default()
    }

    /// One line for the human report.
    pub fn summary(&self, now: i64) -> String {
        let mut parts = Vec::new();
        if let Some(aud) = &self.aud {
            parts.push(format!("aud {aud}"));
        }
        if let Some(scp) = &self.scp {
            parts.push(format!("scp {scp}"));
        }
        if !self.roles.is_empty() {
            parts.push(format!("roles {}", self.roles.join(" ")));
        }
        if let Some(user) = self.user() {
            parts.push(format!("user {user}"));
        }
        if let Some(app) = self.app_id() {
            parts.push(format!("app {app}"));
        }
        if let Some(tid) = &self.tid {
            parts.push(format!("tid {tid}"));
        }
        if let Some(oid) = &self.oid {
            parts.push(format!("oid {oid}"));
        }
        if let Some(exp) = self.exp {
            let left = exp - now;
            let when = if left >= 0 {
                format!("in {} min", left / 60)
            } else {
                format!("EXPIRED {} min ago", -left / 60)
            };
            parts.push(format!(
                "expires {} ({when})",
                crate::transport::util::rfc3339(exp)
            ));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            B64URL.encode(r#"{"typ":"JWT","alg":"RS256"}"#),
            B64URL.encode(payload)
        )
    }

    /// Reference B: the decoded app-only Exchange token from MailKit#1811.
    #[test]
    fn app_only_exchange_token() {
        let c = decode(&jwt(
            r#"{"aud":"https://ps.outlook.com","iss":"https://sts.windows.net/t-1/","iat":1700000000,"nbf":1700000000,"exp":1700003900,"appid":"c-1","appidacr":"1","idp":"https://sts.windows.net/t-1/","idtyp":"app","oid":"sp-1","roles":["IMAP.AccessAsApp","SMTP.SendAsApp"],"sub":"sp-1","tid":"t-1","ver":"1.0"}"#,
        ))
        .unwrap();
        assert_eq!(c.aud.as_deref(), Some("https://ps.outlook.com"));
        assert_eq!(c.roles, ["IMAP.AccessAsApp", "SMTP.SendAsApp"]);
        assert!(c.is_app_only());
        assert_eq!(c.app_id(), Some("c-1"));
        assert_eq!(c.user(), None);
        let s = c.summary(1_700_000_000);
        assert!(
            s.contains("roles IMAP.AccessAsApp SMTP.SendAsApp") && s.contains("in 65 min"),
            "{s}"
        );
    }

    #[test]
    fn delegated_token_and_list_audience() {
        let c = decode(&jwt(
            r#"{"aud":["https://outlook.office.com","x"],"scp":"IMAP.AccessAsUser.All SMTP.Send","upn":"alice@contoso.example","azp":"c-2","exp":100}"#,
        ))
        .unwrap();
        assert_eq!(c.aud.as_deref(), Some("https://outlook.office.com x"));
        assert_eq!(c.scopes(), ["IMAP.AccessAsUser.All", "SMTP.Send"]);
        assert!(!c.is_app_only());
        assert_eq!(c.user(), Some("alice@contoso.example"));
        assert_eq!(c.app_id(), Some("c-2"));
        assert!(c.summary(700).contains("EXPIRED 10 min ago"));
    }

    #[test]
    fn opaque_and_broken_tokens() {
        assert_eq!(decode("ya29.a0AfH6SMBx"), Err(ClaimsError::NotJwt));
        assert_eq!(decode("a.b.c.d"), Err(ClaimsError::NotJwt));
        assert!(matches!(decode("a.!!!.c"), Err(ClaimsError::BadPayload(_))));
        assert!(matches!(
            decode(&format!("a.{}.c", B64URL.encode("not json"))),
            Err(ClaimsError::BadPayload(_))
        ));
        // Padding some issuers leave on is tolerated.
        let padded = format!("a.{}==.c", B64URL.encode(r#"{"tid":"t"}"#));
        assert_eq!(decode(&padded).unwrap().tid.as_deref(), Some("t"));
    }
}
