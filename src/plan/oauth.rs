//! The OAuth policy: when a client id asks for a token, which flow obtains it, which
//! credential proves the app, which scopes and endpoints apply, and what is cached.

use super::args::{Environment, RawOAuth};
use super::{ClientCredential, Flow, OAuthPlan, Protocol, Provider, SecretSource, UsageError};
use crate::powershell::{self, Kind};
use crate::token::discovery::Discovery;
use crate::token::provider::{self, Authority, CustomUrls, ProviderError};
use crate::token::redirect::LoopbackRedirect;

/// The tenants Microsoft's identity platform accepts in place of one tenant: any work or
/// school account, or any of those and personal accounts, or personal accounts only.
const TENANT_ALIASES: [&str; 3] = ["common", "organizations", "consumers"];

/// Checks a Microsoft `--tenant`, which becomes a path segment of the authorize, token and
/// device-code URLs: only an id, a domain or an alias, so no `/`, `?`, `#`, `..` or space can
/// point a request (and the client's credential) somewhere else. Client credentials name the
/// tenant that holds the mailboxes; an alias there is refused by Entra (AADSTS9001023 and
/// kin) after the secret has been sent, so it is refused here first.
fn check_tenant(tenant: &str, flow: Flow) -> Result<(), UsageError> {
    if powershell::is_valid(Kind::Tenant, tenant) {
        return Ok(());
    }
    let alias = TENANT_ALIASES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(tenant));
    match (alias, flow) {
        (true, Flow::ClientCredentials) => Err(UsageError::AppOnlyNeedsOneTenant(tenant.into())),
        (true, _) => Ok(()),
        (false, _) => Err(UsageError::BadTenant(tenant.into())),
    }
}

impl RawOAuth {
    /// Any flag that only means something when a token is obtained (not the ones with a
    /// default, nor the custom URLs a preset ignores).
    fn given(&self) -> bool {
        self.tenant.is_some()
            || self.flow.is_some()
            || !self.scopes.is_empty()
            || self.credential().is_some()
            || self.authority.is_some()
            || self.token_url.is_some()
            || self.issuer.is_some()
            || self.redirect_uri.is_some()
    }

    /// The app's credential: a secret (environment, file, prompt, in that order; the CLI
    /// allows only one) or a certificate with its optional PKCS#12 password.
    fn credential(&self) -> Option<ClientCredential> {
        if let Some(var) = &self.client_secret_env {
            return Some(ClientCredential::Secret(SecretSource::Env(var.clone())));
        }
        if let Some(path) = &self.client_secret_file {
            return Some(ClientCredential::Secret(SecretSource::File(path.clone())));
        }
        if self.client_secret_prompt {
            return Some(ClientCredential::Secret(SecretSource::Prompt));
        }
        self.certificate
            .as_ref()
            .map(|path| ClientCredential::Certificate {
                path: path.clone(),
                password: self.certificate_password_env.clone().map(SecretSource::Env),
            })
    }

    /// The `--*-env` flags name variables; a value that is no name is most likely the secret
    /// itself, refused before anything echoes it or sends it anywhere.
    fn check_variable_names(&self) -> Result<(), UsageError> {
        let flags = [
            ("--client-secret-env", "SECRET", &self.client_secret_env),
            (
                "--certificate-password-env",
                "PFX_PASSWORD",
                &self.certificate_password_env,
            ),
        ];
        for (flag, example, value) in flags {
            if let Some(value) = value {
                super::usage::variable_name(flag, example, value)?;
            }
        }
        Ok(())
    }

    /// The flow: the one named, else client credentials when the app has a credential, else
    /// a browser sign-in when one can open, else a device code.
    fn flow(
        &self,
        credential: Option<&ClientCredential>,
        thunderbird: bool,
        env: Environment,
    ) -> Result<Flow, UsageError> {
        Ok(match (self.flow, credential) {
            (Some(Flow::ClientCredentials), None) => return Err(UsageError::NoCredential),
            (Some(Flow::ClientCredentials), Some(_)) | (None, Some(_)) => Flow::ClientCredentials,
            (Some(_), Some(_)) => return Err(UsageError::CredentialWithoutClientCredentials),
            (Some(Flow::Interactive), None) => Flow::Interactive,
            (Some(Flow::DeviceCode), None) => Flow::DeviceCode,
            // Thunderbird's app registers https://localhost only, so no loopback redirect.
            (None, None) if !thunderbird && !self.no_browser && env.browser => Flow::Interactive,
            (None, None) => Flow::DeviceCode,
        })
    }

    /// The OAuth plan, when a client id asks for one; OAuth flags without one are refused.
    pub(super) fn plan(
        &self,
        provider: Provider,
        user: Option<&str>,
        protocols: &[Protocol],
        env: Environment,
    ) -> Result<Option<OAuthPlan>, UsageError> {
        // Refused first, whatever else is wrong: the fix is the same and most urgent.
        if self.client_secret_on_command_line {
            return Err(UsageError::ClientSecretOnCommandLine);
        }
        if self.certificate_password_on_command_line {
            return Err(UsageError::CertificatePasswordOnCommandLine);
        }
        let Some(client_id) = &self.client_id else {
            return if self.given() {
                Err(UsageError::OAuthWithoutClientId)
            } else {
                Ok(None)
            };
        };
        let thunderbird = client_id.eq_ignore_ascii_case("thunderbird");
        let client_id = if thunderbird {
            provider::THUNDERBIRD_CLIENT_ID.to_string()
        } else {
            client_id.clone()
        };
        self.check_variable_names()?;
        let credential = self.credential();
        let flow = self.flow(credential.as_ref(), thunderbird, env)?;
        let discovery = match &self.issuer {
            None => None,
            Some(_) if provider != Provider::Custom => {
                return Err(ProviderError::IssuerNeedsCustom.into());
            }
            Some(raw) => Some(Discovery {
                issuer: provider::endpoint("--issuer", raw.trim())?,
                token_url_given: self.token_url.is_some(),
            }),
        };
        let custom = CustomUrls {
            authorize: self.authorize_url.clone(),
            // Until the document is read (the token layer does that, at run time), the token
            // URL is the document's own; `Discovery::token_url_given` tells them apart.
            token: self.token_url.clone().or_else(|| {
                discovery
                    .as_ref()
                    .map(|d| d.document_url().as_str().to_string())
            }),
            device: self.device_url.clone(),
        };
        let redirect_uri = self
            .redirect_uri
            .as_deref()
            .map(LoopbackRedirect::parse)
            .transpose()
            .map_err(ProviderError::from)?;
        if let (Some(tenant), Some(_)) = (&self.tenant, provider::microsoft_login_host(provider)) {
            check_tenant(tenant, flow)?;
        }
        let authority = Authority::resolve(
            provider,
            self.tenant.as_deref(),
            self.authority.as_deref(),
            &custom,
        )?;
        let app_only = flow == Flow::ClientCredentials;
        let scopes = if self.scopes.is_empty() {
            provider::default_scopes(provider, app_only, protocols)?
        } else {
            self.scopes.clone()
        };
        let user_wait = super::timeout(self.login_wait).map_err(|_| UsageError::BadLoginWait)?;
        Ok(Some(OAuthPlan {
            authority,
            // The issuer names a custom provider in the cache key, so that two providers' tokens
            // for the same client id and user are never mixed up.
            tenant: self
                .tenant
                .clone()
                .or_else(|| {
                    discovery
                        .as_ref()
                        .map(|d| d.issuer.as_str().replace('|', "%7C"))
                })
                .unwrap_or_default(),
            client_id,
            flow,
            scopes,
            credential,
            login_hint: user.filter(|_| !app_only).map(str::to_string),
            cache: !self.no_cache,
            refresh: self.refresh,
            open_browser: !self.no_browser,
            user_wait,
            redirect_uri,
            discovery,
            device_code_command: (flow == Flow::Interactive && !self.command_line.is_empty())
                .then(|| super::rerun::with_device_code(&self.command_line)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::plan::fixtures::{CLIENT, TENANT, USER, oauth};

    const DESKTOP: Environment = Environment {
        browser: true,
        stdin_is_terminal: true,
    };
    const HEADLESS: Environment = Environment {
        browser: false,
        stdin_is_terminal: true,
    };

    /// The plan for `raw` against Microsoft, for an IMAP check by alice.
    fn build(raw: RawOAuth, env: Environment) -> Result<OAuthPlan, UsageError> {
        build_for(raw, Provider::Microsoft, &[Protocol::Imap], env)
    }

    fn build_for(
        raw: RawOAuth,
        provider: Provider,
        protocols: &[Protocol],
        env: Environment,
    ) -> Result<OAuthPlan, UsageError> {
        raw.plan(provider, Some(USER), protocols, env)
            .map(|p| p.expect("a client id asks for an OAuth plan"))
    }

    #[test]
    fn without_client_id_or_oauth_flags_there_is_no_oauth_plan() {
        let plan = RawOAuth::default().plan(Provider::Microsoft, Some(USER), &[], DESKTOP);
        assert!(matches!(plan, Ok(None)));
    }

    #[test]
    fn oauth_flags_without_client_id_are_refused() {
        let refused = [
            RawOAuth {
                tenant: Some(TENANT.into()),
                ..RawOAuth::default()
            },
            RawOAuth {
                flow: Some(Flow::DeviceCode),
                ..RawOAuth::default()
            },
            RawOAuth {
                scopes: vec!["s".into()],
                ..RawOAuth::default()
            },
            RawOAuth {
                client_secret_prompt: true,
                ..RawOAuth::default()
            },
            RawOAuth {
                certificate: Some(PathBuf::from("c.pem")),
                ..RawOAuth::default()
            },
            RawOAuth {
                authority: Some("http://127.0.0.1:1".into()),
                ..RawOAuth::default()
            },
            RawOAuth {
                token_url: Some("https://idp.example/token".into()),
                ..RawOAuth::default()
            },
        ];
        for raw in refused {
            assert!(
                matches!(
                    raw.plan(Provider::Microsoft, Some(USER), &[], DESKTOP),
                    Err(UsageError::OAuthWithoutClientId)
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn cache_and_browser_flags_alone_ask_for_no_oauth_plan() {
        let raw = RawOAuth {
            no_cache: true,
            refresh: true,
            no_browser: true,
            login_wait: 5.0,
            authorize_url: Some("https://idp.example/authorize".into()),
            device_url: Some("https://idp.example/device".into()),
            ..RawOAuth::default()
        };
        assert!(matches!(
            raw.plan(Provider::Microsoft, Some(USER), &[], DESKTOP),
            Ok(None)
        ));
    }

    #[test]
    fn flow_defaults_to_client_credentials_when_the_app_has_a_secret() {
        let raw = RawOAuth {
            client_secret_env: Some("S".into()),
            ..oauth()
        };
        let plan = build(raw, DESKTOP).unwrap();
        assert_eq!(plan.flow, Flow::ClientCredentials);
        assert_eq!(
            plan.credential,
            Some(ClientCredential::Secret(SecretSource::Env("S".into())))
        );
    }

    #[test]
    fn flow_defaults_to_client_credentials_when_the_app_has_a_certificate() {
        let raw = RawOAuth {
            certificate: Some(PathBuf::from("app.pfx")),
            certificate_password_env: Some("P".into()),
            ..oauth()
        };
        let plan = build(raw, HEADLESS).unwrap();
        assert_eq!(plan.flow, Flow::ClientCredentials);
        assert_eq!(
            plan.credential,
            Some(ClientCredential::Certificate {
                path: PathBuf::from("app.pfx"),
                password: Some(SecretSource::Env("P".into())),
            })
        );
    }

    #[test]
    fn secret_sources_map_to_their_credential() {
        let file = RawOAuth {
            client_secret_file: Some(PathBuf::from("secret.txt")),
            ..oauth()
        };
        assert_eq!(
            build(file, DESKTOP).unwrap().credential,
            Some(ClientCredential::Secret(SecretSource::File(PathBuf::from(
                "secret.txt"
            ))))
        );
        let prompt = RawOAuth {
            client_secret_prompt: true,
            ..oauth()
        };
        assert_eq!(
            build(prompt, DESKTOP).unwrap().credential,
            Some(ClientCredential::Secret(SecretSource::Prompt))
        );
    }

    #[test]
    fn flow_defaults_to_interactive_when_a_browser_can_open() {
        let plan = build(oauth(), DESKTOP).unwrap();
        assert_eq!(plan.flow, Flow::Interactive);
        assert!(plan.open_browser);
        assert_eq!(plan.credential, None);
    }

    #[test]
    fn flow_defaults_to_device_code_without_a_browser() {
        assert_eq!(build(oauth(), HEADLESS).unwrap().flow, Flow::DeviceCode);
    }

    #[test]
    fn no_browser_makes_the_default_flow_device_code() {
        let raw = RawOAuth {
            no_browser: true,
            ..oauth()
        };
        let plan = build(raw, DESKTOP).unwrap();
        assert_eq!(plan.flow, Flow::DeviceCode);
        assert!(!plan.open_browser);
    }

    #[test]
    fn thunderbird_is_its_client_id_and_defaults_to_device_code() {
        let raw = RawOAuth {
            client_id: Some("Thunderbird".into()),
            ..oauth()
        };
        let plan = build(raw, DESKTOP).unwrap();
        assert_eq!(plan.client_id, provider::THUNDERBIRD_CLIENT_ID);
        assert_eq!(plan.flow, Flow::DeviceCode);
    }

    #[test]
    fn a_named_flow_wins_over_the_environment() {
        let interactive = RawOAuth {
            flow: Some(Flow::Interactive),
            ..oauth()
        };
        assert_eq!(
            build(interactive, HEADLESS).unwrap().flow,
            Flow::Interactive
        );
        let device = RawOAuth {
            flow: Some(Flow::DeviceCode),
            ..oauth()
        };
        assert_eq!(build(device, DESKTOP).unwrap().flow, Flow::DeviceCode);
    }

    #[test]
    fn client_credentials_without_a_credential_is_refused() {
        let raw = RawOAuth {
            flow: Some(Flow::ClientCredentials),
            ..oauth()
        };
        assert!(matches!(build(raw, DESKTOP), Err(UsageError::NoCredential)));
    }

    #[test]
    fn a_credential_with_a_user_flow_is_refused() {
        for flow in [Flow::Interactive, Flow::DeviceCode] {
            let raw = RawOAuth {
                flow: Some(flow),
                client_secret_env: Some("S".into()),
                ..oauth()
            };
            assert!(matches!(
                build(raw, DESKTOP),
                Err(UsageError::CredentialWithoutClientCredentials)
            ));
        }
    }

    #[test]
    fn delegated_scopes_follow_the_protocols_and_ask_for_a_refresh_token() {
        let plan = build_for(
            oauth(),
            Provider::Microsoft,
            &[Protocol::Imap, Protocol::Pop, Protocol::Smtp],
            DESKTOP,
        )
        .unwrap();
        assert_eq!(
            plan.scopes,
            [
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "https://outlook.office.com/POP.AccessAsUser.All",
                "https://outlook.office.com/SMTP.Send",
                "offline_access",
            ]
        );
    }

    #[test]
    fn app_only_scope_is_the_resource_default() {
        let raw = RawOAuth {
            client_secret_env: Some("S".into()),
            ..oauth()
        };
        let plan = build_for(raw, Provider::MicrosoftUsGov, &[Protocol::Smtp], DESKTOP).unwrap();
        assert_eq!(plan.scopes, ["https://outlook.office365.us/.default"]);
    }

    #[test]
    fn named_scopes_replace_the_defaults() {
        let raw = RawOAuth {
            scopes: vec!["https://outlook.office.com/IMAP.AccessAsUser.All".into()],
            ..oauth()
        };
        assert_eq!(
            build(raw, DESKTOP).unwrap().scopes,
            ["https://outlook.office.com/IMAP.AccessAsUser.All"]
        );
    }

    #[test]
    fn google_needs_no_tenant_and_has_one_scope() {
        let raw = RawOAuth {
            tenant: None,
            ..oauth()
        };
        let plan = build_for(raw, Provider::Google, &[Protocol::Imap], DESKTOP).unwrap();
        assert_eq!(plan.scopes, ["https://mail.google.com/"]);
        assert_eq!(plan.authority.name, "google");
        assert_eq!(plan.tenant, "");
    }

    #[test]
    fn microsoft_needs_a_tenant() {
        let raw = RawOAuth {
            tenant: None,
            ..oauth()
        };
        assert!(matches!(
            build(raw, DESKTOP),
            Err(UsageError::Provider(ProviderError::TenantRequired(
                "Microsoft"
            )))
        ));
    }

    #[test]
    fn a_tenant_is_an_id_a_domain_or_an_alias() {
        for tenant in [
            TENANT,
            "9188040d-6c67-4c5b-b112-36a304b66dad",
            "common",
            "organizations",
            "Consumers",
        ] {
            let raw = RawOAuth {
                tenant: Some(tenant.into()),
                ..oauth()
            };
            let plan = build(raw, DESKTOP).unwrap_or_else(|e| panic!("{tenant}: {e}"));
            assert_eq!(
                plan.authority.token_url.as_str(),
                format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
            );
        }
    }

    #[test]
    fn a_tenant_that_would_change_the_urls_is_refused_naming_the_flag() {
        for tenant in [
            "..",
            ".",
            "contoso.example/../evil",
            "evil.example/x",
            "contoso.example?x=1",
            "contoso.example#x",
            "contoso example.com",
            "contoso.example\n",
            "contoso.example\u{7f}",
            "contoso..example",
            "contoso",
            "",
        ] {
            for flow in [Flow::Interactive, Flow::DeviceCode] {
                let raw = RawOAuth {
                    tenant: Some(tenant.into()),
                    flow: Some(flow),
                    ..oauth()
                };
                let e = build(raw, DESKTOP).unwrap_err();
                assert!(matches!(e, UsageError::BadTenant(_)), "{tenant:?}: {e}");
                assert!(e.to_string().starts_with("--tenant "), "{e}");
            }
            let app_only = RawOAuth {
                tenant: Some(tenant.into()),
                client_secret_env: Some("S".into()),
                ..oauth()
            };
            assert!(
                matches!(build(app_only, DESKTOP), Err(UsageError::BadTenant(_))),
                "{tenant:?}"
            );
        }
        // The same checks in every Microsoft cloud, and with a private login host.
        for provider in [Provider::MicrosoftUsGov, Provider::MicrosoftChina] {
            let raw = RawOAuth {
                tenant: Some("x/y".into()),
                ..oauth()
            };
            assert!(matches!(
                build_for(raw, provider, &[Protocol::Imap], DESKTOP),
                Err(UsageError::BadTenant(_))
            ));
        }
        let raw = RawOAuth {
            tenant: Some("..".into()),
            authority: Some("http://127.0.0.1:8443/".into()),
            ..oauth()
        };
        assert!(matches!(build(raw, DESKTOP), Err(UsageError::BadTenant(_))));
    }

    #[test]
    fn an_app_only_token_needs_one_tenant_not_an_alias() {
        for alias in ["common", "organizations", "consumers", "COMMON"] {
            let raw = RawOAuth {
                tenant: Some(alias.into()),
                client_secret_env: Some("S".into()),
                ..oauth()
            };
            let e = build(raw, DESKTOP).unwrap_err();
            assert!(
                matches!(e, UsageError::AppOnlyNeedsOneTenant(_)),
                "{alias}: {e}"
            );
            assert!(e.to_string().starts_with("--tenant "), "{e}");
        }
    }

    #[test]
    fn authority_replaces_the_cloud_login_host() {
        let raw = RawOAuth {
            authority: Some("http://127.0.0.1:8443/".into()),
            ..oauth()
        };
        let plan = build(raw, DESKTOP).unwrap();
        assert_eq!(
            plan.authority.token_url.as_str(),
            format!("http://127.0.0.1:8443/{TENANT}/oauth2/v2.0/token")
        );
        assert_eq!(plan.tenant, TENANT);
        assert_eq!(plan.client_id, CLIENT);
    }

    #[test]
    fn custom_provider_needs_a_token_url_and_a_scope() {
        let raw = RawOAuth {
            tenant: None,
            ..oauth()
        };
        assert!(matches!(
            build_for(raw.clone(), Provider::Custom, &[Protocol::Imap], DESKTOP),
            Err(UsageError::Provider(ProviderError::CustomNeedsUrls))
        ));
        let with_url = RawOAuth {
            token_url: Some("https://idp.example/token".into()),
            ..raw
        };
        assert!(matches!(
            build_for(
                with_url.clone(),
                Provider::Custom,
                &[Protocol::Imap],
                DESKTOP
            ),
            Err(UsageError::Provider(ProviderError::ScopeRequired))
        ));
        let with_scope = RawOAuth {
            scopes: vec!["mail".into()],
            ..with_url
        };
        let plan = build_for(with_scope, Provider::Custom, &[Protocol::Imap], DESKTOP).unwrap();
        assert_eq!(
            plan.authority.token_url.as_str(),
            "https://idp.example/token"
        );
        assert_eq!(plan.authority.device_url, None);
    }

    #[test]
    fn an_issuer_defers_the_endpoints_to_its_discovery_document() {
        let raw = RawOAuth {
            tenant: None,
            scopes: vec!["openid".into()],
            issuer: Some("https://idp.example/realms/mail".into()),
            ..oauth()
        };
        let plan = build_for(raw.clone(), Provider::Custom, &[Protocol::Imap], DESKTOP).unwrap();
        let discovery = plan.discovery.expect("discovery");
        assert!(!discovery.token_url_given);
        assert_eq!(
            plan.authority.token_url.as_str(),
            "https://idp.example/realms/mail/.well-known/openid-configuration"
        );
        assert_eq!(plan.tenant, "https://idp.example/realms/mail");
        let with_token_url = RawOAuth {
            token_url: Some("https://idp.example/t".into()),
            ..raw.clone()
        };
        let plan = build_for(with_token_url, Provider::Custom, &[Protocol::Imap], DESKTOP).unwrap();
        assert!(plan.discovery.unwrap().token_url_given);
        assert_eq!(plan.authority.token_url.as_str(), "https://idp.example/t");
        assert!(matches!(
            build_for(raw.clone(), Provider::Google, &[Protocol::Imap], DESKTOP),
            Err(UsageError::Provider(ProviderError::IssuerNeedsCustom))
        ));
        let plain = RawOAuth {
            issuer: Some("http://idp.example/realms/mail".into()),
            ..raw
        };
        assert!(matches!(
            build_for(plain, Provider::Custom, &[Protocol::Imap], DESKTOP),
            Err(UsageError::Provider(ProviderError::NotHttps { .. }))
        ));
    }

    #[test]
    fn a_redirect_uri_is_checked_and_the_device_code_command_kept_for_interactive() {
        let raw = RawOAuth {
            flow: Some(Flow::Interactive),
            redirect_uri: Some("http://127.0.0.1/callback".into()),
            command_line: vec!["xoauth".into(), "imap".into()],
            ..oauth()
        };
        let plan = build(raw.clone(), DESKTOP).unwrap();
        assert_eq!(
            plan.redirect_uri.unwrap().uri(1),
            "http://127.0.0.1:1/callback"
        );
        assert_eq!(
            plan.device_code_command.as_deref(),
            Some("xoauth imap --flow device-code")
        );
        let device = RawOAuth {
            flow: Some(Flow::DeviceCode),
            ..raw.clone()
        };
        assert_eq!(build(device, DESKTOP).unwrap().device_code_command, None);
        let https = RawOAuth {
            redirect_uri: Some("https://127.0.0.1/callback".into()),
            ..raw
        };
        assert!(matches!(
            build(https, DESKTOP),
            Err(UsageError::Provider(ProviderError::Redirect(_)))
        ));
    }

    #[test]
    fn the_login_hint_is_the_user_only_for_a_user_token() {
        assert_eq!(
            build(oauth(), DESKTOP).unwrap().login_hint.as_deref(),
            Some(USER)
        );
        let app_only = RawOAuth {
            client_secret_env: Some("S".into()),
            ..oauth()
        };
        assert_eq!(build(app_only, DESKTOP).unwrap().login_hint, None);
    }

    #[test]
    fn the_cache_is_read_and_written_by_default() {
        let plan = build(oauth(), DESKTOP).unwrap();
        assert!(plan.cache && !plan.refresh);
    }

    #[test]
    fn no_cache_turns_the_cache_off() {
        let raw = RawOAuth {
            no_cache: true,
            ..oauth()
        };
        let plan = build(raw, DESKTOP).unwrap();
        assert!(!plan.cache && !plan.refresh);
    }

    #[test]
    fn refresh_keeps_the_cache_and_asks_for_a_new_token() {
        let raw = RawOAuth {
            refresh: true,
            ..oauth()
        };
        let plan = build(raw, DESKTOP).unwrap();
        assert!(plan.cache && plan.refresh);
    }

    #[test]
    fn refresh_with_no_cache_asks_for_a_new_token_it_does_not_keep() {
        let raw = RawOAuth {
            refresh: true,
            no_cache: true,
            ..oauth()
        };
        let plan = build(raw, DESKTOP).unwrap();
        assert!(!plan.cache && plan.refresh);
    }

    #[test]
    fn login_wait_becomes_the_user_wait_and_must_be_positive() {
        let raw = RawOAuth {
            login_wait: 2.5,
            ..oauth()
        };
        assert_eq!(
            build(raw, DESKTOP).unwrap().user_wait,
            Duration::from_millis(2500)
        );
        assert_eq!(
            build(oauth(), DESKTOP).unwrap().user_wait,
            Duration::from_secs(300)
        );
        let zero = RawOAuth {
            login_wait: 0.0,
            ..oauth()
        };
        assert!(matches!(
            build(zero, DESKTOP),
            Err(UsageError::BadLoginWait)
        ));
    }
}
