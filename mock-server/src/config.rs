//! The mock's scenario: server switches, tenant policies, mailboxes with folders and
//! permissions, accepted tokens (TOML).
//!
//! Parsing is strict (`deny_unknown_fields`) and [`Config::validate`] rejects configs that
//! would make the mock lie about itself (a token for nobody, a mailbox listed twice, a folder
//! name that cannot go on the wire). Fields are public so tests can tweak `Config::demo()`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole scenario. TOML tables: `[server]`, `[tenant]`, `[[mailbox]]`, `[[token]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: protocol switches shared by every listener.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[tenant]`: organisation-wide policies.
    #[serde(default)]
    pub tenant: TenantConfig,
    /// `[[mailbox]]`: user and shared mailboxes.
    #[serde(default, rename = "mailbox")]
    pub mailboxes: Vec<MailboxConfig>,
    /// `[[token]]`: access tokens the mock accepts, each bound to a principal.
    #[serde(default, rename = "token")]
    pub tokens: Vec<TokenConfig>,
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
    /// Seconds without a complete command before the server says BYE and closes.
    pub idle_timeout_secs: u64,
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

/// `[[mailbox]]`: one mailbox (a user's own or a shared one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// SMTP address; compared case-insensitively.
    pub address: String,
    /// `"user"` (can sign in) or `"shared"` (opened through `full_access`).
    #[serde(default)]
    pub kind: MailboxKind,
    /// Principals (addresses of other mailboxes) that may open this mailbox.
    #[serde(default)]
    pub full_access: Vec<String>,
    /// Principals (addresses of other mailboxes) that may send as this mailbox
    /// (`Add-RecipientPermission -AccessRights SendAs`).
    #[serde(default)]
    pub send_as: Vec<String>,
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
}

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

/// `[[token]]`: a static access token and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The bearer token exactly as the client sends it.
    pub value: String,
    /// Address of the mailbox (principal) the token was issued to.
    pub principal: String,
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

const DEMO_TOML: &str = include_str!("../config/contoso.toml");

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
        }

        for mailbox in &self.mailboxes {
            let lists = [
                ("full_access", &mailbox.full_access),
                ("send_as", &mailbox.send_as),
            ];
            for (key, principals) in lists {
                for principal in principals {
                    if !addresses.contains(&principal.to_ascii_lowercase()) {
                        return invalid(format!(
                            "mailbox {:?}: {key} names unknown principal {principal:?}",
                            mailbox.address
                        ));
                    }
                }
            }
        }

        let mut values = HashSet::new();
        for token in &self.tokens {
            if token.value.is_empty() || token.value.bytes().any(|b| b.is_ascii_control()) {
                return invalid(format!(
                    "token for {:?}: value must be non-empty without control characters",
                    token.principal
                ));
            }
            if !values.insert(token.value.as_str()) {
                return invalid(format!(
                    "token for {:?}: the same token value is listed twice",
                    token.principal
                ));
            }
            if !addresses.contains(&token.principal.to_ascii_lowercase()) {
                return invalid(format!(
                    "token points at unknown principal {:?} (no [[mailbox]] with that address)",
                    token.principal
                ));
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
        assert_eq!(parsed.mailboxes.len(), 5);
        assert_eq!(parsed.tokens.len(), 3);
        let sales = &parsed.mailboxes[2];
        assert_eq!(sales.kind, MailboxKind::Shared);
        assert_eq!(sales.full_access, ["alice@contoso.example"]);
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
    fn token_for_unknown_principal_is_rejected() {
        let e = err("[[token]]\nvalue = \"t\"\nprincipal = \"ghost@contoso.example\"\n");
        assert!(e.contains("unknown principal"), "{e}");
        assert!(e.contains("ghost@contoso.example"), "{e}");
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
            "[[mailbox]]\naddress = \"a@b.c\"\n[[token]]\nvalue = \"t\"\nprincipal = \"a@b.c\"\n\
             [[token]]\nvalue = \"t\"\nprincipal = \"a@b.c\"\n",
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
        assert!(err("[server]\nstarttls = \"yes\"\n").contains("starttls"));
    }

    #[test]
    fn demo_tweaks_are_validated() {
        let mut c = Config::demo();
        c.tokens[0].principal = "nobody@contoso.example".to_owned();
        assert!(c.validate().is_err());
    }
}
