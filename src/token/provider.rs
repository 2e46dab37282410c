//! Where tokens come from: the identity platform's endpoints for each cloud, and the scopes
//! Exchange Online and Gmail expect (reference sections A1, A4, A5).
//!
//! Token endpoints must be https: a token request carries a client secret, an assertion or an
//! authorization code. Plain http is allowed only on loopback addresses, where nothing crosses
//! a network (the mock, a local test identity provider).

use url::Url;

use crate::service::{EXCHANGE_DELEGATED_RESOURCE, Protocol, Provider};

/// Thunderbird's multi-tenant public client (reference G): an admin whose tenant consented to
/// it can test delegated access without registering an app.
pub const THUNDERBIRD_CLIENT_ID: &str = "9e5f94bc-e8a4-4e73-b8be-63364c29d753";

/// The endpoints of one identity provider, resolved for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Names the provider in cache keys and reports (`microsoft`, `google`, ...).
    pub name: &'static str,
    pub authorize_url: Option<Url>,
    pub token_url: Url,
    pub device_url: Option<Url>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProviderError {
    #[error("{what} {url:?} is not a valid URL")]
    BadUrl { what: &'static str, url: String },
    #[error(
        "{what} {url} must use https (plain http is only allowed on loopback addresses, \
         because token requests carry credentials)"
    )]
    NotHttps { what: &'static str, url: String },
    #[error("--tenant is required for {0} (a tenant id or domain, e.g. contoso.onmicrosoft.com)")]
    TenantRequired(&'static str),
    #[error("{0:?} is not a valid tenant (a tenant id, a domain, common or organizations)")]
    BadTenant(String),
    #[error(
        "--provider custom needs --issuer (the provider's endpoints from its discovery \
         document) or --token-url (and --authorize-url / --device-url for those flows)"
    )]
    CustomNeedsUrls,
    #[error(
        "--issuer is for --provider custom: the other providers' endpoints are known (a \
         private Microsoft login host goes in --authority)"
    )]
    IssuerNeedsCustom,
    #[error(transparent)]
    Redirect(#[from] super::redirect::RedirectError),
    #[error("--scope is required with --provider custom")]
    ScopeRequired,
    #[error(
        "--authority {0:?} has no scheme: give the login host's URL with https:// (http:// only \
         on a loopback address), e.g. https://login.microsoftonline.com"
    )]
    AuthorityWithoutScheme(String),
    #[error(
        "--authority {url} has a path ({path}): --authority must be the login host only, e.g. \
         https://login.microsoftonline.com, without the tenant; the tenant goes in --tenant"
    )]
    AuthorityWithPath { url: String, path: String },
}

/// `--authority`: a login host, to which xoauth adds `/{tenant}/oauth2/v2.0/...` itself. MSAL's
/// authority includes the tenant, so the form admins know would name the tenant twice and
/// reach no endpoint; a bare `host:port` would become a URL the user never typed.
fn login_host(raw: &str) -> Result<String, ProviderError> {
    let raw = raw.trim();
    if !raw.contains("://") {
        return Err(ProviderError::AuthorityWithoutScheme(raw.to_string()));
    }
    let url = endpoint("--authority", raw)?;
    let path = url.path().trim_matches('/');
    if !path.is_empty() || url.query().is_some() || url.fragment().is_some() {
        let rest = &raw[raw.find("://").map_or(0, |i| i + 3)..];
        return Err(ProviderError::AuthorityWithPath {
            url: raw.to_string(),
            path: rest.find('/').map_or(rest, |i| &rest[i..]).to_string(),
        });
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// Parses and checks an endpoint URL: https, or http on a loopback host.
pub fn endpoint(what: &'static str, raw: &str) -> Result<Url, ProviderError> {
    let url = Url::parse(raw).map_err(|_| ProviderError::BadUrl {
        what,
        url: raw.to_string(),
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(ProviderError::NotHttps {
            what,
            url: raw.to_string(),
        }),
    }
}

/// The Microsoft login host of each cloud ([NATCLOUD]).
pub fn microsoft_login_host(provider: Provider) -> Option<&'static str> {
    match provider {
        Provider::Microsoft | Provider::MicrosoftHve => Some("https://login.microsoftonline.com"),
        Provider::MicrosoftUsGov => Some("https://login.microsoftonline.us"),
        Provider::MicrosoftChina => Some("https://login.partner.microsoftonline.cn"),
        Provider::Google | Provider::Custom => None,
    }
}

fn check_tenant(tenant: &str) -> Result<(), ProviderError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ProviderError::BadTenant(tenant.to_string()))
    }
}

/// Custom endpoint URLs given on the command line.
#[derive(Debug, Clone, Default)]
pub struct CustomUrls {
    pub authorize: Option<String>,
    pub token: Option<String>,
    pub device: Option<String>,
}

impl Authority {
    /// Resolves the endpoints. `login_host` overrides the cloud's Microsoft login host (a
    /// private test identity platform such as xoauth-mock speaks the same paths).
    pub fn resolve(
        provider: Provider,
        tenant: Option<&str>,
        login_host: Option<&str>,
        custom: &CustomUrls,
    ) -> Result<Authority, ProviderError> {
        match provider {
            Provider::Microsoft
            | Provider::MicrosoftUsGov
            | Provider::MicrosoftChina
            | Provider::MicrosoftHve => {
                let tenant = tenant.ok_or(ProviderError::TenantRequired("Microsoft"))?;
                check_tenant(tenant)?;
                let host = match login_host {
                    Some(raw) => self::login_host(raw)?,
                    None => microsoft_login_host(provider)
                        .unwrap_or_default()
                        .to_string(),
                };
                let base = format!("{host}/{tenant}/oauth2/v2.0");
                Ok(Authority {
                    name: "microsoft",
                    authorize_url: Some(endpoint("authorize URL", &format!("{base}/authorize"))?),
                    token_url: endpoint("token URL", &format!("{base}/token"))?,
                    device_url: Some(endpoint("device URL", &format!("{base}/devicecode"))?),
                })
            }
            Provider::Google => Ok(Authority {
                name: "google",
                authorize_url: Some(endpoint(
                    "authorize URL",
                    "https://accounts.google.com/o/oauth2/v2/auth",
                )?),
                token_url: endpoint("token URL", "https://oauth2.googleapis.com/token")?,
                device_url: Some(endpoint(
                    "device URL",
                    "https://oauth2.googleapis.com/device/code",
                )?),
            }),
            Provider::Custom => {
                let token = custom
                    .token
                    .as_deref()
                    .ok_or(ProviderError::CustomNeedsUrls)?;
                Ok(Authority {
                    name: "custom",
                    authorize_url: custom
                        .authorize
                        .as_deref()
                        .map(|u| endpoint("--authorize-url", u))
                        .transpose()?,
                    token_url: endpoint("--token-url", token)?,
                    device_url: custom
                        .device
                        .as_deref()
                        .map(|u| endpoint("--device-url", u))
                        .transpose()?,
                })
            }
        }
    }
}

/// The Exchange Online resource of each Microsoft cloud (reference A5b). China's is an
/// analogy (UNCONFIRMED in Microsoft's documentation).
fn exchange_resource(provider: Provider) -> (&'static str, &'static str) {
    match provider {
        Provider::MicrosoftUsGov => (
            "https://outlook.office365.us/",
            "https://outlook.office365.us/",
        ),
        Provider::MicrosoftChina => ("https://partner.outlook.cn/", "https://partner.outlook.cn/"),
        _ => (
            EXCHANGE_DELEGATED_RESOURCE,
            "https://outlook.office365.com/",
        ),
    }
}

/// The scopes to request when the user names none: delegated protocol scopes plus
/// `offline_access` (for a refresh token), or the resource's `.default` for app-only tokens.
pub fn default_scopes(
    provider: Provider,
    app_only: bool,
    protocols: &[Protocol],
) -> Result<Vec<String>, ProviderError> {
    match provider {
        Provider::Google => Ok(vec!["https://mail.google.com/".to_string()]),
        Provider::Custom => Err(ProviderError::ScopeRequired),
        _ => {
            let (delegated, app) = exchange_resource(provider);
            if app_only {
                return Ok(vec![format!("{app}.default")]);
            }
            let mut scopes: Vec<String> = protocols
                .iter()
                .map(|p| format!("{delegated}{}", p.exchange_delegated_scope()))
                .collect();
            scopes.dedup();
            scopes.push("offline_access".to_string());
            Ok(scopes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_endpoints_per_cloud() {
        let a = Authority::resolve(
            Provider::Microsoft,
            Some("contoso.onmicrosoft.com"),
            None,
            &CustomUrls::default(),
        )
        .unwrap();
        assert_eq!(
            a.token_url.as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            a.device_url.unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
        );
        let us = Authority::resolve(
            Provider::MicrosoftUsGov,
            Some("t"),
            None,
            &CustomUrls::default(),
        )
        .unwrap();
        assert!(
            us.token_url
                .as_str()
                .starts_with("https://login.microsoftonline.us/t/")
        );
        let cn = Authority::resolve(
            Provider::MicrosoftChina,
            Some("t"),
            None,
            &CustomUrls::default(),
        )
        .unwrap();
        assert!(
            cn.token_url
                .as_str()
                .starts_with("https://login.partner.microsoftonline.cn/t/")
        );
        let mock = Authority::resolve(
            Provider::Microsoft,
            Some("t"),
            Some("https://127.0.0.1:4443/"),
            &CustomUrls::default(),
        )
        .unwrap();
        assert_eq!(
            mock.token_url.as_str(),
            "https://127.0.0.1:4443/t/oauth2/v2.0/token"
        );
    }

    #[test]
    fn tenant_rules() {
        let none = Authority::resolve(Provider::Microsoft, None, None, &CustomUrls::default());
        assert_eq!(none, Err(ProviderError::TenantRequired("Microsoft")));
        for bad in ["", "a/b", "x?y", "te nant"] {
            assert!(
                Authority::resolve(Provider::Microsoft, Some(bad), None, &CustomUrls::default())
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn https_only_except_loopback() {
        assert!(endpoint("t", "https://idp.example/token").is_ok());
        assert!(endpoint("t", "http://127.0.0.1:8080/token").is_ok());
        assert!(endpoint("t", "http://[::1]:8080/token").is_ok());
        assert!(endpoint("t", "http://localhost/token").is_ok());
        assert!(matches!(
            endpoint("t", "http://idp.example/token"),
            Err(ProviderError::NotHttps { .. })
        ));
        assert!(matches!(
            endpoint("t", "http://10.0.0.1/token"),
            Err(ProviderError::NotHttps { .. })
        ));
        assert!(matches!(
            endpoint("t", "ftp://127.0.0.1/"),
            Err(ProviderError::NotHttps { .. })
        ));
        assert!(matches!(
            endpoint("t", "not a url"),
            Err(ProviderError::BadUrl { .. })
        ));
        let custom = CustomUrls {
            token: Some("http://idp.example/t".into()),
            ..Default::default()
        };
        assert!(Authority::resolve(Provider::Custom, None, None, &custom).is_err());
        assert_eq!(
            Authority::resolve(Provider::Custom, None, None, &CustomUrls::default()),
            Err(ProviderError::CustomNeedsUrls)
        );
    }

    #[test]
    fn scopes_per_flow_protocol_and_cloud() {
        let all = [Protocol::Imap, Protocol::Pop, Protocol::Smtp];
        assert_eq!(
            default_scopes(Provider::Microsoft, false, &all).unwrap(),
            [
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "https://outlook.office.com/POP.AccessAsUser.All",
                "https://outlook.office.com/SMTP.Send",
                "offline_access"
            ]
        );
        assert_eq!(
            default_scopes(Provider::Microsoft, true, &all).unwrap(),
            ["https://outlook.office365.com/.default"]
        );
        assert_eq!(
            default_scopes(Provider::MicrosoftUsGov, true, &all).unwrap(),
            ["https://outlook.office365.us/.default"]
        );
        assert_eq!(
            default_scopes(Provider::Google, false, &all).unwrap(),
            ["https://mail.google.com/"]
        );
        assert_eq!(
            default_scopes(Provider::Custom, false, &all),
            Err(ProviderError::ScopeRequired)
        );
    }
}
