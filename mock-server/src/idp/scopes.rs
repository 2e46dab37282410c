//! Scope strings as the identity platform resolves them: which resource each scope names
//! (→ the token's `aud`), the permission short names (→ `scp`), the OIDC extras
//! (`openid profile email offline_access`) and `.default`. Pure.
//!
//! ```text
//! https://outlook.office.com/IMAP.AccessAsUser.All offline_access
//!   → aud https://outlook.office.com, scp "IMAP.AccessAsUser.All", refresh token
//! IMAP.AccessAsUser.All        → aud https://graph.microsoft.com (the wrong-audience trap)
//! https://outlook.office365.com/.default → aud https://outlook.office365.com (app roles)
//! ```

use crate::bearer::EXCHANGE_AUDIENCES;

/// Microsoft Graph, the resource of bare permission names.
pub(crate) const GRAPH: &str = "https://graph.microsoft.com";

/// Resources the mock tenant knows (requested identifier = `aud`, compared case-insensitively).
const RESOURCES: [&str; 6] = [
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://ps.outlook.com",
    "00000002-0000-0ff1-ce00-000000000000",
    GRAPH,
    "00000003-0000-0000-c000-000000000000",
];

const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A parsed `scope` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    /// Every scope as requested, in order.
    pub scopes: Vec<String>,
    /// The audience of the token (Graph when only OIDC scopes were asked for).
    pub audience: &'static str,
    /// Permission short names, in order (no OIDC scopes, no `.default`).
    pub permissions: Vec<String>,
    /// `<resource>/.default` was requested.
    pub default: bool,
    /// `offline_access` was requested (delegated flows then get a refresh token).
    pub offline_access: bool,
    /// `openid` was requested (delegated flows then get an id token).
    pub openid: bool,
}

/// Why a `scope` parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScopeError {
    /// No scope at all.
    Empty,
    /// A malformed scope, or `.default` mixed with other permissions.
    Invalid(String),
    /// A URI prefix that names no known resource.
    UnknownResource(String),
    /// Scopes for more than one resource.
    MultipleResources,
}

impl Requested {
    /// Parses a space-separated `scope` parameter.
    pub fn parse(scope: &str) -> Result<Requested, ScopeError> {
        let scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
        if scopes.is_empty() {
            return Err(ScopeError::Empty);
        }
        let mut audience: Option<&'static str> = None;
        let mut permissions = Vec::new();
        let mut default = false;
        let (mut offline_access, mut openid) = (false, false);
        for item in &scopes {
            let lower = item.to_ascii_lowercase();
            if OIDC.contains(&lower.as_str()) {
                offline_access |= lower == "offline_access";
                openid |= lower == "openid";
                continue;
            }
            let (resource, permission) = split(item)?;
            let known = RESOURCES
                .iter()
                .find(|r| r.eq_ignore_ascii_case(resource))
                .copied()
                .ok_or_else(|| ScopeError::UnknownResource(resource.to_owned()))?;
            match audience {
                Some(a) if a != known => return Err(ScopeError::MultipleResources),
                _ => audience = Some(known),
            }
            if permission.eq_ignore_ascii_case(".default") {
                default = true;
            } else {
                permissions.push(permission.to_owned());
            }
        }
        if default && !permissions.is_empty() {
            return Err(ScopeError::Invalid(scope.to_owned()));
        }
        Ok(Requested {
            scopes,
            audience: audience.unwrap_or(GRAPH),
            permissions,
            default,
            offline_access,
            openid,
        })
    }

    /// Whether the token is for Exchange Online (app roles apply, mail services accept it).
    pub fn is_exchange(&self) -> bool {
        EXCHANGE_AUDIENCES.contains(&self.audience)
    }

    /// Whether the token is for Microsoft Graph (the app's Graph roles apply).
    pub fn is_graph(&self) -> bool {
        self.audience == GRAPH
    }

    /// The OIDC scopes other than `offline_access`, as requested.
    fn oidc(&self) -> impl Iterator<Item = &String> {
        self.scopes.iter().filter(|s| {
            let lower = s.to_ascii_lowercase();
            OIDC.contains(&lower.as_str()) && lower != "offline_access"
        })
    }

    /// Delegated `scp`: the permissions (for `.default`, every consented one); OIDC scopes
    /// only when nothing else was asked for.
    pub fn scp(&self, consented: &[String]) -> String {
        let names: Vec<&str> = if self.default {
            consented.iter().map(String::as_str).collect()
        } else {
            self.permissions.iter().map(String::as_str).collect()
        };
        if names.is_empty() {
            return self
                .oidc()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ");
        }
        names.join(" ")
    }

    /// The `scope` of a delegated token response: the requested scopes without
    /// `offline_access`; `.default` expands to the consented permissions as full URIs.
    pub fn granted_delegated(&self, consented: &[String]) -> String {
        let mut granted: Vec<String> = Vec::new();
        for s in &self.scopes {
            let lower = s.to_ascii_lowercase();
            if lower == "offline_access" {
                continue;
            }
            if lower.ends_with("/.default") {
                granted.extend(consented.iter().map(|c| format!("{}/{c}", self.audience)));
            } else {
                granted.push(s.clone());
            }
        }
        granted.join(" ")
    }

    /// Permissions (not `.default`) outside `consented` (case-insensitive).
    pub fn unconsented<'a>(&'a self, consented: &[String]) -> Vec<&'a str> {
        self.permissions
            .iter()
            .filter(|p| !consented.iter().any(|c| c.eq_ignore_ascii_case(p)))
            .map(String::as_str)
            .collect()
    }
}

/// `https://host/Perm` or `<guid>/Perm` → (resource, permission); a bare name is Graph's.
fn split(item: &str) -> Result<(&str, &str), ScopeError> {
    let invalid = || ScopeError::Invalid(item.to_owned());
    let (resource, permission) = match item.rfind('/') {
        None => (GRAPH, item),
        Some(i) => {
            let resource = item[..i].trim_end_matches('/');
            let uri = resource.contains("://") && !resource.ends_with(':');
            let guid = crate::ids::is_uuid(resource);
            if !uri && !guid {
                return Err(invalid());
            }
            (resource, &item[i + 1..])
        }
    };
    if permission.is_empty() {
        return Err(invalid());
    }
    Ok((resource, permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent() -> Vec<String> {
        ["IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send"]
            .map(str::to_owned)
            .to_vec()
    }

    #[test]
    fn delegated_exchange_scopes() {
        let r = Requested::parse(
            "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access openid",
        )
        .expect("valid");
        assert_eq!(r.audience, "https://outlook.office.com");
        assert!(r.is_exchange() && r.offline_access && r.openid && !r.default);
        assert_eq!(r.scp(&consent()), "IMAP.AccessAsUser.All SMTP.Send");
        assert_eq!(
            r.granted_delegated(&consent()),
            "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send openid"
        );
        assert!(r.unconsented(&consent()).is_empty());
    }

    #[test]
    fn audiences() {
        let aud = |s: &str| Requested::parse(s).expect("valid").audience;
        assert_eq!(
            aud("https://outlook.office365.com/.default"),
            "https://outlook.office365.com"
        );
        assert_eq!(
            aud("https://ps.outlook.com/.default"),
            "https://ps.outlook.com"
        );
        assert_eq!(aud("IMAP.AccessAsUser.All"), GRAPH);
        assert_eq!(
            aud("https://graph.microsoft.com/IMAP.AccessAsUser.All"),
            GRAPH
        );
        assert_eq!(
            aud("00000002-0000-0ff1-ce00-000000000000/.default"),
            "00000002-0000-0ff1-ce00-000000000000"
        );
        assert_eq!(aud("openid offline_access"), GRAPH);
        assert_eq!(
            aud("HTTPS://OUTLOOK.OFFICE.COM/SMTP.Send"),
            "https://outlook.office.com"
        );
    }

    #[test]
    fn default_and_errors() {
        let r =
            Requested::parse("https://outlook.office.com/.default offline_access").expect("valid");
        assert!(r.default && r.permissions.is_empty());
        assert_eq!(
            r.scp(&consent()),
            "IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send"
        );
        assert!(
            r.granted_delegated(&consent())
                .starts_with("https://outlook.office.com/IMAP.AccessAsUser.All ")
        );
        assert_eq!(Requested::parse("  "), Err(ScopeError::Empty));
        assert_eq!(
            Requested::parse(
                "https://graph.microsoft.com/User.Read https://outlook.office.com/SMTP.Send"
            ),
            Err(ScopeError::MultipleResources)
        );
        assert_eq!(
            Requested::parse("https://outlook.office356.com/.default"),
            Err(ScopeError::UnknownResource(
                "https://outlook.office356.com".to_owned()
            ))
        );
        assert!(matches!(
            Requested::parse("https://outlook.office.com/"),
            Err(ScopeError::Invalid(_))
        ));
        assert!(matches!(
            Requested::parse("api/x"),
            Err(ScopeError::Invalid(_))
        ));
        assert!(matches!(
            Requested::parse(
                "https://outlook.office.com/.default https://outlook.office.com/SMTP.Send"
            ),
            Err(ScopeError::Invalid(_))
        ));
        let r = Requested::parse("User.Read IMAP.AccessAsUser.All").expect("valid");
        assert_eq!(r.unconsented(&consent()), ["User.Read"]);
        assert_eq!(
            Requested::parse("openid profile").expect("valid").scp(&[]),
            "openid profile"
        );
    }
}
