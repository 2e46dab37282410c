//! A resolved, validated check: every default applied, every conflict rejected. Building a
//! plan does no I/O, so what a command will do can be tested without a network.

use std::path::PathBuf;
use std::time::Duration;

use crate::sasl::MechanismChoice;
use crate::token::TokenSource;
use crate::transport::{Limits, Security};

/// Well-known services whose endpoints xoauth knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    #[default]
    Microsoft,
    Google,
    /// Any other server: `--host` is required.
    Custom,
}

impl Provider {
    pub fn imap_host(self) -> Option<&'static str> {
        match self {
            Provider::Microsoft => Some("outlook.office365.com"),
            Provider::Google => Some("imap.gmail.com"),
            Provider::Custom => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

impl Endpoint {
    /// The host and port for IMAP: explicit values win, then the provider's, then the
    /// protocol's standard port for the chosen security.
    pub fn imap(
        provider: Provider,
        host: Option<String>,
        port: Option<u16>,
        security: Security,
    ) -> Result<Endpoint, PlanError> {
        let host = match host.or_else(|| provider.imap_host().map(str::to_string)) {
            Some(h) if !h.trim().is_empty() => h.trim().to_string(),
            _ => return Err(PlanError::HostRequired),
        };
        let port = port.unwrap_or(match security {
            Security::ImplicitTls => 993,
            Security::StartTls => 143,
        });
        if port == 0 {
            return Err(PlanError::BadPort);
        }
        Ok(Endpoint {
            host,
            port,
            security,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("--host is required with --provider custom")]
    HostRequired,
    #[error("--port must be between 1 and 65535")]
    BadPort,
    #[error("--timeout must be more than 0 seconds")]
    BadTimeout,
    #[error("{what} {value:?} does not look like an e-mail address")]
    BadAddress { what: &'static str, value: String },
}

/// One IMAP check.
#[derive(Debug, Clone)]
pub struct ImapPlan {
    pub endpoint: Endpoint,
    /// The identity the token is for.
    pub user: String,
    /// The mailbox to open; the user's own when `None`.
    pub mailbox: Option<String>,
    pub mechanism: MechanismChoice,
    pub examine: Option<String>,
    pub ca_files: Vec<PathBuf>,
    /// CAs given in memory (the demo's mock, library callers), trusted like `ca_files`.
    pub extra_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    pub token: TokenSource,
    pub timeout: Duration,
    pub limits: Limits,
    /// Keep the transcript in the report.
    pub transcript: bool,
}

impl ImapPlan {
    /// The mailbox named in `user=`.
    pub fn authzid(&self) -> &str {
        self.mailbox.as_deref().unwrap_or(&self.user)
    }
}

/// Checks that an address has the shape `local@domain` (the server decides the rest).
pub fn check_address(what: &'static str, value: &str) -> Result<String, PlanError> {
    let v = value.trim();
    let ok = matches!(v.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty())
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(v.to_string())
    } else {
        Err(PlanError::BadAddress {
            what,
            value: value.to_string(),
        })
    }
}

/// A per-step timeout from seconds.
pub fn timeout(secs: f64) -> Result<Duration, PlanError> {
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(PlanError::BadTimeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_defaults_and_overrides() {
        let e = Endpoint::imap(Provider::Microsoft, None, None, Security::ImplicitTls).unwrap();
        assert_eq!((e.host.as_str(), e.port), ("outlook.office365.com", 993));
        let e = Endpoint::imap(Provider::Google, None, None, Security::StartTls).unwrap();
        assert_eq!((e.host.as_str(), e.port), ("imap.gmail.com", 143));
        let e = Endpoint::imap(
            Provider::Microsoft,
            Some("mail.example".into()),
            Some(1993),
            Security::ImplicitTls,
        )
        .unwrap();
        assert_eq!((e.host.as_str(), e.port), ("mail.example", 1993));
        assert_eq!(
            Endpoint::imap(Provider::Custom, None, None, Security::ImplicitTls),
            Err(PlanError::HostRequired)
        );
        assert_eq!(
            Endpoint::imap(
                Provider::Custom,
                Some("h".into()),
                Some(0),
                Security::StartTls
            ),
            Err(PlanError::BadPort)
        );
    }

    #[test]
    fn addresses_and_timeouts() {
        assert!(check_address("--user", "a@b.example").is_ok());
        assert!(check_address("--user", "alice").is_err());
        assert!(check_address("--user", "a b@c").is_err());
        assert!(check_address("--user", "@c").is_err());
        assert!(timeout(0.0).is_err() && timeout(-1.0).is_err() && timeout(f64::NAN).is_err());
        assert_eq!(timeout(1.5).unwrap(), Duration::from_millis(1500));
    }
}
