//! The mock's scenario: server switches, tenant policies, mailboxes with folders and
//! permissions, the identity platform and its app registrations (TOML).
//!
//! Parsing is strict (`deny_unknown_fields`) and [`Config::validate`] rejects configs that
//! would make the mock lie about itself (a permission for nobody, a mailbox listed twice, a
//! folder name that cannot go on the wire, a certificate that does not parse). Fields are
//! public so tests can tweak `Config::demo()`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::faults::{FaultsConfig, Principals};
use crate::{clock, ids, keys};

/// The whole scenario. TOML tables: `[server]`, `[tenant]`, `[idp]`, `[[mailbox]]`, `[[app]]`,
/// `[faults]`, `[generate]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: protocol switches shared by every listener.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[tenant]`: organisation-wide policies.
    #[serde(default)]
    pub tenant: TenantConfig,
    /// `[idp]`: the identity platform (tenant id and names, flow timings).
    #[serde(default)]
    pub idp: IdpConfig,
    /// `[[mailbox]]`: user and shared mailboxes.
    #[serde(default, rename = "mailbox")]
    pub mailboxes: Vec<MailboxConfig>,
    /// `[[app]]`: app registrations (and their Exchange service principals).
    #[serde(default, rename = "app")]
    pub apps: Vec<AppConfig>,
    /// `[faults]`: injected failure modes (throttling, wrong audience, AADSTS refusals);
    /// the default injects none.
    #[serde(default)]
    pub faults: FaultsConfig,
    /// `[generate]`: N more shared mailboxes with a fixed mix of outcomes, added by
    /// `Config::with_generated` (`generate.rs`; `MockServer::start` calls it); the default
    /// adds none.
    #[serde(default)]
    pub generate: GenerateConfig,
}

/// `[generate]`: the generated part of the tenant; `mailboxes = 0` (the default) adds none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateConfig {
    /// How many shared mailboxes to add (at most `generate::MAX_GENERATED`).
    pub mailboxes: usize,
    /// The app given FullAccess (and SendAs): an `[[app]]` client id; unset = the first app
    /// with `exchange_service_principal`.
    pub app: Option<String>,
    /// The delegate user given FullAccess (and SendAs): a user `[[mailbox]]`; unset =
    /// `[idp] default_user`, else the first user mailbox.
    pub delegate: Option<String>,
    /// Domain of the generated addresses; unset = the delegate's domain, else the first
    /// `[idp] tenant_names`, else `contoso.example`.
    pub domain: Option<String>,
}

/// `[server]`. Every field is optional; the defaults behave like Exchange Online.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Public host name: an extra SAN of the server certificate and part of the
    /// backend name in the greeting.
    pub hostname: String,
    /// The plaintext IMAP listener advertises and accepts STARTTLS.
    pub starttls: bool,
    /// Advertise SASL-IR (an initial response is accepted either way).
    pub sasl_ir: bool,
    /// Advertise and accept AUTH=OAUTHBEARER (Exchange does not; Dovecot/Gmail do).
    pub oauthbearer: bool,
    /// `false`: Exchange (a bad token gets an immediate `NO`). `true`: Gmail
    /// (`+ <base64 JSON>` first, then `NO` after the client's empty line).
    pub xoauth2_error_challenge: bool,
    /// Seconds without a complete command before the server says BYE and closes (HTTPS:
    /// the time allowed for a request's head, at most 30).
    pub idle_timeout_secs: u64,
    /// Seconds a connection may last in all, however busy, before the server says BYE and
    /// closes (HTTPS: at most 300, then the current request is finished). Bounds clients that
    /// trickle bytes or send NOOPs to stay under the idle timeout.
    pub session_timeout_secs: u64,
    /// Connections served at once, all listeners together. Beyond it a new connection gets
    /// a refusal in its protocol (IMAP `* BYE`, POP3 `-ERR`, SMTP `421 4.3.2`, HTTPS 503)
    /// and is closed; connected clients are unaffected. Bounds the mock's memory and file
    /// descriptors (the default fits under the common 1024 open-file limit).
    pub max_connections: usize,
    /// Authenticated SMTP sessions one mailbox may have at once (Exchange Online: 3); one
    /// more gets `432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded` at AUTH.
    /// 0 = no cap (the default, so that tests can share a mailbox freely).
    pub smtp_sessions_per_mailbox: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            hostname: "outlook.office365.com".to_owned(),
            starttls: true,
            sasl_ir: true,
            oauthbearer: false,
            xoauth2_error_challenge: false,
            idle_timeout_secs: 1800,
            session_timeout_secs: 3600,
            max_connections: 1000,
            smtp_sessions_per_mailbox: 0,
        }
    }
}

/// `[tenant]`. Every field is optional; the defaults are those of a tenant where SMTP AUTH
/// was never switched off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantConfig {
    /// `Set-TransportConfig -SmtpClientAuthenticationDisabled`: SMTP AUTH is off for every
    /// mailbox without its own `smtp_auth_disabled`.
    pub smtp_auth_disabled: bool,
    /// Security defaults are on, which locks SMTP AUTH for everyone.
    pub security_defaults: bool,
}

/// `[idp]`. Every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdpConfig {
    /// The tenant (directory) id: `tid` of issued tokens, accepted as `{tenant}` in URLs.
    pub tenant_id: String,
    /// Verified domain names, also accepted as `{tenant}` in URLs.
    pub tenant_names: Vec<String>,
    /// Who signs in at the authorize endpoint when the request has no `login_hint`; unset =
    /// the first user mailbox.
    pub default_user: Option<String>,
    /// `interval` of device authorization responses.
    pub device_code_interval_secs: u64,
    /// `expires_in` of device authorization responses.
    pub device_code_expires_secs: u64,
    /// Answer `slow_down` (RFC 8628 §3.5) to polls closer together than the interval.
    pub enforce_slow_down: bool,
    /// Lifetime of issued access tokens (`expires_in`, `exp - iat`); negative = tokens
    /// that are already expired when issued (`exp` that many seconds in the past).
    pub token_lifetime_secs: i64,
    /// Device authorization responses carry `verification_uri_complete` (RFC 8628 §3.3.1),
    /// as many non-Microsoft providers do; Entra sends none.
    pub device_code_verification_uri_complete: bool,
    /// How many sign-ins the mock's Graph (`/beta/auditLogs/signIns`) serves, newest first, a
    /// minute apart, cycling through legacy client apps.
    pub graph_sign_ins: u32,
    /// The tenant has Entra ID P1/P2: without, Graph refuses the sign-in logs with 403
    /// `Authentication_RequestFromNonPremiumTenantOrB2CTenant`.
    pub graph_licensed: bool,
}

impl Default for IdpConfig {
    fn default() -> Self {
        IdpConfig {
            tenant_id: "8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5b".to_owned(),
            tenant_names: Vec::new(),
            default_user: None,
            device_code_interval_secs: 5,
            device_code_expires_secs: 900,
            enforce_slow_down: true,
            token_lifetime_secs: 3599,
            device_code_verification_uri_complete: false,
            graph_sign_ins: 250,
            graph_licensed: true,
        }
    }
}

/// `[[app]]`: an app registration in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Application (client) id, UUID-shaped.
    pub client_id: String,
    /// Display name (AADSTS65001 texts, `app_displayname` of app-only tokens).
    pub name: String,
    /// "Allow public client flows": no credential at the token endpoint, device code.
    #[serde(default)]
    pub public_client: bool,
    /// Registered redirect URIs; `http://localhost` matches any port on localhost and
    /// 127.0.0.1, a loopback IP literal (`http://127.0.0.1/callback`, `http://[::1]/cb`) any
    /// port on itself (RFC 8252 §7.3), path equal; anything else must match exactly.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Delegated permissions with (admin) consent, short names (`IMAP.AccessAsUser.All`).
    #[serde(default)]
    pub delegated_consent: Vec<String>,
    /// Object id of the enterprise app (service principal); unset = derived from the
    /// client id. `oid` of app-only tokens.
    #[serde(default)]
    pub service_principal_id: Option<String>,
    /// `New-ServicePrincipal` was run in Exchange Online for this app: required for
    /// app-only IMAP/POP/SMTP.
    #[serde(default)]
    pub exchange_service_principal: bool,
    /// The `-ObjectId` `New-ServicePrincipal` was given; unset = the service principal id
    /// (right). Another id (say the app registration's object id) makes Exchange refuse the
    /// app's tokens as if no service principal were registered.
    #[serde(default)]
    pub exchange_service_principal_object_id: Option<String>,
    /// Application permissions on Office 365 Exchange Online with admin consent
    /// (`IMAP.AccessAsApp`, `POP.AccessAsApp`, `SMTP.SendAsApp`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Application permissions on Microsoft Graph with admin consent (`AuditLog.Read.All` for
    /// the sign-in logs): the `roles` of its Graph tokens.
    #[serde(default)]
    pub graph_roles: Vec<String>,
    /// Client secrets.
    #[serde(default)]
    pub secrets: Vec<SecretConfig>,
    /// Certificate credentials: a file name in `mock-server/fixtures` (embedded in the
    /// binary) or inline PEM.
    #[serde(default)]
    pub certificates: Vec<String>,
}

/// One client secret of an app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretConfig {
    /// The secret value the client sends.
    pub value: String,
    /// Expiry date `YYYY-MM-DD` (midnight UTC); a date in the past gives AADSTS7000222.
    pub expires: String,
}

/// `[[mailbox]]`: one mailbox (a user's own or a shared one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// SMTP address; compared case-insensitively.
    pub address: String,
    /// `"user"` (can sign in) or `"shared"` (opened through `full_access`).
    #[serde(default)]
    pub kind: MailboxKind,
    /// Principals that may open this mailbox (`Add-MailboxPermission -AccessRights
    /// FullAccess`): addresses of user mailboxes or app client ids.
    #[serde(default)]
    pub full_access: Vec<String>,
    /// Principals (addresses of other mailboxes, or app client ids) that may send as this
    /// mailbox (`Add-RecipientPermission -AccessRights SendAs`).
    #[serde(default)]
    pub send_as: Vec<String>,
    /// Directory object id (`oid` of the user's tokens); unset = derived from the address.
    #[serde(default)]
    pub object_id: Option<String>,
    /// Folders, Unicode names, `/` as the hierarchy delimiter. An `Inbox` is added when
    /// missing (every Exchange mailbox has one).
    #[serde(default)]
    pub folders: Vec<FolderConfig>,
    /// `Set-CASMailbox -ImapEnabled`.
    #[serde(default = "yes")]
    pub imap_enabled: bool,
    /// `Set-CASMailbox -PopEnabled`.
    #[serde(default = "yes")]
    pub pop_enabled: bool,
    /// `Set-CASMailbox -SmtpClientAuthenticationDisabled`; unset follows the tenant, a value
    /// overrides it either way.
    #[serde(default)]
    pub smtp_auth_disabled: Option<bool>,
    /// SMTP AUTH into this mailbox by a principal other than its owner (a delegate or an
    /// app) needs that principal in `send_as` as well as in `full_access`, else
    /// `535 5.7.3`: Exchange's SendAs (or, for apps, `SMTP.SendAsApp` scoped to the mailbox)
    /// check. Off by default: FullAccess is then enough, as for IMAP and POP.
    #[serde(default)]
    pub smtp_send_as_required: bool,
    /// `kind = "hve"` only: client ids of the apps that may send as this HVE account
    /// (`Add-HVEAppAccess -AppIds`), at most [`HVE_MAX_ALLOWED_APPS`].
    #[serde(default)]
    pub allowed_apps: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Whether a mailbox belongs to a person or is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailboxKind {
    /// A person's own mailbox.
    #[default]
    User,
    /// A shared mailbox.
    Shared,
    /// A High Volume Email account: a mail user that only sends (SMTP), for the apps on its
    /// `allowed_apps`; IMAP and POP find no mailbox. Not governed by
    /// `smtp_auth_disabled`, as Microsoft's HVE troubleshooting page says.
    Hve,
}

/// How many apps one HVE account may allow (`Add-HVEAppAccess`: "up to ten").
pub const HVE_MAX_ALLOWED_APPS: usize = 10;

/// One folder of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    /// Unicode name; `a/b` makes `a` an implied parent folder.
    pub name: String,
    /// Number of small synthetic messages the folder starts with.
    #[serde(default)]
    pub messages: u32,
}

/// Why a configuration could not be loaded or is inconsistent. Each message is complete on
/// its own (the underlying error is part of the text, not a separate `source()`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("invalid config TOML: {0}")]
    Toml(toml::de::Error),
    /// The TOML parsed but the scenario is inconsistent.
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl From<toml::de::Error> for ConfigError {
    fn from(error: toml::de::Error) -> Self {
        ConfigError::Toml(error)
    }
}

pub(crate) const DEMO_TOML: &str = include_str!("../config/contoso.toml");

impl Config {
    /// Parses and validates a TOML config.
    pub fn from_toml_str(s: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(s)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Config::from_toml_str(&text)
    }

    /// The built-in demo tenant: `mock-server/config/contoso.toml`.
    pub fn demo() -> Config {
        // The file is part of the crate and covered by a unit test; a parse failure
        // here is a build defect, so fall back to an empty (still usable) config.
        Config::from_toml_str(DEMO_TOML).unwrap_or_default()
    }

    /// Checks the cross-references and names. `MockServer::start` calls this too,
    /// so configs edited in code are checked as well.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        let host = &self.server.hostname;
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return invalid(format!(
                "server.hostname {host:?} must be a non-empty DNS name (letters, digits, '.', '-')"
            ));
        }
        if self.server.idle_timeout_secs == 0 {
            return invalid("server.idle_timeout_secs must be at least 1".to_owned());
        }
        if self.server.session_timeout_secs == 0 {
            return invalid("server.session_timeout_secs must be at least 1".to_owned());
        }
        if self.server.max_connections == 0 {
            return invalid("server.max_connections must be at least 1".to_owned());
        }

        let mut addresses = HashSet::new();
        for mailbox in &self.mailboxes {
            let address = mailbox.address.to_ascii_lowercase();
            if !is_plausible_address(&address) {
                return invalid(format!(
                    "mailbox address {:?} is not an address like user@example.com",
                    mailbox.address
                ));
            }
            if !addresses.insert(address) {
                return invalid(format!("duplicate mailbox {:?}", mailbox.address));
            }
            validate_folders(mailbox)?;
            if mailbox.kind != MailboxKind::Hve && !mailbox.allowed_apps.is_empty() {
                return invalid(format!(
                    "mailbox {:?}: allowed_apps is for kind = \"hve\" (High Volume Email accounts)",
                    mailbox.address
                ));
            }
            if mailbox.allowed_apps.len() > HVE_MAX_ALLOWED_APPS {
                return invalid(format!(
                    "mailbox {:?}: an HVE account allows at most {HVE_MAX_ALLOWED_APPS} apps",
                    mailbox.address
                ));
            }
        }

        let mut object_ids = HashSet::new();
        for mailbox in &self.mailboxes {
            if let Some(id) = &mailbox.object_id
                && (!ids::is_uuid(id) || !object_ids.insert(id.to_ascii_lowercase()))
            {
                return invalid(format!(
                    "mailbox {:?}: object_id {id:?} must be a UUID not used by another mailbox",
                    mailbox.address
                ));
            }
        }

        let app_ids: HashSet<String> = self
            .apps
            .iter()
            .map(|a| a.client_id.to_ascii_lowercase())
            .collect();
        for mailbox in &self.mailboxes {
            let lists = [
                ("full_access", &mailbox.full_access),
                ("send_as", &mailbox.send_as),
            ];
            for (key, principals) in lists {
                for principal in principals {
                    let p = principal.to_ascii_lowercase();
                    if !addresses.contains(&p) && !app_ids.contains(&p) {
                        return invalid(format!(
                            "mailbox {:?}: {key} names unknown principal {principal:?} \
                             (neither a [[mailbox]] address nor an [[app]] client_id)",
                            mailbox.address
                        ));
                    }
                }
            }
        }

        self.validate_idp()?;
        self.faults.validate(self).map_err(ConfigError::Invalid)?;
        Ok(())
    }
}

impl Principals for Config {
    fn is_user(&self, address: &str) -> bool {
        self.mailboxes
            .iter()
            .any(|m| m.kind == MailboxKind::User && m.address.eq_ignore_ascii_case(address))
    }

    fn is_app(&self, client_id: &str) -> bool {
        self.apps
            .iter()
            .any(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }
}

impl Config {
    fn validate_idp(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        let idp = &self.idp;
        if !ids::is_uuid(&idp.tenant_id) {
            return invalid(format!(
                "idp.tenant_id {:?} must be a UUID (8-4-4-4-12 hex digits)",
                idp.tenant_id
            ));
        }
        let mut names = HashSet::new();
        for name in &idp.tenant_names {
            let lower = name.to_ascii_lowercase();
            let dns = !name.is_empty()
                && name.contains('.')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !dns || !names.insert(lower) {
                return invalid(format!(
                    "idp.tenant_names: {name:?} must be a DNS name (like contoso.onmicrosoft.com), listed once"
                ));
            }
        }
        if let Some(user) = &idp.default_user {
            let is_user = self
                .mailboxes
                .iter()
                .any(|m| m.kind == MailboxKind::User && m.address.eq_ignore_ascii_case(user));
            if !is_user {
                return invalid(format!(
                    "idp.default_user {user:?} is not a [[mailbox]] of kind \"user\""
                ));
            }
        }
        let positive = [
            ("device_code_interval_secs", idp.device_code_interval_secs),
            ("device_code_expires_secs", idp.device_code_expires_secs),
        ];
        for (key, value) in positive {
            if value == 0 || value > 86_400 {
                return invalid(format!("idp.{key} must be between 1 and 86400"));
            }
        }
        let lifetime = idp.token_lifetime_secs;
        if lifetime == 0 || !(-86_400..=86_400).contains(&lifetime) {
            return invalid(
                "idp.token_lifetime_secs must be between 1 and 86400, or between -86400 and -1 \
                 for already-expired tokens"
                    .to_owned(),
            );
        }

        let mut client_ids = HashSet::new();
        let mut secret_values = HashSet::new();
        for app in &self.apps {
            let id = &app.client_id;
            if !ids::is_uuid(id) {
                return invalid(format!("app client_id {id:?} must be a UUID"));
            }
            if !client_ids.insert(id.to_ascii_lowercase()) {
                return invalid(format!("app client_id {id:?} is listed twice"));
            }
            if app.name.trim().is_empty() || app.name.chars().any(char::is_control) {
                return invalid(format!("app {id}: name must be non-empty text"));
            }
            if let Some(sp) = &app.service_principal_id
                && !ids::is_uuid(sp)
            {
                return invalid(format!(
                    "app {id}: service_principal_id {sp:?} must be a UUID"
                ));
            }
            if let Some(object_id) = &app.exchange_service_principal_object_id {
                if !ids::is_uuid(object_id) {
                    return invalid(format!(
                        "app {id}: exchange_service_principal_object_id {object_id:?} must be a UUID"
                    ));
                }
                if !app.exchange_service_principal {
                    return invalid(format!(
                        "app {id}: exchange_service_principal_object_id needs \
                         exchange_service_principal = true"
                    ));
                }
            }
            for uri in &app.redirect_uris {
                let ok = (uri.contains("://") || uri.starts_with("urn:"))
                    && !uri
                        .bytes()
                        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
                if !ok {
                    return invalid(format!("app {id}: redirect URI {uri:?} is not a URI"));
                }
            }
            let permission_lists = [
                ("delegated_consent", &app.delegated_consent),
                ("roles", &app.roles),
            ];
            for (key, list) in permission_lists {
                for name in list {
                    let ok =
                        !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
                    if !ok {
                        return invalid(format!(
                            "app {id}: {key} entry {name:?} must be a short permission name like IMAP.AccessAsUser.All"
                        ));
                    }
                }
            }
            if app.public_client && (!app.secrets.is_empty() || !app.certificates.is_empty()) {
                return invalid(format!(
                    "app {id}: a public client has no secrets or certificates"
                ));
            }
            for secret in &app.secrets {
                let value = &secret.value;
                if value.is_empty() || value.chars().any(char::is_control) {
                    return invalid(format!(
                        "app {id}: a secret value is empty or has control characters"
                    ));
                }
                if !secret_values.insert(value.as_str()) {
                    return invalid(format!("app {id}: the same secret value is listed twice"));
                }
                if clock::parse_date(&secret.expires).is_none() {
                    return invalid(format!(
                        "app {id}: secret expires {:?} is not a date YYYY-MM-DD",
                        secret.expires
                    ));
                }
            }
            for cert in &app.certificates {
                if let Err(e) = keys::client_cert(cert) {
                    return invalid(format!("app {id}: certificate: {e}"));
                }
            }
        }
        Ok(())
    }
}

fn is_plausible_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && address
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        }
        None => false,
    }
}

fn validate_folders(mailbox: &MailboxConfig) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for folder in &mailbox.folders {
        let name = &folder.name;
        let bad = name.is_empty()
            || name.starts_with('/')
            || name.ends_with('/')
            || name.contains("//")
            || name.chars().any(char::is_control);
        if bad {
            return Err(ConfigError::Invalid(format!(
                "mailbox {:?}: folder name {name:?} must be non-empty, without control characters, \
                 leading/trailing '/' or '//'",
                mailbox.address
            )));
        }
        // Exchange folder names are case-insensitive.
        if !seen.insert(name.to_lowercase()) {
            return Err(ConfigError::Invalid(format!(
                "mailbox {:?}: duplicate folder {name:?}",
                mailbox.address
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_file_parses_and_matches_demo() {
        let parsed = Config::from_toml_str(DEMO_TOML).expect("shipped demo config must parse");
        assert_eq!(parsed, Config::demo());
        assert_eq!(parsed.server, ServerConfig::default());
        assert_eq!(parsed.tenant, TenantConfig::default());
        // alice, bob, sales, payroll, carol, and the HVE accounts notify and alerts.
        assert_eq!(parsed.mailboxes.len(), 7);
        assert_eq!(parsed.mailboxes[5].kind, MailboxKind::Hve);
        assert_eq!(
            parsed.mailboxes[5].allowed_apps,
            ["66666666-7777-8888-9999-000000000000"]
        );
        assert_eq!(parsed.apps.len(), 2);
        let sales = &parsed.mailboxes[2];
        assert_eq!(sales.kind, MailboxKind::Shared);
        assert_eq!(
            sales.full_access,
            [
                "alice@contoso.example",
                "66666666-7777-8888-9999-000000000000"
            ]
        );
        assert_eq!(parsed.mailboxes[3].full_access, ["bob@contoso.example"]);
        assert_eq!(parsed.idp.tenant_id, "8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5b");
        assert_eq!(
            parsed.idp.default_user.as_deref(),
            Some("alice@contoso.example")
        );
        let (public, daemon) = (&parsed.apps[0], &parsed.apps[1]);
        assert!(public.public_client && public.secrets.is_empty());
        assert_eq!(public.redirect_uris, ["http://localhost"]);
        assert!(!daemon.public_client && daemon.exchange_service_principal);
        assert_eq!(daemon.secrets.len(), 2);
        assert_eq!(daemon.certificates, ["app-cert.pem"]);
        assert_eq!(sales.send_as, ["alice@contoso.example"]);
        assert_eq!(parsed.mailboxes[1].smtp_auth_disabled, Some(true));
        assert_eq!(parsed.mailboxes[0].smtp_auth_disabled, None);
        let carol = &parsed.mailboxes[4];
        assert!(carol.imap_enabled && !carol.pop_enabled);
        assert_eq!(sales.folders[0].messages, 5);
        assert_eq!(parsed.mailboxes[0].folders[2].messages, 0);
        assert_eq!(parsed.mailboxes[0].folders[5].name, "Entwürfe");
    }

    #[test]
    fn minimal_config_uses_defaults() {
        let c = Config::from_toml_str("").expect("empty config is valid");
        assert_eq!(c.server.hostname, "outlook.office365.com");
        assert!(c.server.starttls && c.server.sasl_ir);
        assert!(!c.server.oauthbearer && !c.server.xoauth2_error_challenge);
        assert!(!c.tenant.smtp_auth_disabled && !c.tenant.security_defaults);
        let m = Config::from_toml_str("[[mailbox]]\naddress = \"a@b.c\"\n").expect("valid");
        let m = &m.mailboxes[0];
        assert!(m.imap_enabled && m.pop_enabled && m.smtp_auth_disabled.is_none());
        let c = Config::from_toml_str("[server]\noauthbearer = true\n").expect("valid");
        assert!(c.server.oauthbearer);
        assert_eq!(c.server.idle_timeout_secs, 1800);
        assert_eq!(c.server.session_timeout_secs, 3600);
        assert_eq!(c.server.max_connections, 1000);
        let c = Config::from_toml_str("[server]\nsession_timeout_secs = 5\nmax_connections = 3\n")
            .expect("valid");
        assert_eq!(
            (c.server.session_timeout_secs, c.server.max_connections),
            (5, 3)
        );
    }

    fn err(toml: &str) -> String {
        match Config::from_toml_str(toml) {
            Ok(_) => panic!("expected an error for {toml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(err("[server]\nstarttsl = true\n").contains("starttsl"));
        assert!(err("bogus = 1\n").contains("bogus"));
        assert!(err("[[mailbox]]\naddress = \"a@b.c\"\ncolour = \"red\"\n").contains("colour"));
        assert!(err("[[mailbox]]\naddress = \"a@b.c\"\nkind = \"group\"\n").contains("group"));
    }

    #[test]
    fn permission_for_unknown_principal_is_rejected() {
        let e = err(
            "[[mailbox]]\naddress = \"a@b.c\"\nfull_access = [\"11111111-2222-3333-4444-000000000000\"]\n",
        );
        assert!(e.contains("unknown principal"), "{e}");
        assert!(e.contains("11111111-2222-3333-4444-000000000000"), "{e}");
        // A registered app id is a valid principal.
        let ok = "[[mailbox]]\naddress = \"a@b.c\"\nfull_access = [\"11111111-2222-3333-4444-000000000000\"]\n\
                  [[app]]\nclient_id = \"11111111-2222-3333-4444-000000000000\"\nname = \"x\"\n";
        assert!(Config::from_toml_str(ok).is_ok());
    }

    #[test]
    fn idp_and_apps_are_validated() {
        let app = |extra: &str| {
            format!(
                "[[app]]\nclient_id = \"11111111-2222-3333-4444-000000000000\"\nname = \"x\"\n{extra}"
            )
        };
        assert!(err("[idp]\ntenant_id = \"contoso\"\n").contains("tenant_id"));
        assert!(err("[idp]\ntenant_names = [\"common\"]\n").contains("tenant_names"));
        assert!(err("[idp]\ndefault_user = \"x@y.z\"\n").contains("default_user"));
        assert!(err("[idp]\ndevice_code_interval_secs = 0\n").contains("interval"));
        assert!(err("[idp]\ntoken_lifetime_secs = 0\n").contains("token_lifetime_secs"));
        assert!(err("[idp]\ntoken_lifetime_secs = -86401\n").contains("token_lifetime_secs"));
        assert!(Config::from_toml_str("[idp]\ntoken_lifetime_secs = -600\n").is_ok());
        assert!(err("[idp]\nfoo = 1\n").contains("foo"));
        assert!(err("[[app]]\nclient_id = \"demo\"\nname = \"x\"\n").contains("UUID"));
        assert!(err(&format!("{}{}", app(""), app(""))).contains("twice"));
        assert!(
            err(&app(
                "public_client = true\nsecrets = [{value = \"s\", expires = \"2099-01-01\"}]\n"
            ))
            .contains("public client")
        );
        assert!(
            err(&app("secrets = [{value = \"s\", expires = \"soon\"}]\n")).contains("YYYY-MM-DD")
        );
        assert!(err(&app("certificates = [\"missing.pem\"]\n")).contains("certificate"));
        assert!(
            err(&app(
                "roles = [\"https://outlook.office365.com/IMAP.AccessAsApp\"]\n"
            ))
            .contains("roles")
        );
        assert!(err(&app("redirect_uris = [\"localhost\"]\n")).contains("redirect URI"));
        assert!(err(&app("service_principal_id = \"sp\"\n")).contains("service_principal_id"));
        let e = err(&app(
            "exchange_service_principal_object_id = \"11111111-2222-3333-4444-000000000001\"\n",
        ));
        assert!(e.contains("needs exchange_service_principal"), "{e}");
        let e = err(&app(
            "exchange_service_principal = true\nexchange_service_principal_object_id = \"x\"\n",
        ));
        assert!(e.contains("must be a UUID"), "{e}");
        assert!(err(&app("colour = 1\n")).contains("colour"));
        let e = err("[[mailbox]]\naddress = \"a@b.c\"\nobject_id = \"x\"\n");
        assert!(e.contains("object_id"), "{e}");
        assert!(Config::from_toml_str(&app("certificates = [\"other-cert.pem\"]\n")).is_ok());
    }

    #[test]
    fn duplicates_are_rejected() {
        let e = err("[[mailbox]]\naddress = \"a@b.c\"\n[[mailbox]]\naddress = \"A@b.c\"\n");
        assert!(e.contains("duplicate mailbox"), "{e}");
        let e = err(
            "[[mailbox]]\naddress = \"a@b.c\"\nfolders = [{name = \"Inbox\"}, {name = \"INBOX\"}]\n",
        );
        assert!(e.contains("duplicate folder"), "{e}");
        let e = err(
            "[[app]]\nclient_id = \"11111111-2222-3333-4444-000000000000\"\nname = \"x\"\n\
             secrets = [{value = \"s\", expires = \"2099-01-01\"}, {value = \"s\", expires = \"2099-01-01\"}]\n",
        );
        assert!(e.contains("listed twice"), "{e}");
    }

    #[test]
    fn bad_names_are_rejected() {
        let e = err("[[mailbox]]\naddress = \"a@b.c\"\nfull_access = [\"x@b.c\"]\n");
        assert!(e.contains("full_access"), "{e}");
        let e = err("[[mailbox]]\naddress = \"a@b.c\"\nsend_as = [\"x@b.c\"]\n");
        assert!(e.contains("send_as") && e.contains("x@b.c"), "{e}");
        assert!(err("[tenant]\nsmtp_auth = false\n").contains("smtp_auth"));
        assert!(err("[[mailbox]]\naddress = \"nobody\"\n").contains("not an address"));
        let e = err("[[mailbox]]\naddress = \"a@b.c\"\nfolders = [{name = \"a\\r\\nb\"}]\n");
        assert!(e.contains("control"), "{e}");
        let e = err("[[mailbox]]\naddress = \"a@b.c\"\nfolders = [{name = \"a//b\"}]\n");
        assert!(e.contains("folder name"), "{e}");
        assert!(err("[server]\nhostname = \"bad host\"\n").contains("hostname"));
        assert!(err("[server]\nidle_timeout_secs = 0\n").contains("idle_timeout_secs"));
        assert!(err("[server]\nsession_timeout_secs = 0\n").contains("session_timeout_secs"));
        assert!(err("[server]\nmax_connections = 0\n").contains("max_connections"));
        assert!(err("[server]\nmax_connections = -1\n").contains("max_connections"));
        assert!(err("[server]\nstarttls = \"yes\"\n").contains("starttls"));
    }

    #[test]
    fn demo_tweaks_are_validated() {
        let mut c = Config::demo();
        c.mailboxes[2]
            .full_access
            .push("nobody@contoso.example".to_owned());
        assert!(c.validate().is_err());
        let mut c = Config::demo();
        c.apps[1].certificates.push("nope.pem".to_owned());
        assert!(c.validate().is_err());
    }

    // `[faults]` as the config parses and validates it (moved from faults.rs, which stays
    // a leaf below the config).
    mod faults {
        use super::super::*;
        use crate::faults::MailService;

        fn err(toml: &str) -> String {
            match Config::from_toml_str(toml) {
                Ok(_) => panic!("expected an error for {toml}"),
                Err(e) => e.to_string(),
            }
        }

        const USERS: &str = "[[mailbox]]\naddress = \"a@b.c\"\n[[mailbox]]\naddress = \"s@b.c\"\n\
                             kind = \"shared\"\n[[app]]\nclient_id = \
                             \"11111111-2222-3333-4444-000000000000\"\nname = \"x\"\n";

        #[test]
        fn defaults_are_no_fault() {
            let faults = Config::demo().faults;
            assert_eq!(faults, FaultsConfig::default());
            assert!(!faults.throttles(MailService::Imap));
            assert_eq!(faults.token_error("x", Some("a@b.c")), None);
        }

        #[test]
        fn faults_parse_and_match() {
            let c = Config::from_toml_str(&format!(
                "{USERS}[faults]\nthrottle = [\"pop\"]\ndelegated_audience = \"https://graph.microsoft.com\"\n\
                 [[faults.token_error]]\nuser = \"A@b.c\"\ncode = 53003\n\
                 [[faults.token_error]]\nclient_id = \"11111111-2222-3333-4444-000000000000\"\ncode = 500011\n"
            ))
            .expect("valid");
            let f = &c.faults;
            assert!(f.throttles(MailService::Pop) && !f.throttles(MailService::Smtp));
            assert_eq!(f.token_error("other", Some("a@B.c")), Some(53003));
            assert_eq!(f.token_error("other", None), None);
            assert_eq!(
                f.token_error("11111111-2222-3333-4444-000000000000", Some("a@b.c")),
                Some(500011)
            );
        }

        #[test]
        fn bad_faults_are_rejected() {
            assert!(err("[faults]\nthrottle = [\"pop3\"]\n").contains("pop3"));
            assert!(err("[faults]\nthrottle = [\"imap\", \"imap\"]\n").contains("twice"));
            assert!(err("[faults]\ndelegated_audience = \"\"\n").contains("delegated_audience"));
            assert!(err("[faults]\nslow = true\n").contains("slow"));
            let rule = |body: &str| format!("{USERS}[[faults.token_error]]\n{body}");
            assert!(err(&rule("user = \"s@b.c\"\ncode = 53003\n")).contains("kind \"user\""));
            assert!(err(&rule("user = \"x@b.c\"\ncode = 53003\n")).contains("x@b.c"));
            assert!(err(&rule("client_id = \"nope\"\ncode = 53003\n")).contains("not an [[app]]"));
            assert!(err(&rule("code = 53003\n")).contains("exactly one"));
            let e = err(&rule("user = \"a@b.c\"\ncode = 12345\n"));
            assert!(e.contains("12345") && e.contains("50076"), "{e}");
            assert!(err(&rule("user = \"a@b.c\"\ncode = 53003\ncolour = 1\n")).contains("colour"));
            let twice = format!(
                "{}[[faults.token_error]]\nuser = \"a@b.c\"\ncode = 50076\n",
                rule("user = \"a@b.c\"\ncode = 53003\n")
            );
            assert!(err(&twice).contains("listed twice"));
        }
    }
}
