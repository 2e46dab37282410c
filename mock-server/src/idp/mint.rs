//! Access tokens as the identity platform issues them for Exchange Online: v1.0 JWTs signed
//! RS256 with the fixture key, header `{"typ","alg","x5t","kid"}`; delegated tokens carry
//! `scp`, `upn`, `unique_name`, `name`; app-only tokens `roles` (omitted when empty, as Entra
//! does), `idtyp: "app"` and `app_displayname` (reference B). Also the public [`TokenSpec`]
//! that lets tests mint the same tokens without running a flow.

use serde_json::{Map, Value, json};

use super::scopes::Requested;
use crate::directory::Directory;
use crate::ids;
use crate::keys::{KeyError, SigningKey};

/// Client id of the demo tenant's public client (`public_client = true`, delegated consent
/// for IMAP, POP and SMTP).
pub const DEMO_PUBLIC_CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
/// Client id of the demo tenant's confidential daemon app (secrets, certificate, Exchange
/// application permissions, FullAccess on sales@).
pub const DEMO_DAEMON_CLIENT_ID: &str = "66666666-7777-8888-9999-000000000000";

/// The three delegated Exchange Online scopes, as a client requests them.
const EXO_DELEGATED: [&str; 3] = [
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/POP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
];

/// What [`crate::MockServer::issue_token`] mints. Consent and credentials are not checked:
/// the token is whatever a successful flow with these inputs would have returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// Who the token speaks for.
    pub subject: Subject,
    /// Full scope URIs as a client would request them, e.g.
    /// `https://outlook.office.com/IMAP.AccessAsUser.All` or
    /// `https://outlook.office365.com/.default`; they decide `aud` and `scp`.
    pub scopes: Vec<String>,
    /// Seconds until `exp`; negative = already expired.
    pub lifetime_secs: i64,
}

/// The principal of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Delegated: a user signed in to `client_id`.
    User {
        /// The user's address (`upn`).
        address: String,
        /// The app the user signed in to (`appid`).
        client_id: String,
    },
    /// App-only (client credentials).
    App {
        /// The app (`appid`).
        client_id: String,
    },
}

impl TokenSpec {
    /// Delegated token for `addr` through the demo public client, with the three Exchange
    /// Online scopes, valid for 3599 s.
    pub fn user(addr: &str) -> TokenSpec {
        TokenSpec {
            subject: Subject::User {
                address: addr.to_owned(),
                client_id: DEMO_PUBLIC_CLIENT_ID.to_owned(),
            },
            scopes: EXO_DELEGATED.map(str::to_owned).to_vec(),
            lifetime_secs: 3599,
        }
    }

    /// App-only token for `client_id` (`https://outlook.office365.com/.default`), valid
    /// for 3599 s.
    pub fn app(client_id: &str) -> TokenSpec {
        TokenSpec {
            subject: Subject::App {
                client_id: client_id.to_owned(),
            },
            scopes: vec!["https://outlook.office365.com/.default".to_owned()],
            lifetime_secs: 3599,
        }
    }
}

/// One token to issue.
#[derive(Debug, Clone)]
pub(crate) struct Issue<'a> {
    pub subject: &'a Subject,
    pub requested: &'a Requested,
    /// `"0"` public client, `"1"` secret, `"2"` certificate.
    pub appidacr: &'static str,
    pub lifetime_secs: i64,
    /// Unix seconds.
    pub now: i64,
    /// `[faults] delegated_audience`: the `aud` of a delegated token whatever was requested.
    pub delegated_audience: Option<&'a str>,
}

/// The claims of an access token (pure; `uti` is random).
pub(crate) fn access_claims(directory: &Directory, tenant_id: &str, issue: &Issue<'_>) -> Value {
    let exp = issue.now.saturating_add(issue.lifetime_secs);
    // An already-expired token was issued one normal lifetime before it expired.
    let iat = if issue.lifetime_secs >= 0 {
        issue.now
    } else {
        exp - 3599
    };
    let mut claims = Map::new();
    let mut put = |k: &str, v: Value| {
        claims.insert(k.to_owned(), v);
    };
    let aud = match issue.subject {
        Subject::User { .. } => issue.delegated_audience.unwrap_or(issue.requested.audience),
        Subject::App { .. } => issue.requested.audience,
    };
    put("aud", json!(aud));
    put(
        "iss",
        json!(format!("https://sts.windows.net/{tenant_id}/")),
    );
    put("iat", json!(iat));
    put("nbf", json!(iat));
    put("exp", json!(exp));
    put("tid", json!(tenant_id));
    put("ver", json!("1.0"));
    put("appidacr", json!(issue.appidacr));
    put("uti", json!(ids::b64url(&ids::random_bytes::<16>())));
    match issue.subject {
        Subject::User { address, client_id } => {
            let user = directory.user(address);
            let oid = user.map_or_else(
                || ids::derived_uuid(&format!("user:{}", address.to_ascii_lowercase())),
                |u| u.object_id.clone(),
            );
            let app = directory.app(client_id);
            let consented = app.map(|a| a.delegated_consent.clone()).unwrap_or_default();
            let name = user.map_or_else(|| address.clone(), |u| u.display_name());
            // Entra's `sub` is pairwise (per user and app).
            let sub = ids::b64url(
                ring::digest::digest(
                    &ring::digest::SHA256,
                    format!("{oid}:{}", client_id.to_ascii_lowercase()).as_bytes(),
                )
                .as_ref(),
            );
            put("appid", json!(client_id.to_ascii_lowercase()));
            put("oid", json!(oid));
            put("sub", json!(sub));
            put("scp", json!(issue.requested.scp(&consented)));
            put("upn", json!(address));
            put("unique_name", json!(address));
            put("name", json!(name));
            put("amr", json!(["pwd"]));
        }
        Subject::App { client_id } => {
            let app = directory.app(client_id);
            let sp = app.map_or_else(
                || ids::derived_uuid(&format!("sp:{}", client_id.to_ascii_lowercase())),
                |a| a.service_principal_id.clone(),
            );
            put("appid", json!(client_id.to_ascii_lowercase()));
            put(
                "app_displayname",
                json!(app.map_or(client_id.as_str(), |a| a.name.as_str())),
            );
            put("idtyp", json!("app"));
            put("oid", json!(sp));
            put("sub", json!(sp));
            let roles = app
                .map(|a| {
                    if issue.requested.is_exchange() {
                        a.roles.clone()
                    } else if issue.requested.is_graph() {
                        a.graph_roles.clone()
                    } else {
                        Vec::new()
                    }
                })
                .unwrap_or_default();
            if !roles.is_empty() {
                put("roles", json!(roles));
            }
        }
    }
    Value::Object(claims)
}

/// Signs an access token.
pub(crate) fn access_token(
    directory: &Directory,
    tenant_id: &str,
    key: &SigningKey,
    issue: &Issue<'_>,
) -> Result<String, KeyError> {
    let header = json!({"typ": "JWT", "alg": "RS256", "x5t": key.kid, "kid": key.kid});
    crate::jwt::sign_rs256(key, &header, &access_claims(directory, tenant_id, issue))
}

/// Signs an OpenID Connect id token (v2.0) for a delegated grant that asked for `openid`.
pub(crate) fn id_token(
    directory: &Directory,
    tenant_id: &str,
    key: &SigningKey,
    address: &str,
    client_id: &str,
    now: i64,
    lifetime_secs: i64,
) -> Result<String, KeyError> {
    let user = directory.user(address);
    let oid = user.map_or_else(
        || ids::derived_uuid(&format!("user:{}", address.to_ascii_lowercase())),
        |u| u.object_id.clone(),
    );
    let claims = json!({
        "aud": client_id.to_ascii_lowercase(),
        "iss": format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(lifetime_secs),
        "tid": tenant_id,
        "oid": oid,
        "sub": oid,
        "preferred_username": address,
        "name": user.map_or_else(|| address.to_owned(), |u| u.display_name()),
        "ver": "2.0",
    });
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": key.kid});
    crate::jwt::sign_rs256(key, &header, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const TID: &str = "8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5b";

    fn claims(spec: &TokenSpec, appidacr: &'static str) -> Value {
        let d = Directory::new(&Config::demo());
        let requested = Requested::parse(&spec.scopes.join(" ")).expect("valid scopes");
        access_claims(
            &d,
            TID,
            &Issue {
                subject: &spec.subject,
                requested: &requested,
                appidacr,
                lifetime_secs: spec.lifetime_secs,
                now: 1_795_458_120,
                delegated_audience: None,
            },
        )
    }

    #[test]
    fn delegated_claims() {
        let c = claims(&TokenSpec::user("alice@contoso.example"), "0");
        assert_eq!(c["aud"], "https://outlook.office.com");
        assert_eq!(c["iss"], format!("https://sts.windows.net/{TID}/"));
        assert_eq!(c["exp"], 1_795_458_120_i64 + 3599);
        assert_eq!(c["iat"], 1_795_458_120_i64);
        assert_eq!(
            c["scp"],
            "IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send"
        );
        assert_eq!(c["upn"], "alice@contoso.example");
        assert_eq!(c["unique_name"], "alice@contoso.example");
        assert_eq!(c["name"], "Alice");
        assert_eq!(c["appid"], DEMO_PUBLIC_CLIENT_ID);
        assert_eq!(c["appidacr"], "0");
        assert_eq!(c["ver"], "1.0");
        assert!(crate::ids::is_uuid(c["oid"].as_str().expect("oid")));
        assert!(c.get("roles").is_none() && c.get("idtyp").is_none());
    }

    #[test]
    fn delegated_audience_fault() {
        let d = Directory::new(&Config::demo());
        let requested = Requested::parse("https://outlook.office.com/IMAP.AccessAsUser.All")
            .expect("valid scopes");
        let user = TokenSpec::user("alice@contoso.example").subject;
        let app = TokenSpec::app(DEMO_DAEMON_CLIENT_ID).subject;
        let claims = |subject: &Subject| {
            access_claims(
                &d,
                TID,
                &Issue {
                    subject,
                    requested: &requested,
                    appidacr: "0",
                    lifetime_secs: 60,
                    now: 1_795_458_120,
                    delegated_audience: Some("https://graph.microsoft.com"),
                },
            )
        };
        assert_eq!(claims(&user)["aud"], "https://graph.microsoft.com");
        assert_eq!(claims(&user)["scp"], "IMAP.AccessAsUser.All");
        // App-only tokens keep the requested audience.
        assert_eq!(claims(&app)["aud"], "https://outlook.office.com");
    }

    #[test]
    fn app_only_claims() {
        let c = claims(&TokenSpec::app(DEMO_DAEMON_CLIENT_ID), "1");
        assert_eq!(c["aud"], "https://outlook.office365.com");
        assert_eq!(c["idtyp"], "app");
        assert_eq!(c["oid"], "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
        assert_eq!(c["app_displayname"], "xoauth demo (daemon)");
        assert_eq!(
            c["roles"],
            json!(["IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp"])
        );
        assert!(c.get("scp").is_none() && c.get("upn").is_none());
        // A Graph token carries the app's Graph permissions only, never its Exchange ones.
        let mut graph = TokenSpec::app(DEMO_DAEMON_CLIENT_ID);
        graph.scopes = vec!["https://graph.microsoft.com/.default".to_owned()];
        assert_eq!(claims(&graph, "1")["roles"], json!(["AuditLog.Read.All"]));
        // An expired token.
        let mut expired = TokenSpec::app(DEMO_DAEMON_CLIENT_ID);
        expired.lifetime_secs = -60;
        let c = claims(&expired, "1");
        assert_eq!(c["exp"], 1_795_458_060_i64);
        assert!(c["nbf"].as_i64() < c["exp"].as_i64());
    }
}
