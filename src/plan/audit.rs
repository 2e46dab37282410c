//! A bulk audit's plan (`xoauth check --mailboxes FILE`): the single check's plan with no
//! mailbox of its own, the parsed list, and how many mailboxes are checked at once.
//!
//! Why the default concurrency is what it is: Exchange Online limits connections per mailbox
//! (SMTP 3, IMAP and POP about 15–20) and documents no limit per app. An audit opens at most
//! one connection per mailbox at a time (a mailbox's protocols run one after another), so the
//! per-mailbox limits are never approached; the default of [`DEFAULT_CONCURRENCY`] mailboxes at
//! once keeps the tenant-wide load of one app small, and `--concurrency` raises it.

use super::args::RawCheck;
use super::mailboxes::{self, MailboxList};
use super::{Plan, PlanError, TokenPlan, UsageError};
use crate::token::TokenSource;

/// Mailboxes checked at once unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// The most `--concurrency` accepts: beyond it the local machine's file descriptors and the
/// tenant's patience run out before the audit gets faster.
pub const MAX_CONCURRENCY: usize = 256;

/// Everything an audit needs.
#[derive(Debug, Clone)]
pub struct AuditPlan {
    /// The checks to run for each mailbox; its `mailbox` is `None` (each cell names its own).
    pub plan: Plan,
    pub list: MailboxList,
    pub concurrency: usize,
}

impl RawCheck {
    /// The audit's plan: the single check's rules, then the list's. `--mailbox`, `--send` and a
    /// list and a token both on standard input are refused.
    pub fn build_audit(mut self) -> Result<AuditPlan, UsageError> {
        let Some(raw) = self.mailboxes.take() else {
            return Err(UsageError::Plan(PlanError::NoProtocols));
        };
        let concurrency = self.concurrency.take().unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(UsageError::BadConcurrency(concurrency));
        }
        if let Some(mailbox) = self.common.mailbox.take() {
            return Err(UsageError::MailboxesWithMailbox(mailbox));
        }
        if self.send.send {
            return Err(UsageError::SendWithMailboxes);
        }
        let plan = self.build_for(true)?;
        if raw.from_stdin() && matches!(plan.token, TokenPlan::Given(TokenSource::Stdin)) {
            return Err(UsageError::ListAndTokenOnStdin);
        }
        let list = mailboxes::decode(&raw.bytes)
            .and_then(|text| mailboxes::parse(&text))
            .map_err(|error| UsageError::MailboxList {
                name: if raw.from_stdin() {
                    "- (standard input)".to_string()
                } else {
                    raw.name.clone()
                },
                error,
            })?;
        Ok(AuditPlan {
            plan,
            list,
            concurrency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::args::{RawCommon, RawMailboxList, RawSend};
    use crate::plan::fixtures::{USER, app_only, given_token, oauth, obtained_token};

    fn list(text: &str) -> Option<RawMailboxList> {
        Some(RawMailboxList {
            name: "list.txt".into(),
            bytes: text.as_bytes().to_vec(),
        })
    }

    fn audit(common: RawCommon) -> RawCheck {
        RawCheck {
            common,
            mailboxes: list("a@x.example\nb@x.example\n"),
            ..RawCheck::default()
        }
    }

    #[test]
    fn app_only_needs_no_user_and_no_mailbox() {
        let a = audit(app_only()).build_audit().unwrap();
        assert_eq!(a.plan.user, None);
        assert_eq!(a.plan.mailbox, None);
        assert_eq!(a.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(a.list.mailboxes.len(), 2);
        assert_eq!(a.plan.checks.len(), 3);
    }

    #[test]
    fn delegated_needs_the_user_and_keeps_it() {
        let a = audit(obtained_token(oauth())).build_audit().unwrap();
        assert_eq!(a.plan.user.as_deref(), Some(USER));
        let no_user = RawCommon {
            user: None,
            ..obtained_token(oauth())
        };
        assert!(matches!(
            audit(no_user).build_audit(),
            Err(UsageError::UserRequired)
        ));
        // A given token is whoever its claims say: the list names the mailboxes.
        let given = RawCommon {
            user: None,
            ..given_token()
        };
        assert!(audit(given).build_audit().is_ok());
    }

    #[test]
    fn app_only_refuses_a_user_it_would_ignore() {
        let raw = RawCommon {
            user: Some(USER.into()),
            ..app_only()
        };
        let e = audit(raw).build_audit().unwrap_err();
        assert!(matches!(e, UsageError::UserWithAppOnlyList(_)), "{e:?}");
        assert!(e.to_string().contains("drop --user"), "{e}");
    }

    #[test]
    fn mailbox_send_and_bad_concurrency_are_refused() {
        let raw = RawCommon {
            mailbox: Some("s@x.example".into()),
            ..app_only()
        };
        let e = audit(raw).build_audit().unwrap_err();
        assert!(matches!(e, UsageError::MailboxesWithMailbox(_)), "{e:?}");
        let send = RawCheck {
            send: RawSend {
                send: true,
                to: vec!["t@x.example".into()],
                from: None,
            },
            ..audit(app_only())
        };
        assert!(matches!(
            send.build_audit(),
            Err(UsageError::SendWithMailboxes)
        ));
        for n in [0, MAX_CONCURRENCY + 1] {
            let raw = RawCheck {
                concurrency: Some(n),
                ..audit(app_only())
            };
            assert!(matches!(
                raw.build_audit(),
                Err(UsageError::BadConcurrency(m)) if m == n
            ));
        }
        let ok = RawCheck {
            concurrency: Some(MAX_CONCURRENCY),
            ..audit(app_only())
        };
        assert_eq!(ok.build_audit().unwrap().concurrency, MAX_CONCURRENCY);
        // Without a list, --concurrency does nothing: refused.
        let single = RawCheck {
            concurrency: Some(4),
            common: RawCommon {
                mailbox: Some("s@x.example".into()),
                ..app_only()
            },
            ..RawCheck::default()
        };
        assert!(matches!(
            single.build(),
            Err(UsageError::ConcurrencyWithoutMailboxes)
        ));
    }

    #[test]
    fn list_errors_name_the_file() {
        let raw = RawCheck {
            mailboxes: list("DisplayName,Alias\nSales,sales\n"),
            ..audit(app_only())
        };
        let e = raw.build_audit().unwrap_err().to_string();
        assert!(e.starts_with("--mailboxes list.txt: "), "{e}");
        assert!(e.contains("\"DisplayName\", \"Alias\""), "{e}");
        let empty = RawCheck {
            mailboxes: list("# nothing\n"),
            ..audit(app_only())
        };
        assert!(matches!(
            empty.build_audit(),
            Err(UsageError::MailboxList { .. })
        ));
    }

    #[test]
    fn a_list_on_standard_input_needs_the_token_elsewhere() {
        let piped = RawCommon {
            user: None,
            token: Default::default(),
            env: crate::plan::args::Environment {
                browser: false,
                stdin_is_terminal: false,
            },
            ..given_token()
        };
        let raw = RawCheck {
            mailboxes: Some(RawMailboxList {
                name: "-".into(),
                bytes: b"a@x.example\n".to_vec(),
            }),
            ..audit(piped)
        };
        assert!(matches!(
            raw.build_audit(),
            Err(UsageError::ListAndTokenOnStdin)
        ));
        let app = RawCheck {
            mailboxes: Some(RawMailboxList {
                name: "-".into(),
                bytes: b"a@x.example\n".to_vec(),
            }),
            ..audit(app_only())
        };
        assert!(app.build_audit().is_ok());
    }
}
