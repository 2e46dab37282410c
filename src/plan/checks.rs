//! The per-command rules: which checks a command runs, against which endpoint, and the test
//! message: SMTP runs first when a message is sent, and IMAP looks for it when it was sent to
//! the mailbox being checked.

use super::args::{RawCheck, RawImap, RawPop, RawSend, RawSmtp, RawTokenCmd};
use super::{
    Check, Endpoint, ImapOptions, Plan, PlanError, Protocol, SendPlan, UsageError, check_address,
    host_and_port, new_run_id,
};
use crate::transport::Security;

fn security(implicit: bool) -> Security {
    if implicit {
        Security::ImplicitTls
    } else {
        Security::StartTls
    }
}

/// SMTP uses STARTTLS unless asked for implicit TLS or pointed at port 465.
fn smtp_security(implicit_tls: bool, port: Option<u16>) -> Security {
    security(implicit_tls || port == Some(465))
}

impl RawSend {
    /// The test message, sent from `--from` or else the mailbox checked.
    fn plan(self, mailbox: &str) -> Result<Option<SendPlan>, PlanError> {
        if !self.send {
            if !self.to.is_empty() || self.from.is_some() {
                return Err(PlanError::RecipientWithoutSend);
            }
            return Ok(None);
        }
        if self.to.is_empty() {
            return Err(PlanError::SendWithoutRecipient);
        }
        let to = self
            .to
            .iter()
            .map(|a| check_address("--to", a))
            .collect::<Result<Vec<_>, _>>()?;
        let from = match self.from {
            Some(f) => check_address("--from", &f)?,
            None => mailbox.to_string(),
        };
        Ok(Some(SendPlan::new(from, to, new_run_id())))
    }
}

impl RawImap {
    pub fn build(self) -> Result<Plan, UsageError> {
        let provider = self.common.provider;
        let mut plan = self.common.plan(&[Protocol::Imap], true)?;
        let (host, port) = host_and_port(self.host, self.port, "--host", "--port")?;
        let endpoint = Endpoint::resolve(
            Protocol::Imap,
            provider,
            host,
            port,
            security(!self.starttls),
        )?;
        plan.checks.push(Check::Imap {
            endpoint,
            options: ImapOptions {
                examine: self.examine,
                find_message_id: None,
            },
        });
        Ok(plan)
    }
}

impl RawPop {
    pub fn build(self) -> Result<Plan, UsageError> {
        let provider = self.common.provider;
        let mut plan = self.common.plan(&[Protocol::Pop], true)?;
        let (host, port) = host_and_port(self.host, self.port, "--host", "--port")?;
        let endpoint = Endpoint::resolve(
            Protocol::Pop,
            provider,
            host,
            port,
            security(!self.starttls),
        )?;
        plan.checks.push(Check::Pop { endpoint });
        Ok(plan)
    }
}

impl RawSmtp {
    pub fn build(self) -> Result<Plan, UsageError> {
        let provider = self.common.provider;
        let mut plan = self.common.plan(&[Protocol::Smtp], true)?;
        let (host, port) = host_and_port(self.host, self.port, "--host", "--port")?;
        let endpoint = Endpoint::resolve(
            Protocol::Smtp,
            provider,
            host,
            port,
            smtp_security(self.implicit_tls, port),
        )?;
        let send = self.send.plan(plan.authzid())?;
        plan.checks.push(Check::Smtp { endpoint, send });
        Ok(plan)
    }
}

impl RawCheck {
    pub fn build(self) -> Result<Plan, UsageError> {
        let provider = self.common.provider;
        let mut protocols = Vec::new();
        for p in &self.protocols {
            if protocols.contains(p) {
                return Err(PlanError::DuplicateProtocol(p.name()).into());
            }
            protocols.push(*p);
        }
        if protocols.is_empty() {
            return Err(PlanError::NoProtocols.into());
        }
        let mut plan = self.common.plan(&protocols, true)?;
        let send = if protocols.contains(&Protocol::Smtp) {
            self.send.plan(plan.authzid())?
        } else if self.send.send {
            return Err(UsageError::Plan(PlanError::SendWithoutSmtp));
        } else {
            None
        };
        // Look for the message over IMAP when it was sent to the mailbox being checked.
        let find = send
            .as_ref()
            .filter(|s| s.to.iter().any(|t| t.eq_ignore_ascii_case(plan.authzid())))
            .map(|s| s.message_id.clone());
        // SMTP first, so the message has arrived by the time IMAP looks for it.
        if send.is_some() {
            protocols.sort_by_key(|p| *p != Protocol::Smtp);
        }
        if let (_, Some(_)) = host_and_port(self.host.clone(), None, "--host", "")? {
            return Err(PlanError::SharedHostWithPort(self.host.unwrap_or_default()).into());
        }
        let host = |specific: Option<String>| specific.or_else(|| self.host.clone());
        let (imap_host, imap_port) = host_and_port(
            host(self.imap_host.clone()),
            self.imap_port,
            "--imap-host",
            "--imap-port",
        )?;
        let (pop_host, pop_port) = host_and_port(
            host(self.pop_host.clone()),
            self.pop_port,
            "--pop-host",
            "--pop-port",
        )?;
        let (smtp_host, smtp_port) = host_and_port(
            host(self.smtp_host.clone()),
            self.smtp_port,
            "--smtp-host",
            "--smtp-port",
        )?;
        let mut send = send;
        for p in protocols {
            let check = match p {
                Protocol::Imap => Check::Imap {
                    endpoint: Endpoint::resolve(
                        Protocol::Imap,
                        provider,
                        imap_host.clone(),
                        imap_port,
                        security(!self.starttls),
                    )?,
                    options: ImapOptions {
                        examine: self.examine.clone(),
                        find_message_id: find.clone(),
                    },
                },
                Protocol::Pop => Check::Pop {
                    endpoint: Endpoint::resolve(
                        Protocol::Pop,
                        provider,
                        pop_host.clone(),
                        pop_port,
                        security(!self.starttls),
                    )?,
                },
                Protocol::Smtp => Check::Smtp {
                    endpoint: Endpoint::resolve(
                        Protocol::Smtp,
                        provider,
                        smtp_host.clone(),
                        smtp_port,
                        smtp_security(self.implicit_tls, smtp_port),
                    )?,
                    send: send.take(),
                },
            };
            plan.checks.push(check);
        }
        Ok(plan)
    }
}

impl RawTokenCmd {
    /// A plan with no check: only the token, for the protocols' default scopes.
    pub fn build(self) -> Result<Plan, UsageError> {
        self.common.plan(&self.protocols, false)
    }
}
