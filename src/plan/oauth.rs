//! The OAuth policy: when a client id asks for a token, which flow obtains it, which
//! credential proves the app, which scopes and endpoints apply, and what is cached.

use super::args::{Environment, RawOAuth};
use super::{ClientCredential, Flow, OAuthPlan, Protocol, Provider, SecretSource, UsageError};
use crate::token::provider::{self, Authority, CustomUrls};

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
        let credential = self.credential();
        let flow = self.flow(credential.as_ref(), thunderbird, env)?;
        let custom = CustomUrls {
            authorize: self.authorize_url.clone(),
            token: self.token_url.clone(),
            device: self.device_url.clone(),
        };
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
            tenant: self.tenant.clone().unwrap_or_default(),
            client_id,
            flow,
            scopes,
            credential,
            login_hint: user.filter(|_| !app_only).map(str::to_string),
            cache: !self.no_cache,
            refresh: self.refresh,
            open_browser: !self.no_browser,
            user_wait,
        }))
    }
}
