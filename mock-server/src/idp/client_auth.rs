//! Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2): which
//! credential the client presented (none, `client_secret`, HTTP Basic, `client_assertion`),
//! which app it names, and whether the credential is right for that app.
//!
//! ```text
//! public client:        no credential                  → appidacr "0"  (credential → 700025)
//! confidential client:  secret (body or Basic)         → appidacr "1"  (7000215 / 7000222)
//!                       client_assertion (certificate) → appidacr "2"  (see assertion.rs)
//!                       nothing                        → 7000218
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::assertion;
use super::errors::{self, AadError};
use super::params::{self, Params};
use super::records::ClientAuth;
use crate::directory::{App, Directory};
use crate::jwt::Jws;

/// RFC 7523 client assertion type.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the client presented, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Presented {
    /// `client_id` from the body, else the Basic user name, else the assertion's `iss`.
    pub client_id: Option<String>,
    /// `client_id` exactly as the body had it (for the record and the 700021 check).
    pub body_client_id: Option<String>,
    pub kind: ClientAuth,
    credential: Credential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Credential {
    None,
    Secret(String),
    Assertion { kind: Option<String>, jwt: String },
}

/// Reads the credential from the body and the `Authorization` header. The assertion wins
/// over a body secret, which wins over Basic.
pub(crate) fn presented(params: &Params, authorization: Option<&str>) -> Presented {
    let body_client_id = params.non_empty("client_id").map(str::to_owned);
    let basic = authorization.and_then(basic_credentials);
    let (kind, credential) = if let Some(jwt) = params.non_empty("client_assertion") {
        let kind = params.get("client_assertion_type").map(str::to_owned);
        (
            ClientAuth::Assertion,
            Credential::Assertion {
                kind,
                jwt: jwt.to_owned(),
            },
        )
    } else if let Some(secret) = params.non_empty("client_secret") {
        (ClientAuth::Secret, Credential::Secret(secret.to_owned()))
    } else if let Some((_, secret)) = &basic {
        (ClientAuth::Basic, Credential::Secret(secret.clone()))
    } else {
        (ClientAuth::None, Credential::None)
    };
    let assertion_iss = match &credential {
        Credential::Assertion { jwt, .. } => Jws::decode(jwt)
            .ok()
            .and_then(|j| j.claim_str("iss").map(str::to_owned)),
        _ => None,
    };
    let client_id = body_client_id
        .clone()
        .or_else(|| basic.map(|(id, _)| id))
        .or(assertion_iss);
    Presented {
        client_id,
        body_client_id,
        kind,
        credential,
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, b64) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((
        params::decode(id.as_bytes()),
        params::decode(secret.as_bytes()),
    ))
}

/// A client that passed authentication.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated<'a> {
    pub app: &'a App,
    /// `appidacr`: `"0"` public, `"1"` secret, `"2"` certificate.
    pub appidacr: &'static str,
}

/// Checks the presented credential. `directory_name` names the tenant in AADSTS700016;
/// `audiences` are the token endpoint URLs a client assertion may be addressed to.
pub(crate) fn authenticate<'a>(
    presented: &Presented,
    directory: &'a Directory,
    directory_name: &str,
    audiences: &[String],
    now: i64,
) -> Result<Authenticated<'a>, AadError> {
    let client_id = presented
        .client_id
        .as_deref()
        .ok_or_else(|| errors::missing_parameter("client_id"))?;
    let app = directory
        .app(client_id)
        .ok_or_else(|| errors::app_not_found(client_id, directory_name))?;
    match (&presented.credential, app.public_client) {
        (Credential::None, true) => Ok(Authenticated { app, appidacr: "0" }),
        (_, true) => Err(errors::public_client_with_credential()),
        (Credential::None, false) => Err(errors::credential_required()),
        (Credential::Secret(secret), false) => {
            let matching = app.secrets.iter().find(|s| s.value == *secret);
            match matching {
                None => Err(errors::invalid_secret(&app.client_id)),
                Some(s) if s.expires <= now => Err(errors::expired_secret(&app.client_id)),
                Some(_) => Ok(Authenticated { app, appidacr: "1" }),
            }
        }
        (Credential::Assertion { kind, jwt }, false) => {
            if kind.as_deref() != Some(JWT_BEARER) {
                return Err(errors::bad_assertion_type());
            }
            assertion::verify(
                jwt,
                app,
                presented.body_client_id.as_deref(),
                audiences,
                now,
            )?;
            Ok(Authenticated { app, appidacr: "2" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const DAEMON: &str = "66666666-7777-8888-9999-000000000000";
    const PUBLIC: &str = "11111111-2222-3333-4444-555555555555";

    fn check(body: &str, authorization: Option<&str>) -> Result<&'static str, u32> {
        let d = Directory::new(&Config::demo());
        let p = presented(&Params::parse(body.as_bytes()), authorization);
        authenticate(&p, &d, "contoso.example", &[], crate::clock::now_secs())
            .map(|a| a.appidacr)
            .map_err(|e| e.code)
    }

    #[test]
    fn secrets_and_public_clients() {
        assert_eq!(check(&format!("client_id={PUBLIC}"), None), Ok("0"));
        assert_eq!(
            check(&format!("client_id={PUBLIC}&client_secret=x"), None),
            Err(700025)
        );
        assert_eq!(check(&format!("client_id={DAEMON}"), None), Err(7000218));
        let secret = format!("client_id={DAEMON}&client_secret=mock-secret-valid-0001");
        assert_eq!(check(&secret, None), Ok("1"));
        let wrong = format!("client_id={DAEMON}&client_secret=wrong");
        assert_eq!(check(&wrong, None), Err(7000215));
        let expired = format!("client_id={DAEMON}&client_secret=mock-secret-expired-0002");
        assert_eq!(check(&expired, None), Err(7000222));
        assert_eq!(
            check("client_id=00000000-0000-0000-0000-000000000000", None),
            Err(700016)
        );
        assert_eq!(check("", None), Err(900144));
        let basic = format!(
            "Basic {}",
            STANDARD.encode(format!("{DAEMON}:mock-secret-valid-0001"))
        );
        assert_eq!(check("", Some(&basic)), Ok("1"));
        let p = presented(&Params::default(), Some(&basic));
        assert_eq!(p.kind, ClientAuth::Basic);
        assert_eq!(p.client_id.as_deref(), Some(DAEMON));
        assert_eq!(p.body_client_id, None);
        let bad_type =
            format!("client_id={DAEMON}&client_assertion=x.y.z&client_assertion_type=jwt");
        assert_eq!(check(&bad_type, None), Err(7000219));
    }
}
