//! The raw arguments: what the user typed, flag by flag, before any default or rule is applied
//! (ripgrep's "low args"). The binary fills these from clap; the builders next to this file
//! turn them into a [`Plan`](super::Plan), so every default and conflict is library code with
//! unit tests, and no clap type crosses into the library.

use std::path::PathBuf;

use crate::sasl::MechanismChoice;

use super::{Flow, Protocol, Provider};

/// `--timeout`'s default, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
/// `--deadline`'s default, in seconds: a whole check, end to end.
pub const DEFAULT_DEADLINE_SECS: f64 = 120.0;
/// `--login-wait`'s default, in seconds: long enough to sign in with MFA on a phone.
pub const DEFAULT_LOGIN_WAIT_SECS: f64 = 300.0;
/// Longest wait a `SECS` flag accepts: a day ([`timeout`](super::timeout) refuses more).
pub const MAX_SECS: f64 = 86_400.0;

/// What the policy needs to know about the machine it runs on. Read by the binary, passed in,
/// so that the rules that depend on it stay pure and testable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Environment {
    /// A browser can plausibly be opened on the user's screen (a desktop, or a display on
    /// Unix; not an SSH session without one).
    pub browser: bool,
    /// Standard input is a terminal, so no token can be piped on it.
    pub stdin_is_terminal: bool,
}

/// Where the user said the access token is (`--access-token-*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawTokenSource {
    pub access_token_env: Option<String>,
    pub access_token_file: Option<PathBuf>,
    /// `--access-token` was given. Only the fact: the token itself is refused, never kept.
    pub access_token_on_command_line: bool,
}

/// The flags that obtain a token from an identity provider.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOAuth {
    pub client_id: Option<String>,
    pub tenant: Option<String>,
    pub flow: Option<Flow>,
    pub scopes: Vec<String>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub client_secret_prompt: bool,
    pub certificate: Option<PathBuf>,
    pub certificate_password_env: Option<String>,
    /// The refused `--client-secret` / `--certificate-password` (hidden): given or not, never
    /// the value.
    pub client_secret_on_command_line: bool,
    pub certificate_password_on_command_line: bool,
    pub authority: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub device_url: Option<String>,
    pub no_cache: bool,
    pub refresh: bool,
    pub no_browser: bool,
    pub login_wait: f64,
    pub redirect_uri: Option<String>,
    pub issuer: Option<String>,
    /// The command line as typed (the program first), for the device-code command offered
    /// when no browser opens; empty when unknown.
    pub command_line: Vec<String>,
}

impl Default for RawOAuth {
    fn default() -> RawOAuth {
        RawOAuth {
            client_id: None,
            tenant: None,
            flow: None,
            scopes: Vec::new(),
            client_secret_env: None,
            client_secret_file: None,
            client_secret_prompt: false,
            certificate: None,
            certificate_password_env: None,
            client_secret_on_command_line: false,
            certificate_password_on_command_line: false,
            authority: None,
            authorize_url: None,
            token_url: None,
            device_url: None,
            no_cache: false,
            refresh: false,
            no_browser: false,
            login_wait: DEFAULT_LOGIN_WAIT_SECS,
            redirect_uri: None,
            issuer: None,
            command_line: Vec::new(),
        }
    }
}

/// The flags every command that uses a token shares.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCommon {
    pub provider: Provider,
    pub user: Option<String>,
    pub mailbox: Option<String>,
    pub mechanism: MechanismChoice,
    pub ca_files: Vec<PathBuf>,
    pub token: RawTokenSource,
    /// How many positional arguments were given: none is accepted, and their text is never
    /// kept, since a stray one is often a pasted secret.
    pub stray_arguments: usize,
    pub oauth: RawOAuth,
    pub timeout: f64,
    /// `--deadline`: seconds one whole check may take.
    pub deadline: f64,
    pub verbose: bool,
    /// `--no-pipelining` turns this off.
    pub pipelining: bool,
    pub env: Environment,
}

impl Default for RawCommon {
    fn default() -> RawCommon {
        RawCommon {
            provider: Provider::default(),
            user: None,
            mailbox: None,
            mechanism: MechanismChoice::default(),
            ca_files: Vec::new(),
            token: RawTokenSource::default(),
            stray_arguments: 0,
            oauth: RawOAuth::default(),
            timeout: DEFAULT_TIMEOUT_SECS,
            deadline: DEFAULT_DEADLINE_SECS,
            verbose: false,
            pipelining: true,
            env: Environment::default(),
        }
    }
}

/// `--send`, `--to`, `--from`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSend {
    pub send: bool,
    pub to: Vec<String>,
    pub from: Option<String>,
}

/// `xoauth imap`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawImap {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub starttls: bool,
    pub examine: Option<String>,
    pub common: RawCommon,
}

/// `xoauth pop`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawPop {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub starttls: bool,
    pub common: RawCommon,
}

/// `xoauth smtp`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawSmtp {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub implicit_tls: bool,
    pub send: RawSend,
    pub common: RawCommon,
}

/// `xoauth check`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCheck {
    /// In the order given; duplicates are refused, not merged.
    pub protocols: Vec<Protocol>,
    pub host: Option<String>,
    pub imap_host: Option<String>,
    pub imap_port: Option<u16>,
    pub pop_host: Option<String>,
    pub pop_port: Option<u16>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub starttls: bool,
    pub implicit_tls: bool,
    pub examine: Option<String>,
    pub send: RawSend,
    pub common: RawCommon,
    /// `--mailboxes FILE`: the list as read by the binary (the plan does no I/O).
    pub mailboxes: Option<RawMailboxList>,
    /// `--concurrency N`: mailboxes checked at once in an audit.
    pub concurrency: Option<usize>,
}

/// A mailbox list as read: where from (for messages) and its bytes, undecoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMailboxList {
    /// The file's name as given, or `-`.
    pub name: String,
    pub bytes: Vec<u8>,
}

impl RawMailboxList {
    /// Whether the list was read from standard input (`--mailboxes -`).
    pub fn from_stdin(&self) -> bool {
        self.name == "-"
    }
}

impl Default for RawCheck {
    fn default() -> RawCheck {
        RawCheck {
            protocols: vec![Protocol::Imap, Protocol::Pop, Protocol::Smtp],
            host: None,
            imap_host: None,
            imap_port: None,
            pop_host: None,
            pop_port: None,
            smtp_host: None,
            smtp_port: None,
            starttls: false,
            implicit_tls: false,
            examine: None,
            send: RawSend::default(),
            common: RawCommon::default(),
            mailboxes: None,
            concurrency: None,
        }
    }
}

/// `xoauth token`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTokenCmd {
    /// Which protocols the token is for; only picks the default scopes.
    pub protocols: Vec<Protocol>,
    pub common: RawCommon,
}

impl Default for RawTokenCmd {
    fn default() -> RawTokenCmd {
        RawTokenCmd {
            protocols: vec![Protocol::Imap, Protocol::Pop, Protocol::Smtp],
            common: RawCommon::default(),
        }
    }
}

/// `xoauth setup-script`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSetup {
    pub app_id: String,
    pub tenant: String,
    pub service_principal_id: Option<String>,
    pub mailboxes: Vec<String>,
    pub protocols: Vec<Protocol>,
    pub smtp_rbac: bool,
}

/// Why a `SECS` value is refused; shown by the flag parser after the flag's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecondsError {
    #[error("{0:?} is not a number; {SECS_RANGE}")]
    NotANumber(String),
    #[error("{0:?} is not a finite number; {SECS_RANGE}")]
    NotFinite(String),
    #[error("{0} seconds is too large; {SECS_RANGE}")]
    TooLarge(String),
    #[error("{0} seconds is too small; {SECS_RANGE}")]
    TooSmall(String),
}

const SECS_RANGE: &str = "give a number of seconds more than 0 and at most 86400 (24 hours)";

/// A `SECS` value: a finite number of seconds, more than 0 and at most a day. `f64` parsing
/// alone takes `inf`, `nan` and `1e300`, which no wait can be.
pub fn seconds(value: &str) -> Result<f64, SecondsError> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| SecondsError::NotANumber(value.to_string()))?;
    if !secs.is_finite() {
        Err(SecondsError::NotFinite(value.to_string()))
    } else if secs > MAX_SECS {
        Err(SecondsError::TooLarge(value.to_string()))
    } else if secs <= 0.0 {
        Err(SecondsError::TooSmall(value.to_string()))
    } else {
        Ok(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_takes_a_positive_finite_number_up_to_a_day() {
        assert_eq!(seconds("1.5"), Ok(1.5));
        assert_eq!(seconds(" 30 "), Ok(30.0));
        assert_eq!(seconds("86400"), Ok(86_400.0));
    }

    #[test]
    fn seconds_refuses_what_no_wait_can_be() {
        assert_eq!(
            seconds("soon"),
            Err(SecondsError::NotANumber("soon".into()))
        );
        assert_eq!(seconds("inf"), Err(SecondsError::NotFinite("inf".into())));
        assert_eq!(seconds("nan"), Err(SecondsError::NotFinite("nan".into())));
        assert_eq!(
            seconds("86400.5"),
            Err(SecondsError::TooLarge("86400.5".into()))
        );
        assert_eq!(seconds("0"), Err(SecondsError::TooSmall("0".into())));
        assert_eq!(seconds("-1"), Err(SecondsError::TooSmall("-1".into())));
        assert_eq!(
            SecondsError::NotANumber("x".into()).to_string(),
            "\"x\" is not a number; give a number of seconds more than 0 and at most 86400 \
             (24 hours)"
        );
    }

    #[test]
    fn defaults_are_the_flags_defaults() {
        assert_eq!(RawCommon::default().timeout, 30.0);
        assert_eq!(RawCommon::default().deadline, 120.0);
        assert_eq!(RawOAuth::default().login_wait, 300.0);
        let all = vec![Protocol::Imap, Protocol::Pop, Protocol::Smtp];
        assert_eq!(RawCheck::default().protocols, all);
        assert_eq!(RawTokenCmd::default().protocols, all);
    }
}
