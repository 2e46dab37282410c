//! Large tenants on demand: `[generate] mailboxes = N` (or `--generate-mailboxes N`) adds N
//! shared mailboxes with a fixed, documented mix of outcomes for one app and one delegate,
//! so a bulk audit can be tested cell by cell and benchmarked offline.
//!
//! The mix repeats every ten mailboxes (index `i` from 1, slot `(i - 1) % 10`):
//!
//! | slot | address                     | IMAP                          | POP           | SMTP AUTH            |
//! |------|-----------------------------|-------------------------------|---------------|----------------------|
//! | 0, 6–9 | `allowed-0001@…`          | pass                          | pass          | pass                 |
//! | 1    | `denied-0002@…`             | authenticated_not_connected   | auth_rejected | auth_rejected        |
//! | 2    | `imap-disabled-0003@…`      | authenticated_not_connected   | pass          | pass                 |
//! | 3    | `pop-disabled-0004@…`       | pass                          | auth_rejected | pass                 |
//! | 4    | `smtp-disabled-0005@…`      | pass                          | pass          | smtp_auth_disabled   |
//! | 5    | `no-sendas-0006@…`          | pass                          | pass          | auth_rejected        |
//!
//! So any N ≥ 6 has every outcome, and a multiple of ten is exactly 50 % allowed and 10 % of
//! each other kind. "denied" has no FullAccess; "no-sendas" has FullAccess but no SendAs
//! (every generated mailbox sets `smtp_send_as_required`, so SMTP AUTH into it needs SendAs
//! as well, as Exchange asks for `SMTP.SendAsApp` scoped to the mailbox or SendAs). The
//! table holds for the demo tenant; [`expected`] works out each cell from the tenant's
//! actual policies (a tenant with SMTP AUTH off turns every SMTP cell into
//! `smtp_auth_disabled`), assuming a token the mail services accept for all three protocols.
//! Each generated mailbox has only an empty Inbox, so 10,000 of them stay small.

pub use crate::config::GenerateConfig;
use crate::config::{Config, ConfigError, MailboxConfig, MailboxKind};
use crate::directory::{Directory, SmtpAuthBlock};

/// Most mailboxes `[generate]` adds: far beyond any audit a test runs, small enough that a
/// typo (an extra zero or three) cannot eat the machine's memory.
pub const MAX_GENERATED: usize = 1_000_000;

/// The intended outcome of a generated mailbox: its slot in the mix (and its address's
/// first word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mix {
    /// FullAccess and SendAs for the app and the delegate: every protocol passes.
    Allowed,
    /// No FullAccess for anyone.
    Denied,
    /// `Set-CASMailbox -ImapEnabled $false`.
    ImapDisabled,
    /// `Set-CASMailbox -PopEnabled $false`.
    PopDisabled,
    /// `Set-CASMailbox -SmtpClientAuthenticationDisabled $true`.
    SmtpDisabled,
    /// FullAccess but no SendAs: IMAP and POP pass, SMTP AUTH is refused.
    NoSendAs,
}

impl Mix {
    /// Every outcome, in slot order of their first appearance.
    pub const ALL: [Mix; 6] = [
        Mix::Allowed,
        Mix::Denied,
        Mix::ImapDisabled,
        Mix::PopDisabled,
        Mix::SmtpDisabled,
        Mix::NoSendAs,
    ];

    /// The outcome of the `i`-th generated mailbox (from 1).
    pub fn of(i: usize) -> Mix {
        match i.saturating_sub(1) % 10 {
            1 => Mix::Denied,
            2 => Mix::ImapDisabled,
            3 => Mix::PopDisabled,
            4 => Mix::SmtpDisabled,
            5 => Mix::NoSendAs,
            _ => Mix::Allowed,
        }
    }

    /// The address prefix naming the outcome.
    pub fn label(self) -> &'static str {
        match self {
            Mix::Allowed => "allowed",
            Mix::Denied => "denied",
            Mix::ImapDisabled => "imap-disabled",
            Mix::PopDisabled => "pop-disabled",
            Mix::SmtpDisabled => "smtp-disabled",
            Mix::NoSendAs => "no-sendas",
        }
    }
}

/// One mailbox's expected audit row: each cell `"pass"` or the failure kind xoauth reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The mailbox address.
    pub address: String,
    /// IMAP cell.
    pub imap: &'static str,
    /// POP cell.
    pub pop: &'static str,
    /// SMTP cell (AUTH only, no message sent).
    pub smtp: &'static str,
}

impl Config {
    /// This config with `[generate]` carried out: the generated mailboxes appended and
    /// `generate.mailboxes` reset to 0 (so doing it twice adds nothing). `MockServer::start`
    /// does this itself; tests call it to see what will be served.
    pub fn with_generated(mut self) -> Result<Config, ConfigError> {
        let generated = generated_mailboxes(&self)?;
        self.mailboxes.extend(generated);
        self.generate.mailboxes = 0;
        Ok(self)
    }

    /// The addresses `[generate]` adds, in order (none when `mailboxes = 0`).
    pub fn generated_addresses(&self) -> Result<Vec<String>, ConfigError> {
        Ok(generated_mailboxes(self)?
            .into_iter()
            .map(|m| m.address)
            .collect())
    }
}

/// The app `[generate]` grants access to: `generate.app`, else the first app with
/// `exchange_service_principal` (none if there is no such app).
pub fn generate_app(config: &Config) -> Result<Option<String>, ConfigError> {
    match &config.generate.app {
        Some(id) => match (config.apps.iter()).find(|a| a.client_id.eq_ignore_ascii_case(id)) {
            Some(app) => Ok(Some(app.client_id.clone())),
            None => Err(ConfigError::Invalid(format!(
                "generate.app {id:?} is not an [[app]] client_id"
            ))),
        },
        None => Ok((config.apps.iter())
            .find(|a| a.exchange_service_principal)
            .map(|a| a.client_id.clone())),
    }
}

/// The user `[generate]` grants access to: `generate.delegate`, else `[idp] default_user`,
/// else the first user mailbox (none if there is no user mailbox).
pub fn generate_delegate(config: &Config) -> Result<Option<String>, ConfigError> {
    let is_user = |a: &str| {
        (config.mailboxes.iter())
            .any(|m| m.kind == MailboxKind::User && m.address.eq_ignore_ascii_case(a))
    };
    match &config.generate.delegate {
        Some(user) if is_user(user) => Ok(Some(user.clone())),
        Some(user) => Err(ConfigError::Invalid(format!(
            "generate.delegate {user:?} is not a [[mailbox]] of kind \"user\""
        ))),
        None => Ok((config.idp.default_user.clone())
            .filter(|u| is_user(u))
            .or_else(|| {
                (config.mailboxes.iter())
                    .find(|m| m.kind == MailboxKind::User)
                    .map(|m| m.address.clone())
            })),
    }
}

/// The mailboxes `[generate]` describes for `config` (empty when `mailboxes = 0`).
fn generated_mailboxes(config: &Config) -> Result<Vec<MailboxConfig>, ConfigError> {
    let spec = &config.generate;
    if spec.mailboxes == 0 {
        return Ok(Vec::new());
    }
    let invalid = |msg: String| Err(ConfigError::Invalid(msg));
    if spec.mailboxes > MAX_GENERATED {
        return invalid(format!(
            "generate.mailboxes {} is more than {MAX_GENERATED}",
            spec.mailboxes
        ));
    }
    let app = generate_app(config)?;
    let delegate = generate_delegate(config)?;
    if app.is_none() && delegate.is_none() {
        return invalid(
            "generate: nobody to grant access to (no [[app]] with exchange_service_principal \
             and no user [[mailbox]]); set generate.app or generate.delegate"
                .to_owned(),
        );
    }
    let domain = match &spec.domain {
        Some(d) => d.clone(),
        None => (delegate.as_deref().and_then(|u| u.split_once('@')))
            .map(|(_, d)| d.to_owned())
            .or_else(|| config.idp.tenant_names.first().cloned())
            .unwrap_or_else(|| "contoso.example".to_owned()),
    };
    let domain_ok = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !domain_ok {
        return invalid(format!(
            "generate.domain {domain:?} must be a DNS name (letters, digits, '.', '-')"
        ));
    }
    let trustees: Vec<String> = app.into_iter().chain(delegate).collect();
    let width = spec.mailboxes.to_string().len().max(4);
    Ok((1..=spec.mailboxes)
        .map(|i| {
            let mix = Mix::of(i);
            let granted = mix != Mix::Denied;
            let send_as = matches!(
                mix,
                Mix::Allowed | Mix::ImapDisabled | Mix::PopDisabled | Mix::SmtpDisabled
            );
            MailboxConfig {
                address: format!("{}-{i:0width$}@{domain}", mix.label()),
                kind: MailboxKind::Shared,
                full_access: if granted {
                    trustees.clone()
                } else {
                    Vec::new()
                },
                send_as: if send_as {
                    trustees.clone()
                } else {
                    Vec::new()
                },
                object_id: None,
                // Only the Inbox Exchange always has (added by the directory).
                folders: Vec::new(),
                imap_enabled: mix != Mix::ImapDisabled,
                pop_enabled: mix != Mix::PopDisabled,
                smtp_auth_disabled: (mix == Mix::SmtpDisabled).then_some(true),
                smtp_send_as_required: true,
                allowed_apps: Vec::new(),
            }
        })
        .collect())
}

/// What xoauth should report for `principal` (an app's client id or a user's address, with a
/// token the mail services accept for IMAP, POP and SMTP) checking each of `addresses`
/// against a mock serving `config` (after [`Config::with_generated`]). Addresses the mock
/// does not know come out as they would: refused everywhere. Throttling is not modelled.
pub fn expected(config: &Config, principal: &str, addresses: &[String]) -> Vec<Expected> {
    let directory = Directory::new(config);
    addresses
        .iter()
        .map(|address| {
            let open = directory.open(principal, address);
            let imap = match open {
                Some(m) if m.imap_enabled => "pass",
                // Exchange authenticates, then will not connect the mailbox.
                _ => "authenticated_not_connected",
            };
            let pop = match open {
                Some(m) if m.pop_enabled => "pass",
                _ => "auth_rejected",
            };
            let smtp = match open {
                Some(m) if directory.smtp_send_as_ok(principal, m) => {
                    match directory.smtp_auth_block(m) {
                        None => "pass",
                        Some(SmtpAuthBlock::Tenant | SmtpAuthBlock::Mailbox) => {
                            "smtp_auth_disabled"
                        }
                        Some(SmtpAuthBlock::SecurityDefaults) => "auth_blocked_by_policy",
                    }
                }
                _ => "auth_rejected",
            };
            Expected {
                address: address.clone(),
                imap,
                pop,
                smtp,
            }
        })
        .collect()
}

/// The `--mailboxes-out` file: a `#` header, then one address per line.
pub fn mailbox_list(addresses: &[String], header: &str) -> String {
    let mut text = String::with_capacity(addresses.len() * 32 + 200);
    for line in header.lines() {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    for address in addresses {
        text.push_str(address);
        text.push('\n');
    }
    text
}

/// The `--expected-out` file: CSV with a header row `address,imap,pop,smtp`; each cell
/// `pass` or a failure kind.
pub fn expected_csv(rows: &[Expected]) -> String {
    let mut text = String::from("address,imap,pop,smtp\n");
    for row in rows {
        text.push_str(&format!(
            "{},{},{},{}\n",
            row.address, row.imap, row.pop, row.smtp
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAEMON: &str = "66666666-7777-8888-9999-000000000000";
    const ALICE: &str = "alice@contoso.example";

    fn demo(n: usize) -> Config {
        let mut c = Config::demo();
        c.generate.mailboxes = n;
        c
    }

    #[test]
    fn mix_is_as_documented() {
        let slots: Vec<Mix> = (1..=10).map(Mix::of).collect();
        use Mix::*;
        assert_eq!(
            slots,
            [
                Allowed,
                Denied,
                ImapDisabled,
                PopDisabled,
                SmtpDisabled,
                NoSendAs,
                Allowed,
                Allowed,
                Allowed,
                Allowed
            ]
        );
        assert_eq!(Mix::of(11), Allowed);
        assert_eq!(Mix::of(1002), Denied);
    }

    #[test]
    fn generation_is_deterministic_and_named_by_outcome() {
        let a = demo(12).with_generated().expect("valid");
        let b = demo(12).with_generated().expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.mailboxes.len(), 7 + 12);
        assert_eq!(a.generate.mailboxes, 0);
        assert_eq!(
            a.clone().with_generated().expect("valid"),
            a,
            "twice adds nothing"
        );
        let names: Vec<&str> = a.mailboxes[7..]
            .iter()
            .map(|m| m.address.as_str())
            .collect();
        assert_eq!(names[0], "allowed-0001@contoso.example");
        assert_eq!(names[1], "denied-0002@contoso.example");
        assert_eq!(names[5], "no-sendas-0006@contoso.example");
        assert_eq!(names[11], "denied-0012@contoso.example");
        let wide = demo(12_345).generated_addresses().expect("valid");
        assert_eq!(wide[0], "allowed-00001@contoso.example");
        assert_eq!(wide.len(), 12_345);
        a.validate()
            .expect("generated mailboxes pass the config validation");
        let denied = &a.mailboxes[8];
        assert!(denied.full_access.is_empty() && denied.send_as.is_empty());
        let allowed = &a.mailboxes[7];
        assert_eq!(allowed.full_access, [DAEMON, ALICE]);
        assert!(allowed.folders.is_empty());
    }

    #[test]
    fn expected_outcomes_match_the_names() {
        let config = demo(20).with_generated().expect("valid");
        let addresses = demo(20).generated_addresses().expect("valid");
        for principal in [DAEMON, ALICE] {
            let rows = expected(&config, principal, &addresses);
            for (i, row) in rows.iter().enumerate() {
                let want = match Mix::of(i + 1) {
                    Mix::Allowed => ("pass", "pass", "pass"),
                    Mix::Denied => (
                        "authenticated_not_connected",
                        "auth_rejected",
                        "auth_rejected",
                    ),
                    Mix::ImapDisabled => ("authenticated_not_connected", "pass", "pass"),
                    Mix::PopDisabled => ("pass", "auth_rejected", "pass"),
                    Mix::SmtpDisabled => ("pass", "pass", "smtp_auth_disabled"),
                    Mix::NoSendAs => ("pass", "pass", "auth_rejected"),
                };
                assert_eq!((row.imap, row.pop, row.smtp), want, "{principal} {row:?}");
                assert!(row.address.starts_with(Mix::of(i + 1).label()));
            }
        }
        // A tenant with SMTP AUTH off turns the SMTP column, and the file says so.
        let mut off = demo(6);
        off.tenant.smtp_auth_disabled = true;
        let off = off.with_generated().expect("valid");
        let rows = expected(&off, DAEMON, &demo(6).generated_addresses().expect("valid"));
        assert_eq!(rows[0].smtp, "smtp_auth_disabled");
        assert_eq!(rows[1].smtp, "auth_rejected");
    }

    #[test]
    fn files_have_headers() {
        let list = mailbox_list(&["a@b.c".into(), "d@e.f".into()], "one\ntwo");
        assert_eq!(list, "# one\n# two\na@b.c\nd@e.f\n");
        let csv = expected_csv(&[Expected {
            address: "a@b.c".into(),
            imap: "pass",
            pop: "auth_rejected",
            smtp: "pass",
        }]);
        assert_eq!(
            csv,
            "address,imap,pop,smtp\na@b.c,pass,auth_rejected,pass\n"
        );
    }

    #[test]
    fn bad_generate_tables_are_refused() {
        // The table parses with the config; what it names is checked when it is carried out.
        let err = |toml: &str| match Config::from_toml_str(toml).and_then(Config::with_generated) {
            Ok(_) => panic!("expected an error for {toml}"),
            Err(e) => e.to_string(),
        };
        assert!(err("[generate]\nmailboxes = 5\napp = \"nope\"\n").contains("generate.app"));
        assert!(err("[generate]\nmailboxes = 5\n").contains("nobody to grant"));
        let user = "[[mailbox]]\naddress = \"u@x.example\"\n";
        assert!(
            err(&format!(
                "{user}[generate]\nmailboxes = 5\ndelegate = \"v@x.example\"\n"
            ))
            .contains("generate.delegate")
        );
        assert!(
            err(&format!(
                "{user}[generate]\nmailboxes = 5\ndomain = \"a b\"\n"
            ))
            .contains("generate.domain")
        );
        assert!(err(&format!("{user}[generate]\nmailboxes = 2000000\n")).contains("more than"));
        assert!(err(&format!("{user}[generate]\ncount = 5\n")).contains("count"));
        let ok = Config::from_toml_str(&format!("{user}[generate]\nmailboxes = 3\n"))
            .expect("valid")
            .with_generated()
            .expect("valid");
        assert_eq!(ok.mailboxes[1].address, "allowed-0001@x.example");
        assert_eq!(ok.mailboxes[1].full_access, ["u@x.example"]);
    }
}
