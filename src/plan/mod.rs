//! A resolved, validated run: every default applied, every conflict rejected. Building a plan
//! does no I/O, so what a command will do can be tested without a network.
//!
//! The raw flags ([`args`]) become a plan here, not in the binary: `common` holds the token
//! and identity rules, `oauth` the flow choice, `checks` the per-command endpoints and the test
//! message, `setup` the setup script's request; [`UsageError`] says why flags cannot run.
//! [`profile`] parses a config file's profiles (the binary reads the file and turns the chosen
//! profile into flags).

use std::path::PathBuf;
use std::time::Duration;

use crate::sasl::MechanismChoice;
pub use crate::service::{Protocol, Provider};
// The token layer owns what it takes; a plan composes it.
pub use crate::token::input::{ClientCredential, Flow, OAuthPlan, SecretSource, TokenPlan};
use crate::transport::{Limits, Security};

pub mod args;
pub mod audit;
mod checks;
mod common;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod mailboxes;
mod oauth;
pub mod profile;
mod rerun;
mod setup;
mod usage;

pub use usage::UsageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

/// The standard port for the protocol and security (RFC 8314 for the implicit-TLS ones).
pub fn default_port(protocol: Protocol, security: Security) -> u16 {
    match (protocol, security) {
        (Protocol::Imap, Security::ImplicitTls) => 993,
        (Protocol::Imap, Security::StartTls) => 143,
        (Protocol::Pop, Security::ImplicitTls) => 995,
        (Protocol::Pop, Security::StartTls) => 110,
        (Protocol::Smtp, Security::ImplicitTls) => 465,
        (Protocol::Smtp, Security::StartTls) => 587,
    }
}

impl Endpoint {
    /// Explicit values win, then the provider's host, then the protocol's standard port.
    pub fn resolve(
        protocol: Protocol,
        provider: Provider,
        host: Option<String>,
        port: Option<u16>,
        security: Security,
    ) -> Result<Endpoint, PlanError> {
        let host = match host.or_else(|| provider.host(protocol).map(str::to_string)) {
            Some(h) if !h.trim().is_empty() => h.trim().to_string(),
            _ if provider == Provider::MicrosoftHve => {
                return Err(PlanError::HveIsSmtpOnly(protocol.name()));
            }
            _ => return Err(PlanError::HostRequired(protocol.name())),
        };
        let port = port.unwrap_or(default_port(protocol, security));
        if port == 0 {
            return Err(PlanError::BadPort);
        }
        Ok(Endpoint {
            host,
            port,
            security,
        })
    }

    /// Exchange Online's hosts, whose known quirks (no SMTP on 465) are worth a warning.
    pub fn is_exchange_online(&self) -> bool {
        let h = self.host.to_ascii_lowercase();
        h.ends_with(".office365.com")
            || h.ends_with(".outlook.com")
            || h.ends_with(".office365.us")
            || self.is_hve()
    }

    /// High Volume Email's SMTP endpoint, whose failures have their own causes.
    pub fn is_hve(&self) -> bool {
        crate::service::is_hve_host(&self.host)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("a host is required for {0} with --provider custom (--host or --{0}-host)")]
    HostRequired(&'static str),
    #[error(
        "--provider microsoft-hve is High Volume Email, which is SMTP submission only and has no \
         {0}: run `xoauth smtp --provider microsoft-hve` (or `xoauth check --protocols smtp`), \
         and check {0} with --provider microsoft"
    )]
    HveIsSmtpOnly(&'static str),
    #[error("ports must be between 1 and 65535")]
    BadPort,
    #[error("--timeout must be more than 0 seconds")]
    BadTimeout,
    #[error("--deadline must be more than 0 seconds")]
    BadDeadline,
    #[error("{what} {value:?} does not look like an e-mail address")]
    BadAddress { what: &'static str, value: String },
    #[error("{what} {value:?} is not one e-mail address: {why}")]
    NotOneAddress {
        what: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("{what} {value:?} contains {slip}")]
    Autocorrect {
        what: &'static str,
        value: String,
        slip: String,
    },
    #[error("--send needs --to ADDR")]
    SendWithoutRecipient,
    #[error("--to and --from only make sense with --send")]
    RecipientWithoutSend,
    #[error("--protocols needs at least one of imap, pop, smtp")]
    NoProtocols,
    #[error("--send needs smtp in --protocols")]
    SendWithoutSmtp,
    #[error(
        "{flag} is for {protocol}, which --protocols does not check; add {protocol} to \
         --protocols or leave {flag} out"
    )]
    FlagForUncheckedProtocol {
        flag: &'static str,
        protocol: &'static str,
    },
    #[error("--protocols lists {0} twice")]
    DuplicateProtocol(&'static str),
    #[error(
        "{flag} {value:?}: the port after the host must be a number from 1 to 65535 \
         (an IPv6 address with a port is written [::1]:993)"
    )]
    BadHostPort { flag: &'static str, value: String },
    #[error(
        "{flag} {value:?} starts with {scheme}://; give the host alone (with :PORT if need \
         be): xoauth speaks the protocol itself, and --starttls / --implicit-tls choose \
         between STARTTLS and implicit TLS"
    )]
    HostWithScheme {
        flag: &'static str,
        value: String,
        scheme: String,
    },
    #[error(
        "{flag} {value:?}: the [ before the IPv6 address is not closed; write it [::1] or, \
         with a port, [::1]:993"
    )]
    UnclosedBracket { flag: &'static str, value: String },
    #[error(
        "{flag} {value:?} is ambiguous: it ends in :{port}, a mail port, but reads as one IPv6 \
         address too. Write [{address}]:{port} for the address {address} on port {port}, or \
         [{value}] for the address as given"
    )]
    AmbiguousIpv6 {
        flag: &'static str,
        value: String,
        address: String,
        port: u16,
    },
    #[error(
        "{flag} {value:?} names port {embedded} but {port_flag} says {port}; give the port once"
    )]
    PortTwice {
        flag: &'static str,
        value: String,
        embedded: u16,
        port_flag: &'static str,
        port: u16,
    },
    #[error(
        "--host {0:?} carries a port, but check's --host applies to every protocol; give the \
         ports with --imap-port, --pop-port and --smtp-port"
    )]
    SharedHostWithPort(String),
}

/// The ports mail is served on: a bare IPv6 address ending in one of them as its last group
/// (`::1:993`) was almost surely meant as address and port.
const MAIL_PORTS: [u16; 7] = [993, 143, 995, 110, 587, 465, 25];

/// Splits a host flag that carries a port (`mail.example:1993`, `[::1]:993`) so the port is
/// used as one, not looked up as part of the name. A bare IPv6 address (`::1`, more than one
/// colon, no brackets) is a host without a port; `[::1]` loses its brackets for name lookup.
/// `port_flag`'s value, when given too, must agree.
///
/// Refused rather than guessed: a URL scheme (`imaps://host`, which would be looked up as a
/// name), an unclosed `[`, and a bare IPv6 address whose last group is a mail port (`::1:993`
/// is a valid address, `0:0:0:0:0:0:1:993`, but nobody types it; the brackets say which is
/// meant either way).
pub fn host_and_port(
    host: Option<String>,
    port: Option<u16>,
    flag: &'static str,
    port_flag: &'static str,
) -> Result<(Option<String>, Option<u16>), PlanError> {
    let Some(value) = host else {
        return Ok((None, port));
    };
    let v = value.trim();
    let bad = || PlanError::BadHostPort {
        flag,
        value: value.clone(),
    };
    if let Some((scheme, _)) = v.split_once("://") {
        return Err(PlanError::HostWithScheme {
            flag,
            value: value.clone(),
            scheme: scheme.to_string(),
        });
    }
    let (name, embedded) = if let Some(rest) = v.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| PlanError::UnclosedBracket {
                flag,
                value: value.clone(),
            })?;
        match after {
            "" => (inside, None),
            _ => (inside, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match v.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, Some(p)),
            _ => {
                if v.parse::<std::net::Ipv6Addr>().is_ok()
                    && let Some((address, last)) = v.rsplit_once(':')
                    && let Ok(port) = last.parse::<u16>()
                    && MAIL_PORTS.contains(&port)
                    && address.parse::<std::net::Ipv6Addr>().is_ok()
                {
                    return Err(PlanError::AmbiguousIpv6 {
                        flag,
                        value: value.clone(),
                        address: address.to_string(),
                        port,
                    });
                }
                (v, None)
            }
        }
    };
    let embedded = match embedded {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 && !name.is_empty() => Some(n),
            _ => return Err(bad()),
        },
    };
    match (embedded, port) {
        (Some(e), Some(p)) if e != p => Err(PlanError::PortTwice {
            flag,
            value: value.clone(),
            embedded: e,
            port_flag,
            port: p,
        }),
        _ => Ok((Some(name.to_string()), embedded.or(port))),
    }
}

/// IMAP-only options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImapOptions {
    /// A folder to EXAMINE (read-only) for its message count.
    pub examine: Option<String>,
    /// A Message-ID (with angle brackets) to look for in INBOX, e.g. the test message just sent.
    pub find_message_id: Option<String>,
}

/// A test message to submit over SMTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendPlan {
    pub from: String,
    pub to: Vec<String>,
    /// Unique per run; in the Subject and the Message-ID so the message can be found again.
    pub run_id: String,
    /// `<xoauth.RUN_ID@domain-of-from>`.
    pub message_id: String,
    /// Why IMAP, though checked, does not look for the message; the report says it, so a
    /// search that never ran is not read as one that found nothing.
    pub not_searched: Option<String>,
}

impl SendPlan {
    pub fn new(from: String, to: Vec<String>, run_id: String) -> SendPlan {
        let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
        let message_id = format!("<xoauth.{run_id}@{domain}>");
        SendPlan {
            from,
            to,
            run_id,
            message_id,
            not_searched: None,
        }
    }
}

/// One check of one protocol; the variants carry only the options that protocol has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Imap {
        endpoint: Endpoint,
        options: ImapOptions,
    },
    Pop {
        endpoint: Endpoint,
    },
    Smtp {
        endpoint: Endpoint,
        send: Option<SendPlan>,
    },
}

impl Check {
    pub fn protocol(&self) -> Protocol {
        match self {
            Check::Imap { .. } => Protocol::Imap,
            Check::Pop { .. } => Protocol::Pop,
            Check::Smtp { .. } => Protocol::Smtp,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        match self {
            Check::Imap { endpoint, .. }
            | Check::Pop { endpoint }
            | Check::Smtp { endpoint, .. } => endpoint,
        }
    }
}

/// Everything a run needs: one identity and token, one or more checks.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The identity the token is for; `None` for an app-only token run without `--user`.
    pub user: Option<String>,
    /// The mailbox to open; the user's own when `None`.
    pub mailbox: Option<String>,
    pub token: TokenPlan,
    pub mechanism: MechanismChoice,
    pub ca_files: Vec<PathBuf>,
    /// CAs given in memory (the demo's mock, library callers), trusted like `ca_files`.
    pub extra_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    pub timeout: Duration,
    pub limits: Limits,
    /// Keep the transcript in the report.
    pub transcript: bool,
    /// Send a command before the previous one's reply where the protocol allows it (IMAP
    /// LIST with AUTHENTICATE, SMTP MAIL/RCPT/DATA under PIPELINING, LOGOUT/QUIT unwaited):
    /// fewer round trips. Off is the escape hatch for a server that mishandles it.
    pub pipelining: bool,
    /// The service is High Volume Email (`--provider microsoft-hve`, whatever the host: a test
    /// or a relay may stand in for it), whose failures have their own causes.
    pub hve: bool,
    pub checks: Vec<Check>,
}

impl Plan {
    /// The mailbox named in `user=`: `--mailbox`, else the user's own. Empty only in a plan
    /// with no check (the token command for an app-only token).
    pub fn authzid(&self) -> &str {
        self.mailbox
            .as_deref()
            .or(self.user.as_deref())
            .unwrap_or_default()
    }

    /// Who the report names: the user, else (app-only) the mailbox the app opens.
    pub fn who(&self) -> &str {
        self.user.as_deref().unwrap_or_else(|| self.authzid())
    }
}

/// Checks that an address has the shape `local@domain` (the server decides the rest).
/// One bare address, `local@domain`: a list (`a@x,b@y`), a display name or a control
/// character would otherwise reach XOAUTH2's `user=`, the login hint and the report.
pub fn check_address(what: &'static str, value: &str) -> Result<String, PlanError> {
    let v = value.trim();
    // `o’brien@…` signs in as nobody: a typographic quote or dash is an editor's slip, and
    // the same rule the setup script and the fix lines hold an address to.
    if let Some(slip) = crate::powershell::autocorrect_slip(v) {
        return Err(PlanError::Autocorrect {
            what,
            value: value.to_string(),
            slip,
        });
    }
    let why = if v.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if v.contains([',', ';']) {
        Some("it is a list; give a single address")
    } else if v.chars().any(char::is_whitespace) {
        Some("it contains a space")
    } else if v.contains(['<', '>']) {
        Some("give the bare address, without a name or <>")
    } else if v.matches('@').count() > 1 {
        Some("it contains more than one @")
    } else {
        None
    };
    if let Some(why) = why {
        return Err(PlanError::NotOneAddress {
            what,
            value: value.to_string(),
            why,
        });
    }
    if matches!(v.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty()) {
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

/// A fresh run id: 12 lowercase hex digits from the system's secure RNG.
pub fn new_run_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 6];
    // SystemRandom only fails when the OS has no entropy source at all; the time then still
    // gives a usable, if guessable, id (it is a label, not a secret).
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes.copy_from_slice(&nanos.to_le_bytes()[..6]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_defaults_and_overrides() {
        let e = |p, prov, host, port, sec| Endpoint::resolve(p, prov, host, port, sec);
        let m = e(
            Protocol::Imap,
            Provider::Microsoft,
            None,
            None,
            Security::ImplicitTls,
        )
        .unwrap();
        assert_eq!((m.host.as_str(), m.port), ("outlook.office365.com", 993));
        let m = e(
            Protocol::Pop,
            Provider::Microsoft,
            None,
            None,
            Security::ImplicitTls,
        )
        .unwrap();
        assert_eq!((m.host.as_str(), m.port), ("outlook.office365.com", 995));
        let m = e(
            Protocol::Smtp,
            Provider::Microsoft,
            None,
            None,
            Security::StartTls,
        )
        .unwrap();
        assert_eq!((m.host.as_str(), m.port), ("smtp.office365.com", 587));
        assert!(m.is_exchange_online());
        let g = e(
            Protocol::Pop,
            Provider::Google,
            None,
            None,
            Security::StartTls,
        )
        .unwrap();
        assert_eq!((g.host.as_str(), g.port), ("pop.gmail.com", 110));
        let g = e(
            Protocol::Smtp,
            Provider::Google,
            None,
            None,
            Security::ImplicitTls,
        )
        .unwrap();
        assert_eq!((g.host.as_str(), g.port), ("smtp.gmail.com", 465));
        assert!(!g.is_exchange_online());
        let c = e(
            Protocol::Imap,
            Provider::Microsoft,
            Some("mail.example".into()),
            Some(1993),
            Security::ImplicitTls,
        )
        .unwrap();
        assert_eq!((c.host.as_str(), c.port), ("mail.example", 1993));
        assert_eq!(
            e(
                Protocol::Pop,
                Provider::Custom,
                None,
                None,
                Security::ImplicitTls
            ),
            Err(PlanError::HostRequired("pop"))
        );
        assert_eq!(
            e(
                Protocol::Imap,
                Provider::Custom,
                Some("h".into()),
                Some(0),
                Security::StartTls
            ),
            Err(PlanError::BadPort)
        );
    }

    #[test]
    fn a_host_may_carry_its_port() {
        let hp = |h: &str, p| host_and_port(Some(h.into()), p, "--host", "--port");
        let ok = |h: &str, p: Option<u16>| (Some(h.to_string()), p);
        assert_eq!(
            hp("127.0.0.1:44905", None),
            Ok(ok("127.0.0.1", Some(44905)))
        );
        assert_eq!(
            hp("mail.example", Some(143)),
            Ok(ok("mail.example", Some(143)))
        );
        assert_eq!(hp("[::1]:993", None), Ok(ok("::1", Some(993))));
        assert_eq!(hp("[::1]", Some(143)), Ok(ok("::1", Some(143))));
        // A bare IPv6 address is a host, not host:port.
        assert_eq!(hp("::1", None), Ok(ok("::1", None)));
        assert_eq!(hp("fe80::1:1234", None), Ok(ok("fe80::1:1234", None)));
        // `2001:db8::25` ends in 25, but `2001:db8:` is no address: nothing to confuse.
        assert_eq!(
            hp("2001:db8::25", Some(25)),
            Ok(ok("2001:db8::25", Some(25)))
        );
        // ... unless its last group is a mail port: then the brackets must say which.
        assert_eq!(hp("[fe80::1:993]", None), Ok(ok("fe80::1:993", None)));
        assert_eq!(hp("[::1]:993", None), Ok(ok("::1", Some(993))));
        assert_eq!(hp("h:993", Some(993)), Ok(ok("h", Some(993))));
        assert!(matches!(
            hp("h:993", Some(143)),
            Err(PlanError::PortTwice { .. })
        ));
        for (bad, port) in [("::1:993", 993), ("fe80::1:993", 993), ("::1:587", 587)] {
            for given in [None, Some(port)] {
                let e = hp(bad, given).unwrap_err();
                assert!(matches!(e, PlanError::AmbiguousIpv6 { .. }), "{bad}: {e:?}");
                assert!(
                    e.to_string().contains(&format!("]:{port} for the address")),
                    "{e}"
                );
            }
        }
        let e = hp("::1:993", None).unwrap_err().to_string();
        assert!(e.contains("Write [::1]:993"), "{e}");
        for scheme in [
            "imaps://127.0.0.1:46019",
            "smtp://mail.example",
            "https://x",
        ] {
            let e = hp(scheme, None).unwrap_err();
            assert!(
                matches!(e, PlanError::HostWithScheme { .. }),
                "{scheme}: {e:?}"
            );
            assert!(e.to_string().contains("--starttls / --implicit-tls"), "{e}");
        }
        for bad in ["[::1", "[::1:993", "[fe80::1"] {
            let e = hp(bad, None).unwrap_err();
            assert!(
                matches!(e, PlanError::UnclosedBracket { .. }),
                "{bad}: {e:?}"
            );
            assert!(e.to_string().contains("is not closed"), "{e}");
        }
        for bad in ["h:", "h:0", "h:99999", "h:imap", ":993", "[::1]993"] {
            assert!(
                matches!(hp(bad, None), Err(PlanError::BadHostPort { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            host_and_port(None, Some(1), "--host", "--port"),
            Ok((None, Some(1)))
        );
    }

    #[test]
    fn addresses_timeouts_and_run_ids() {
        assert!(check_address("--user", "a@b.example").is_ok());
        assert!(check_address("--user", "alice").is_err());
        assert!(check_address("--user", "a b@c").is_err());
        assert!(check_address("--user", "@c").is_err());
        assert!(check_address("--to", "<a@b>").is_err());
        assert!(check_address("--user", "o'brien@b.example").is_ok());
        for q in ['\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'] {
            let e = check_address("--user", &format!("o{q}brien@b.example")).unwrap_err();
            assert!(
                matches!(e, PlanError::Autocorrect { what: "--user", .. }),
                "{e:?}"
            );
            let text = e.to_string();
            assert!(text.starts_with("--user "), "{text}");
            assert!(text.contains("probably an autocorrect slip of '"), "{text}");
        }
        assert!(timeout(0.0).is_err() && timeout(-1.0).is_err() && timeout(f64::NAN).is_err());
        assert_eq!(timeout(1.5).unwrap(), Duration::from_millis(1500));
        let (a, b) = (new_run_id(), new_run_id());
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn send_plan_message_id_uses_the_sender_domain() {
        let s = SendPlan::new(
            "a@contoso.example".into(),
            vec!["b@x".into()],
            "0123456789ab".into(),
        );
        assert_eq!(s.message_id, "<xoauth.0123456789ab@contoso.example>");
    }
}
