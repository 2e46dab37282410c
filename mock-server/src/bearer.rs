//! The mail services' token check: is this bearer token an Exchange Online access token for
//! this protocol, and whose is it? Signature (the identity platform's key), lifetime, tenant,
//! audience, then the permission: delegated `scp` or app-only `roles` plus the app's
//! Exchange service principal. The answer is a principal (a user's `upn` or an app's client
//! id); which mailbox it may open is `directory`'s question.
//!
//! ```text
//! token ─decode─▶ RS256 with the IdP key ─▶ exp > now ≥ nbf − 60 s ─▶ tid ─▶ aud ∈ Exchange
//!       ─▶ scp ∋ IMAP.AccessAsUser.All → upn          (delegated)
//!       ─▶ roles ∋ IMAP.AccessAsApp + New-ServicePrincipal -ObjectId = oid → appid  (app-only)
//! ```

use serde_json::Value;

use crate::directory::Directory;
use crate::jwt::{Alg, Jws};

/// Audiences Exchange Online accepts (reference B).
pub(crate) const EXCHANGE_AUDIENCES: [&str; 4] = [
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://ps.outlook.com",
    "00000002-0000-0ff1-ce00-000000000000",
];

/// Tolerated clock difference for `nbf`.
const NBF_SKEW_SECS: i64 = 60;

/// Which service asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Imap,
    Pop3,
    Smtp,
}

impl Protocol {
    /// The delegated permission (`scp`) the protocol needs.
    fn scope(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP.AccessAsUser.All",
            Protocol::Pop3 => "POP.AccessAsUser.All",
            Protocol::Smtp => "SMTP.Send",
        }
    }

    /// The application permission (`roles`) the protocol needs.
    fn role(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP.AccessAsApp",
            Protocol::Pop3 => "POP.AccessAsApp",
            Protocol::Smtp => "SMTP.SendAsApp",
        }
    }
}

/// Why a token was refused. Never shown on the wire (every refusal gets the protocol's one
/// failure reply); it makes the unit tests precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Not a JWT, or not RS256.
    Malformed,
    /// Not signed by the identity platform's key.
    Signature,
    /// `exp` has passed (or is missing).
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `tid` is another tenant.
    Tenant,
    /// `aud` is not Exchange Online (a Graph token, say).
    Audience,
    /// `scp` / `roles` lacks the protocol's permission.
    Permission,
    /// App-only, but the app is unknown, has no Exchange service principal, or that service
    /// principal was registered with another object id than the token's `oid`.
    ServicePrincipal,
    /// Delegated without `upn`.
    NoUser,
}

/// Checks tokens against the identity platform's public key and tenant.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    /// `RSAPublicKey` DER; empty if the key could not be loaded (then nothing verifies).
    public_key: Vec<u8>,
    tenant_id: String,
}

impl Verifier {
    pub fn new(public_key: Vec<u8>, tenant_id: &str) -> Verifier {
        Verifier {
            public_key,
            tenant_id: tenant_id.to_ascii_lowercase(),
        }
    }

    /// Whether `token` may read the sign-in logs from Graph at `now`: signed by the mock, for
    /// this tenant, unexpired, audience Microsoft Graph, and `AuditLog.Read.All` as an app
    /// role or a delegated scope. `Err` says which check failed.
    pub fn graph_audit_reader(&self, token: &str, now: i64) -> Result<(), &'static str> {
        const PERMISSION: &str = "AuditLog.Read.All";
        let jws = Jws::decode(token).map_err(|_| "not a JWT")?;
        if jws.alg() != Some(Alg::Rs256)
            || self.public_key.is_empty()
            || !jws.verify(Alg::Rs256, &self.public_key)
        {
            return Err("bad signature");
        }
        if jws.claim_i64("exp").is_none_or(|exp| exp <= now) {
            return Err("expired");
        }
        if !jws
            .claim_str("tid")
            .is_some_and(|tid| tid.eq_ignore_ascii_case(&self.tenant_id))
        {
            return Err("another tenant");
        }
        let aud = jws.claim_str("aud").unwrap_or_default();
        if ![
            "https://graph.microsoft.com",
            "00000003-0000-0000-c000-000000000000",
        ]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(aud))
        {
            return Err("not a Graph token");
        }
        let role = jws
            .claims
            .get("roles")
            .and_then(Value::as_array)
            .is_some_and(|r| {
                r.iter().any(|v| {
                    v.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(PERMISSION))
                })
            });
        let scope = jws
            .claim_str("scp")
            .is_some_and(|s| s.split(' ').any(|p| p.eq_ignore_ascii_case(PERMISSION)));
        if role || scope {
            Ok(())
        } else {
            Err("no AuditLog.Read.All")
        }
    }

    /// The principal `token` speaks for, if it is valid for `protocol` at `now` (Unix
    /// seconds): the user's address (`upn`) or the app's client id.
    pub fn principal(
        &self,
        token: &str,
        protocol: Protocol,
        directory: &Directory,
        now: i64,
    ) -> Result<String, Rejection> {
        let jws = Jws::decode(token).map_err(|_| Rejection::Malformed)?;
        if jws.alg() != Some(Alg::Rs256) {
            return Err(Rejection::Malformed);
        }
        if self.public_key.is_empty() || !jws.verify(Alg::Rs256, &self.public_key) {
            return Err(Rejection::Signature);
        }
        match jws.claim_i64("exp") {
            Some(exp) if exp > now => {}
            _ => return Err(Rejection::Expired),
        }
        if jws
            .claim_i64("nbf")
            .is_some_and(|nbf| nbf > now + NBF_SKEW_SECS)
        {
            return Err(Rejection::NotYetValid);
        }
        if !jws
            .claim_str("tid")
            .is_some_and(|tid| tid.eq_ignore_ascii_case(&self.tenant_id))
        {
            return Err(Rejection::Tenant);
        }
        let aud = jws.claim_str("aud").unwrap_or_default();
        if !EXCHANGE_AUDIENCES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(aud))
        {
            return Err(Rejection::Audience);
        }

        let scp = jws.claim_str("scp");
        let app_only = jws.claim_str("idtyp") == Some("app") || scp.is_none();
        if app_only {
            let has_role = match jws.claims.get("roles") {
                Some(Value::Array(roles)) => roles.iter().any(|r| {
                    r.as_str()
                        .is_some_and(|r| r.eq_ignore_ascii_case(protocol.role()))
                }),
                _ => false,
            };
            if !has_role {
                return Err(Rejection::Permission);
            }
            // Exchange finds the service principal by the token's `oid`: one registered with
            // another object id (the app registration's, say) is as good as none.
            let oid = jws.claim_str("oid").unwrap_or_default();
            let app = jws
                .claim_str("appid")
                .and_then(|id| directory.app(id))
                .filter(|app| {
                    app.exchange_service_principal
                        && app.exchange_object_id.eq_ignore_ascii_case(oid)
                })
                .ok_or(Rejection::ServicePrincipal)?;
            Ok(app.client_id.clone())
        } else {
            let has_scope = scp
                .unwrap_or_default()
                .split(' ')
                .any(|s| s.eq_ignore_ascii_case(protocol.scope()));
            if !has_scope {
                return Err(Rejection::Permission);
            }
            jws.claim_str("upn")
                .filter(|upn| !upn.is_empty())
                .map(str::to_owned)
                .ok_or(Rejection::NoUser)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::idp::mint::{DEMO_DAEMON_CLIENT_ID, Subject, TokenSpec};
    use crate::idp::test_token;
    use crate::keys::{idp_signing_key, rsa_key_from_pem, test_keys};
    use serde_json::json;

    const TID: &str = "8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5b";

    fn check_with(config: &Config, token: &str, protocol: Protocol) -> Result<String, Rejection> {
        let key = idp_signing_key().expect("key");
        let verifier = Verifier::new(key.public_der.clone(), &config.idp.tenant_id);
        let directory = Directory::new(config);
        verifier.principal(token, protocol, &directory, crate::clock::now_secs())
    }

    fn check(token: &str, protocol: Protocol) -> Result<String, Rejection> {
        check_with(&Config::demo(), token, protocol)
    }

    fn with_scopes(mut spec: TokenSpec, scopes: &[&str]) -> String {
        spec.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        test_token(&spec)
    }

    #[test]
    fn delegated_tokens() {
        let alice = test_token(&TokenSpec::user("alice@contoso.example"));
        for p in [Protocol::Imap, Protocol::Pop3, Protocol::Smtp] {
            assert_eq!(check(&alice, p), Ok("alice@contoso.example".to_owned()));
        }
        let mut expired = TokenSpec::user("alice@contoso.example");
        expired.lifetime_secs = -1;
        assert_eq!(
            check(&test_token(&expired), Protocol::Imap),
            Err(Rejection::Expired)
        );

        let pop_only = with_scopes(
            TokenSpec::user("alice@contoso.example"),
            &["https://outlook.office.com/POP.AccessAsUser.All"],
        );
        assert_eq!(check(&pop_only, Protocol::Imap), Err(Rejection::Permission));
        assert!(check(&pop_only, Protocol::Pop3).is_ok());
        // The wrong-audience trap: bare or Graph-prefixed scopes give a Graph token.
        for graph in [
            "IMAP.AccessAsUser.All",
            "https://graph.microsoft.com/IMAP.AccessAsUser.All",
        ] {
            let t = with_scopes(TokenSpec::user("alice@contoso.example"), &[graph]);
            assert_eq!(check(&t, Protocol::Imap), Err(Rejection::Audience));
        }
        // Other Exchange audiences are fine.
        let o365 = with_scopes(
            TokenSpec::user("alice@contoso.example"),
            &["https://outlook.office365.com/IMAP.AccessAsUser.All"],
        );
        assert!(check(&o365, Protocol::Imap).is_ok());
        // Another tenant's configuration does not accept it.
        let mut other = Config::demo();
        other.idp.tenant_id = "00000000-0000-0000-0000-000000000001".to_owned();
        assert_eq!(
            check_with(&other, &o365, Protocol::Imap),
            Err(Rejection::Tenant)
        );
    }

    #[test]
    fn app_only_tokens() {
        let daemon = test_token(&TokenSpec::app(DEMO_DAEMON_CLIENT_ID));
        for p in [Protocol::Imap, Protocol::Pop3, Protocol::Smtp] {
            assert_eq!(check(&daemon, p), Ok(DEMO_DAEMON_CLIENT_ID.to_owned()));
        }
        let ps = with_scopes(
            TokenSpec::app(DEMO_DAEMON_CLIENT_ID),
            &["https://ps.outlook.com/.default"],
        );
        assert!(check(&ps, Protocol::Pop3).is_ok());
        // New-ServicePrincipal not run.
        let mut config = Config::demo();
        config.apps[1].exchange_service_principal = false;
        assert_eq!(
            check_with(&config, &daemon, Protocol::Imap),
            Err(Rejection::ServicePrincipal)
        );
        // New-ServicePrincipal with the app registration's object id instead of the
        // enterprise app's (the token's oid).
        let mut config = Config::demo();
        config.apps[1].exchange_service_principal_object_id =
            Some("12345678-1234-1234-1234-123456789abc".to_owned());
        assert_eq!(
            check_with(&config, &daemon, Protocol::Imap),
            Err(Rejection::ServicePrincipal)
        );
        config.apps[1].exchange_service_principal_object_id =
            Some("AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee".to_owned());
        assert!(check_with(&config, &daemon, Protocol::Imap).is_ok());
        // Role not granted (no roles claim at all).
        let mut config = Config::demo();
        config.apps[1].roles = vec!["SMTP.SendAsApp".to_owned()];
        let d = Directory::new(&config);
        let requested =
            crate::idp::scopes::Requested::parse("https://outlook.office365.com/.default")
                .expect("scope");
        let subject = Subject::App {
            client_id: DEMO_DAEMON_CLIENT_ID.to_owned(),
        };
        let issue = crate::idp::mint::Issue {
            subject: &subject,
            requested: &requested,
            appidacr: "1",
            lifetime_secs: 600,
            now: crate::clock::now_secs(),
            delegated_audience: None,
        };
        let key = idp_signing_key().expect("key");
        let smtp_only = crate::idp::mint::access_token(&d, TID, key, &issue).expect("signs");
        assert_eq!(
            check(&smtp_only, Protocol::Imap),
            Err(Rejection::Permission)
        );
        assert!(check(&smtp_only, Protocol::Smtp).is_ok());
        // An unknown app.
        let ghost = test_token(&TokenSpec::app("00000000-1111-2222-3333-444444444444"));
        assert_eq!(
            check(&ghost, Protocol::Imap),
            Err(Rejection::Permission),
            "no roles"
        );
    }

    #[test]
    fn forged_and_malformed_tokens() {
        assert_eq!(
            check("mock-access-token-alice-0001", Protocol::Imap),
            Err(Rejection::Malformed)
        );
        let other = rsa_key_from_pem(test_keys::OTHER_KEY_PEM).expect("key");
        let now = crate::clock::now_secs();
        let claims = json!({"aud": "https://outlook.office.com", "tid": TID, "exp": now + 600,
            "nbf": now, "scp": "IMAP.AccessAsUser.All", "upn": "alice@contoso.example"});
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let forged = crate::jwt::sign_rs256(&other, &header, &claims).expect("signs");
        assert_eq!(check(&forged, Protocol::Imap), Err(Rejection::Signature));
        let key = idp_signing_key().expect("key");
        let genuine = crate::jwt::sign_rs256(key, &header, &claims).expect("signs");
        assert!(check(&genuine, Protocol::Imap).is_ok());
        let mut early = claims.clone();
        early["nbf"] = json!(now + 120);
        let t = crate::jwt::sign_rs256(key, &header, &early).expect("signs");
        assert_eq!(check(&t, Protocol::Imap), Err(Rejection::NotYetValid));
        let mut skew = claims.clone();
        skew["nbf"] = json!(now + 30);
        let t = crate::jwt::sign_rs256(key, &header, &skew).expect("signs");
        assert!(check(&t, Protocol::Imap).is_ok(), "60 s skew");
        let mut no_upn = claims;
        no_upn.as_object_mut().expect("object").remove("upn");
        let t = crate::jwt::sign_rs256(key, &header, &no_upn).expect("signs");
        assert_eq!(check(&t, Protocol::Imap), Err(Rejection::NoUser));
    }
}
