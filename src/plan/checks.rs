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
    /// The plan of one check of every protocol (`--mailboxes` builds an
    /// [`AuditPlan`](super::audit::AuditPlan) instead).
    pub fn build(self) -> Result<Plan, UsageError> {
        if self.concurrency.is_some() {
            return Err(UsageError::ConcurrencyWithoutMailboxes);
        }
        self.build_for(false)
    }

    /// `listed`: the mailboxes come from `--mailboxes`, none is named here.
    pub(super) fn build_for(self, listed: bool) -> Result<Plan, UsageError> {
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
        self.refuse_flags_for_unchecked(&protocols)?;
        let mut plan = if listed {
            self.common.plan_listed(&protocols)?
        } else {
            self.common.plan(&protocols, true)?
        };
        let send = if protocols.contains(&Protocol::Smtp) {
            self.send.plan(plan.authzid())?
        } else if self.send.send {
            return Err(UsageError::Plan(PlanError::SendWithoutSmtp));
        } else {
            // Without --send: None, or --to/--from refused as for `xoauth smtp`, whatever the
            // protocols (silently ignoring them would hide a forgotten --send).
            self.send.plan(plan.authzid())?
        };
        // Look for the message over IMAP when it was sent to the mailbox being checked.
        let find = send
            .as_ref()
            .filter(|s| s.to.iter().any(|t| t.eq_ignore_ascii_case(plan.authzid())))
            .map(|s| s.message_id.clone());
        let mut send = send;
        if let Some(s) = send.as_mut()
            && find.is_none()
            && protocols.contains(&Protocol::Imap)
        {
            s.not_searched = Some(format!(
                "the test message goes to {}, not to {} (the mailbox checked), so IMAP does not \
                 look for it; add --to {} to have it found",
                s.to.join(", "),
                plan.authzid(),
                plan.authzid()
            ));
        }
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

impl RawCheck {
    /// A flag for one protocol when that protocol is not checked would do nothing: refused,
    /// like `--send` without smtp, so a mistyped --protocols is not hidden.
    fn refuse_flags_for_unchecked(&self, protocols: &[Protocol]) -> Result<(), PlanError> {
        use Protocol::{Imap, Pop, Smtp};
        let flags: [(&'static str, bool, &[Protocol]); 9] = [
            ("--imap-host", self.imap_host.is_some(), &[Imap]),
            ("--imap-port", self.imap_port.is_some(), &[Imap]),
            ("--examine", self.examine.is_some(), &[Imap]),
            ("--pop-host", self.pop_host.is_some(), &[Pop]),
            ("--pop-port", self.pop_port.is_some(), &[Pop]),
            ("--starttls", self.starttls, &[Imap, Pop]),
            ("--smtp-host", self.smtp_host.is_some(), &[Smtp]),
            ("--smtp-port", self.smtp_port.is_some(), &[Smtp]),
            ("--implicit-tls", self.implicit_tls, &[Smtp]),
        ];
        for (flag, given, for_protocols) in flags {
            if given && !for_protocols.iter().any(|p| protocols.contains(p)) {
                return Err(PlanError::FlagForUncheckedProtocol {
                    flag,
                    protocol: if for_protocols.len() > 1 {
                        "imap or pop"
                    } else {
                        for_protocols[0].name()
                    },
                });
            }
        }
        Ok(())
    }
}

impl RawTokenCmd {
    /// A plan with no check: only the token, for the protocols' default scopes.
    pub fn build(self) -> Result<Plan, UsageError> {
        self.common.plan(&self.protocols, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::args::RawCommon;
    use crate::plan::fixtures::{USER, app_only, given_token, oauth};
    use crate::plan::{Provider, TokenPlan};

    const BOB: &str = "bob@fabrikam.example";

    fn endpoint(host: &str, port: u16, security: Security) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            security,
        }
    }

    fn protocols(plan: &Plan) -> Vec<Protocol> {
        plan.checks.iter().map(Check::protocol).collect()
    }

    fn endpoints(plan: &Plan) -> Vec<Endpoint> {
        plan.checks.iter().map(|c| c.endpoint().clone()).collect()
    }

    fn send_to(to: &[&str]) -> RawSend {
        RawSend {
            send: true,
            to: to.iter().map(|s| s.to_string()).collect(),
            from: None,
        }
    }

    /// The Message-ID IMAP is told to look for.
    fn searched(plan: &Plan) -> Option<&str> {
        plan.checks.iter().find_map(|c| match c {
            Check::Imap { options, .. } => options.find_message_id.as_deref(),
            _ => None,
        })
    }

    fn sent(plan: &Plan) -> Option<&SendPlan> {
        plan.checks.iter().find_map(|c| match c {
            Check::Smtp { send, .. } => send.as_ref(),
            _ => None,
        })
    }

    fn imap(host: Option<&str>, port: Option<u16>) -> Result<Plan, UsageError> {
        RawImap {
            host: host.map(str::to_string),
            port,
            common: given_token(),
            ..RawImap::default()
        }
        .build()
    }

    fn smtp(raw: RawSmtp) -> Result<Plan, UsageError> {
        RawSmtp {
            common: given_token(),
            ..raw
        }
        .build()
    }

    fn check(raw: RawCheck) -> Result<Plan, UsageError> {
        RawCheck {
            common: given_token(),
            ..raw
        }
        .build()
    }

    #[test]
    fn imap_defaults_to_the_providers_host_with_implicit_tls() {
        let plan = imap(None, None).unwrap();
        assert_eq!(
            plan.checks,
            [Check::Imap {
                endpoint: endpoint("outlook.office365.com", 993, Security::ImplicitTls),
                options: ImapOptions::default(),
            }]
        );
    }

    #[test]
    fn imap_starttls_uses_port_143_and_examine_is_kept() {
        let raw = RawImap {
            starttls: true,
            examine: Some("Archive".into()),
            common: given_token(),
            ..RawImap::default()
        };
        let plan = raw.build().unwrap();
        assert_eq!(
            plan.checks,
            [Check::Imap {
                endpoint: endpoint("outlook.office365.com", 143, Security::StartTls),
                options: ImapOptions {
                    examine: Some("Archive".into()),
                    find_message_id: None,
                },
            }]
        );
    }

    #[test]
    fn a_host_may_carry_the_port() {
        let plan = imap(Some("[::1]:1993"), None).unwrap();
        assert_eq!(
            endpoints(&plan),
            [endpoint("::1", 1993, Security::ImplicitTls)]
        );
        let plan = imap(Some("mail.example"), Some(2993)).unwrap();
        assert_eq!(
            endpoints(&plan),
            [endpoint("mail.example", 2993, Security::ImplicitTls)]
        );
    }

    #[test]
    fn a_port_given_twice_must_agree() {
        assert!(imap(Some("mail.example:993"), Some(993)).is_ok());
        assert!(matches!(
            imap(Some("mail.example:993"), Some(143)),
            Err(UsageError::Plan(PlanError::PortTwice {
                flag: "--host",
                port_flag: "--port",
                ..
            }))
        ));
        assert!(matches!(
            imap(Some("mail.example:imap"), None),
            Err(UsageError::Plan(PlanError::BadHostPort { .. }))
        ));
    }

    #[test]
    fn port_zero_is_refused() {
        assert!(matches!(
            imap(None, Some(0)),
            Err(UsageError::Plan(PlanError::BadPort))
        ));
    }

    #[test]
    fn the_custom_provider_needs_a_host() {
        let raw = RawPop {
            common: RawCommon {
                provider: Provider::Custom,
                ..given_token()
            },
            ..RawPop::default()
        };
        assert!(matches!(
            raw.build(),
            Err(UsageError::Plan(PlanError::HostRequired("pop")))
        ));
    }

    #[test]
    fn token_rules_come_before_the_endpoint() {
        let raw = RawPop {
            common: RawCommon {
                provider: Provider::Custom,
                user: None,
                ..given_token()
            },
            ..RawPop::default()
        };
        assert!(matches!(raw.build(), Err(UsageError::UserRequired)));
    }

    #[test]
    fn pop_defaults_to_995_and_starttls_to_110() {
        let implicit = RawPop {
            common: given_token(),
            ..RawPop::default()
        };
        assert_eq!(
            endpoints(&implicit.build().unwrap()),
            [endpoint(
                "outlook.office365.com",
                995,
                Security::ImplicitTls
            )]
        );
        let stls = RawPop {
            starttls: true,
            common: given_token(),
            ..RawPop::default()
        };
        assert_eq!(
            endpoints(&stls.build().unwrap()),
            [endpoint("outlook.office365.com", 110, Security::StartTls)]
        );
    }

    #[test]
    fn smtp_defaults_to_starttls_on_587() {
        let plan = smtp(RawSmtp::default()).unwrap();
        assert_eq!(
            plan.checks,
            [Check::Smtp {
                endpoint: endpoint("smtp.office365.com", 587, Security::StartTls),
                send: None,
            }]
        );
    }

    #[test]
    fn smtp_implicit_tls_uses_465() {
        let raw = RawSmtp {
            implicit_tls: true,
            ..RawSmtp::default()
        };
        assert_eq!(
            endpoints(&smtp(raw).unwrap()),
            [endpoint("smtp.office365.com", 465, Security::ImplicitTls)]
        );
    }

    #[test]
    fn smtp_on_port_465_means_implicit_tls() {
        let by_flag = RawSmtp {
            port: Some(465),
            ..RawSmtp::default()
        };
        let by_host = RawSmtp {
            host: Some("mail.example:465".into()),
            ..RawSmtp::default()
        };
        assert_eq!(
            endpoints(&smtp(by_flag).unwrap()),
            [endpoint("smtp.office365.com", 465, Security::ImplicitTls)]
        );
        assert_eq!(
            endpoints(&smtp(by_host).unwrap()),
            [endpoint("mail.example", 465, Security::ImplicitTls)]
        );
    }

    #[test]
    fn provider_presets_fill_every_host() {
        let cases = [
            (
                Provider::Google,
                ["imap.gmail.com", "pop.gmail.com", "smtp.gmail.com"],
            ),
            (
                Provider::MicrosoftUsGov,
                [
                    "outlook.office365.us",
                    "outlook.office365.us",
                    "smtp.office365.us",
                ],
            ),
            (
                Provider::MicrosoftChina,
                [
                    "partner.outlook.cn",
                    "partner.outlook.cn",
                    "smtp.partner.outlook.cn",
                ],
            ),
        ];
        for (provider, hosts) in cases {
            let raw = RawCheck {
                common: RawCommon {
                    provider,
                    ..given_token()
                },
                ..RawCheck::default()
            };
            let plan = raw.build().unwrap();
            let got: Vec<&str> = plan
                .checks
                .iter()
                .map(|c| c.endpoint().host.as_str())
                .collect();
            assert_eq!(got, hosts, "{provider:?}");
        }
    }

    #[test]
    fn send_needs_a_recipient() {
        let raw = RawSmtp {
            send: send_to(&[]),
            ..RawSmtp::default()
        };
        assert!(matches!(
            smtp(raw),
            Err(UsageError::Plan(PlanError::SendWithoutRecipient))
        ));
    }

    #[test]
    fn to_and_from_need_send() {
        let to = RawSmtp {
            send: RawSend {
                to: vec![BOB.into()],
                ..RawSend::default()
            },
            ..RawSmtp::default()
        };
        assert!(matches!(
            smtp(to),
            Err(UsageError::Plan(PlanError::RecipientWithoutSend))
        ));
        let from = RawSmtp {
            send: RawSend {
                from: Some(USER.into()),
                ..RawSend::default()
            },
            ..RawSmtp::default()
        };
        assert!(matches!(
            smtp(from),
            Err(UsageError::Plan(PlanError::RecipientWithoutSend))
        ));
    }

    #[test]
    fn the_message_is_sent_from_the_mailbox_checked_by_default() {
        let plan = smtp(RawSmtp {
            send: send_to(&[BOB]),
            ..RawSmtp::default()
        })
        .unwrap();
        let s = sent(&plan).unwrap();
        assert_eq!(
            (s.from.as_str(), s.to.as_slice()),
            (USER, &[BOB.to_string()][..])
        );
        assert_eq!(s.run_id.len(), 12);
        assert_eq!(
            s.message_id,
            format!("<xoauth.{}@contoso.example>", s.run_id)
        );

        let shared = RawSmtp {
            send: send_to(&[BOB]),
            common: RawCommon {
                mailbox: Some("shared@contoso.example".into()),
                ..given_token()
            },
            ..RawSmtp::default()
        };
        assert_eq!(
            sent(&shared.build().unwrap()).unwrap().from,
            "shared@contoso.example"
        );
    }

    #[test]
    fn from_and_to_must_be_addresses() {
        let from = RawSmtp {
            send: RawSend {
                from: Some("Alice <alice@contoso.example>".into()),
                ..send_to(&[BOB])
            },
            ..RawSmtp::default()
        };
        let plan = smtp(RawSmtp {
            send: RawSend {
                from: Some("other@fabrikam.example".into()),
                ..send_to(&[BOB])
            },
            ..RawSmtp::default()
        })
        .unwrap();
        assert_eq!(sent(&plan).unwrap().from, "other@fabrikam.example");
        assert!(matches!(
            smtp(from),
            Err(UsageError::Plan(PlanError::NotOneAddress {
                what: "--from",
                ..
            }))
        ));
        let to = RawSmtp {
            send: send_to(&[BOB, "nobody"]),
            ..RawSmtp::default()
        };
        assert!(matches!(
            smtp(to),
            Err(UsageError::Plan(PlanError::BadAddress { what: "--to", .. }))
        ));
    }

    #[test]
    fn check_runs_imap_pop_smtp_in_order_by_default() {
        let plan = check(RawCheck::default()).unwrap();
        assert_eq!(
            protocols(&plan),
            [Protocol::Imap, Protocol::Pop, Protocol::Smtp]
        );
        assert_eq!(
            endpoints(&plan),
            [
                endpoint("outlook.office365.com", 993, Security::ImplicitTls),
                endpoint("outlook.office365.com", 995, Security::ImplicitTls),
                endpoint("smtp.office365.com", 587, Security::StartTls),
            ]
        );
        assert_eq!((sent(&plan), searched(&plan)), (None, None));
    }

    #[test]
    fn check_keeps_the_order_given() {
        let plan = check(RawCheck {
            protocols: vec![Protocol::Smtp, Protocol::Imap],
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(protocols(&plan), [Protocol::Smtp, Protocol::Imap]);
        let plan = check(RawCheck {
            protocols: vec![Protocol::Pop, Protocol::Imap, Protocol::Smtp],
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(
            protocols(&plan),
            [Protocol::Pop, Protocol::Imap, Protocol::Smtp]
        );
    }

    #[test]
    fn check_runs_smtp_first_when_sending() {
        let plan = check(RawCheck {
            protocols: vec![Protocol::Pop, Protocol::Imap, Protocol::Smtp],
            send: send_to(&[BOB]),
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(
            protocols(&plan),
            [Protocol::Smtp, Protocol::Pop, Protocol::Imap]
        );
        assert!(sent(&plan).is_some());
    }

    #[test]
    fn check_refuses_a_protocol_twice_and_none() {
        let twice = RawCheck {
            protocols: vec![Protocol::Imap, Protocol::Pop, Protocol::Imap],
            ..RawCheck::default()
        };
        assert!(matches!(
            check(twice),
            Err(UsageError::Plan(PlanError::DuplicateProtocol("imap")))
        ));
        let none = RawCheck {
            protocols: Vec::new(),
            ..RawCheck::default()
        };
        assert!(matches!(
            check(none),
            Err(UsageError::Plan(PlanError::NoProtocols))
        ));
    }

    #[test]
    fn protocol_list_errors_come_before_the_token_rules() {
        let raw = RawCheck {
            protocols: Vec::new(),
            common: RawCommon {
                user: None,
                ..given_token()
            },
            ..RawCheck::default()
        };
        assert!(matches!(
            raw.build(),
            Err(UsageError::Plan(PlanError::NoProtocols))
        ));
    }

    #[test]
    fn check_refuses_to_and_from_without_send_whatever_the_protocols() {
        for protocols in [
            vec![Protocol::Imap],
            vec![Protocol::Pop, Protocol::Imap],
            vec![Protocol::Imap, Protocol::Pop, Protocol::Smtp],
        ] {
            let to = RawCheck {
                protocols: protocols.clone(),
                send: RawSend {
                    to: vec![BOB.into()],
                    ..RawSend::default()
                },
                ..RawCheck::default()
            };
            assert!(
                matches!(
                    check(to),
                    Err(UsageError::Plan(PlanError::RecipientWithoutSend))
                ),
                "{protocols:?}"
            );
            let from = RawCheck {
                protocols: protocols.clone(),
                send: RawSend {
                    from: Some(USER.into()),
                    ..RawSend::default()
                },
                ..RawCheck::default()
            };
            assert!(
                matches!(
                    check(from),
                    Err(UsageError::Plan(PlanError::RecipientWithoutSend))
                ),
                "{protocols:?}"
            );
        }
    }

    #[test]
    fn check_send_needs_smtp() {
        let raw = RawCheck {
            protocols: vec![Protocol::Imap],
            send: send_to(&[USER]),
            ..RawCheck::default()
        };
        assert!(matches!(
            check(raw),
            Err(UsageError::Plan(PlanError::SendWithoutSmtp))
        ));
    }

    #[test]
    fn imap_searches_for_a_message_sent_to_the_mailbox_checked() {
        let plan = check(RawCheck {
            send: send_to(&[BOB, "ALICE@contoso.example"]),
            ..RawCheck::default()
        })
        .unwrap();
        let id = sent(&plan).unwrap().message_id.clone();
        assert_eq!(searched(&plan), Some(id.as_str()));
    }

    #[test]
    fn imap_does_not_search_for_a_message_sent_elsewhere() {
        let plan = check(RawCheck {
            send: send_to(&[BOB]),
            ..RawCheck::default()
        })
        .unwrap();
        assert!(sent(&plan).is_some());
        assert_eq!(searched(&plan), None);
        // ... and says why, so no one reads a search that never ran as one that found nothing.
        let note = sent(&plan).unwrap().not_searched.clone().unwrap();
        assert!(note.contains(BOB) && note.contains(USER), "{note}");
        assert!(note.contains("IMAP does not look for it"), "{note}");
    }

    #[test]
    fn no_note_when_the_message_is_searched_for_or_imap_is_not_checked() {
        let found = check(RawCheck {
            send: send_to(&[USER]),
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(sent(&found).unwrap().not_searched, None);
        let no_imap = check(RawCheck {
            protocols: vec![Protocol::Smtp, Protocol::Pop],
            send: send_to(&[BOB]),
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(sent(&no_imap).unwrap().not_searched, None);
    }

    #[test]
    fn check_refuses_flags_for_protocols_it_does_not_check() {
        let only = |p: &[Protocol]| RawCheck {
            protocols: p.to_vec(),
            ..RawCheck::default()
        };
        use Protocol::{Imap, Pop, Smtp};
        let cases: Vec<(RawCheck, &str, &str)> = vec![
            (
                RawCheck {
                    smtp_port: Some(1),
                    ..only(&[Imap])
                },
                "--smtp-port",
                "smtp",
            ),
            (
                RawCheck {
                    smtp_host: Some("h".into()),
                    ..only(&[Imap, Pop])
                },
                "--smtp-host",
                "smtp",
            ),
            (
                RawCheck {
                    implicit_tls: true,
                    ..only(&[Imap])
                },
                "--implicit-tls",
                "smtp",
            ),
            (
                RawCheck {
                    imap_port: Some(1993),
                    ..only(&[Smtp])
                },
                "--imap-port",
                "imap",
            ),
            (
                RawCheck {
                    imap_host: Some("h".into()),
                    ..only(&[Pop])
                },
                "--imap-host",
                "imap",
            ),
            (
                RawCheck {
                    examine: Some("INBOX".into()),
                    ..only(&[Pop, Smtp])
                },
                "--examine",
                "imap",
            ),
            (
                RawCheck {
                    pop_port: Some(1995),
                    ..only(&[Imap, Smtp])
                },
                "--pop-port",
                "pop",
            ),
            (
                RawCheck {
                    pop_host: Some("h".into()),
                    ..only(&[Smtp])
                },
                "--pop-host",
                "pop",
            ),
            (
                RawCheck {
                    starttls: true,
                    ..only(&[Smtp])
                },
                "--starttls",
                "imap or pop",
            ),
        ];
        for (raw, flag, protocol) in cases {
            let e = check(raw).unwrap_err();
            assert!(
                matches!(
                    &e,
                    UsageError::Plan(PlanError::FlagForUncheckedProtocol { flag: f, protocol: p })
                        if *f == flag && *p == protocol
                ),
                "{flag}: {e:?}"
            );
        }
        // A flag for one of the protocols checked is fine.
        assert!(
            check(RawCheck {
                starttls: true,
                ..only(&[Pop])
            })
            .is_ok()
        );
        assert!(
            check(RawCheck {
                smtp_port: Some(2525),
                ..only(&[Smtp])
            })
            .is_ok()
        );
    }

    #[test]
    fn imap_searches_the_shared_mailbox_a_message_was_sent_to() {
        let shared = "shared@contoso.example";
        let raw = RawCheck {
            send: send_to(&[shared]),
            common: RawCommon {
                mailbox: Some(shared.into()),
                ..app_only()
            },
            ..RawCheck::default()
        };
        let plan = raw.build().unwrap();
        let s = sent(&plan).unwrap();
        assert_eq!(s.from, shared);
        assert_eq!(searched(&plan), Some(s.message_id.as_str()));
    }

    #[test]
    fn check_host_applies_to_every_protocol_unless_overridden() {
        let plan = check(RawCheck {
            host: Some("mail.example".into()),
            smtp_host: Some("smtp.example:2525".into()),
            pop_port: Some(1995),
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(
            endpoints(&plan),
            [
                endpoint("mail.example", 993, Security::ImplicitTls),
                endpoint("mail.example", 1995, Security::ImplicitTls),
                endpoint("smtp.example", 2525, Security::StartTls),
            ]
        );
    }

    #[test]
    fn check_shared_host_must_not_carry_a_port() {
        let raw = RawCheck {
            host: Some("mail.example:993".into()),
            ..RawCheck::default()
        };
        assert!(matches!(
            check(raw),
            Err(UsageError::Plan(PlanError::SharedHostWithPort(h))) if h == "mail.example:993"
        ));
    }

    #[test]
    fn check_protocol_ports_must_agree_with_their_hosts() {
        let raw = RawCheck {
            imap_host: Some("mail.example:993".into()),
            imap_port: Some(143),
            ..RawCheck::default()
        };
        assert!(matches!(
            check(raw),
            Err(UsageError::Plan(PlanError::PortTwice {
                flag: "--imap-host",
                port_flag: "--imap-port",
                ..
            }))
        ));
    }

    #[test]
    fn check_starttls_is_for_imap_and_pop_implicit_tls_for_smtp() {
        let plan = check(RawCheck {
            starttls: true,
            implicit_tls: true,
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(
            endpoints(&plan),
            [
                endpoint("outlook.office365.com", 143, Security::StartTls),
                endpoint("outlook.office365.com", 110, Security::StartTls),
                endpoint("smtp.office365.com", 465, Security::ImplicitTls),
            ]
        );
        let plan = check(RawCheck {
            smtp_port: Some(465),
            ..RawCheck::default()
        })
        .unwrap();
        assert_eq!(plan.checks[2].endpoint().security, Security::ImplicitTls);
    }

    #[test]
    fn the_token_command_has_no_check_and_scopes_for_its_protocols() {
        let raw = RawTokenCmd {
            protocols: vec![Protocol::Smtp],
            common: RawCommon {
                token: Default::default(),
                oauth: oauth(),
                ..given_token()
            },
        };
        let plan = raw.build().unwrap();
        assert!(plan.checks.is_empty());
        match &plan.token {
            TokenPlan::OAuth(o) => assert_eq!(
                o.scopes,
                ["https://outlook.office.com/SMTP.Send", "offline_access"]
            ),
            TokenPlan::Given(_) => panic!("expected an OAuth plan"),
        }
    }
}
