//! Who is who: token → principal, which mailboxes a principal may open or send as, the
//! per-protocol switches, and each mailbox's folder tree (with implied parents).
//! Protocol-agnostic; IMAP, POP3 and SMTP all ask the same questions. Messages live in
//! `store`.

use crate::config::{Config, TenantConfig};

/// One folder, with parents implied by `a/b` names made explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folder {
    /// Unicode name, `/`-separated.
    pub name: String,
    /// How many synthetic messages the store creates here at start.
    pub seed_messages: u32,
    /// Some other folder is below this one.
    pub has_children: bool,
}

/// A mailbox as sessions see it.
#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    /// Address as configured.
    pub address: String,
    full_access: Vec<String>,
    send_as: Vec<String>,
    /// Folders in config order, implied parents placed before their first child; always
    /// includes an `Inbox`.
    pub folders: Vec<Folder>,
    /// `Set-CASMailbox -ImapEnabled`.
    pub imap_enabled: bool,
    /// `Set-CASMailbox -PopEnabled`.
    pub pop_enabled: bool,
    /// Per-mailbox SMTP AUTH switch; `None` follows the tenant.
    pub smtp_auth_disabled: Option<bool>,
}

impl Mailbox {
    /// The folder with this Unicode name (case-insensitive, like Exchange).
    pub fn folder(&self, name: &str) -> Option<&Folder> {
        self.folders
            .iter()
            .find(|f| f.name.to_lowercase() == name.to_lowercase())
    }
}

/// Why SMTP AUTH is refused for a mailbox even with a valid token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmtpAuthBlock {
    /// `SmtpClientAuthenticationDisabled` on the tenant, not overridden by the mailbox.
    Tenant,
    /// `SmtpClientAuthenticationDisabled` on the mailbox.
    Mailbox,
    /// Security defaults are on.
    SecurityDefaults,
}

/// The tenant: policies, mailboxes and accepted tokens.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    tenant: TenantConfig,
    mailboxes: Vec<Mailbox>,
    tokens: Vec<(String, String)>,
}

impl Directory {
    /// Builds the directory from a config that passed `Config::validate`.
    pub fn new(config: &Config) -> Directory {
        let mailboxes = config
            .mailboxes
            .iter()
            .map(|m| Mailbox {
                address: m.address.clone(),
                full_access: m.full_access.clone(),
                send_as: m.send_as.clone(),
                folders: folder_tree(m.folders.iter().map(|f| (f.name.as_str(), f.messages))),
                imap_enabled: m.imap_enabled,
                pop_enabled: m.pop_enabled,
                smtp_auth_disabled: m.smtp_auth_disabled,
            })
            .collect();
        let tokens = config
            .tokens
            .iter()
            .map(|t| (t.value.clone(), t.principal.clone()))
            .collect();
        Directory {
            tenant: config.tenant.clone(),
            mailboxes,
            tokens,
        }
    }

    /// Every mailbox, in config order.
    pub fn mailboxes(&self) -> &[Mailbox] {
        &self.mailboxes
    }

    /// The principal a bearer token was issued to, if the token is known.
    pub fn principal_for_token(&self, token: &str) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(value, _)| value == token)
            .map(|(_, principal)| principal.as_str())
    }

    /// The mailbox with this address (case-insensitive).
    pub fn mailbox(&self, address: &str) -> Option<&Mailbox> {
        self.mailboxes
            .iter()
            .find(|m| m.address.eq_ignore_ascii_case(address))
    }

    /// The mailbox `address`, if `principal` may open it (its own, or listed in `full_access`).
    pub fn open(&self, principal: &str, address: &str) -> Option<&Mailbox> {
        let mailbox = self.mailbox(address)?;
        let own = mailbox.address.eq_ignore_ascii_case(principal);
        let granted = mailbox
            .full_access
            .iter()
            .any(|p| p.eq_ignore_ascii_case(principal));
        (own || granted).then_some(mailbox)
    }

    /// Whether the session authenticated as `authenticated` (by `principal`) may use
    /// `sender` as envelope sender or `From:`: its own address, or a mailbox whose
    /// `send_as` lists the authenticated mailbox or the signed-in principal.
    pub fn may_send_as(&self, principal: &str, authenticated: &str, sender: &str) -> bool {
        if sender.eq_ignore_ascii_case(authenticated) {
            return true;
        }
        self.mailbox(sender).is_some_and(|m| {
            m.send_as.iter().any(|trustee| {
                trustee.eq_ignore_ascii_case(authenticated)
                    || trustee.eq_ignore_ascii_case(principal)
            })
        })
    }

    /// Whether SMTP AUTH is switched off for `mailbox`, and by which setting. The mailbox's
    /// own switch wins over the tenant's (as with `Set-CASMailbox`); security defaults
    /// block everyone.
    pub fn smtp_auth_block(&self, mailbox: &Mailbox) -> Option<SmtpAuthBlock> {
        match mailbox.smtp_auth_disabled {
            Some(true) => return Some(SmtpAuthBlock::Mailbox),
            None if self.tenant.smtp_auth_disabled => return Some(SmtpAuthBlock::Tenant),
            _ => {}
        }
        self.tenant
            .security_defaults
            .then_some(SmtpAuthBlock::SecurityDefaults)
    }
}

/// Makes implied parents explicit, sets `has_children`, and puts an `Inbox` first when the
/// config has none.
fn folder_tree<'a>(configured: impl Iterator<Item = (&'a str, u32)>) -> Vec<Folder> {
    let mut folders: Vec<Folder> = Vec::new();
    let find = |folders: &[Folder], name: &str| {
        folders
            .iter()
            .position(|f| f.name.to_lowercase() == name.to_lowercase())
    };
    for (name, messages) in configured {
        // Parents first: "a/b/c" needs "a" and "a/b".
        for (i, _) in name.match_indices('/') {
            let parent = &name[..i];
            match find(&folders, parent) {
                Some(p) => folders[p].has_children = true,
                None => folders.push(Folder {
                    name: parent.to_owned(),
                    seed_messages: 0,
                    has_children: true,
                }),
            }
        }
        match find(&folders, name) {
            // Configured after it was implied by a child: keep its place, take the count.
            Some(existing) => folders[existing].seed_messages = messages,
            None => folders.push(Folder {
                name: name.to_owned(),
                seed_messages: messages,
                has_children: false,
            }),
        }
    }
    if find(&folders, "Inbox").is_none() {
        folders.insert(
            0,
            Folder {
                name: "Inbox".to_owned(),
                seed_messages: 0,
                has_children: false,
            },
        );
    }
    folders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rules_follow_full_access() {
        let d = Directory::new(&Config::demo());
        assert_eq!(
            d.principal_for_token("mock-access-token-alice-0001"),
            Some("alice@contoso.example")
        );
        assert_eq!(d.principal_for_token("nope"), None);
        assert!(
            d.open("alice@contoso.example", "alice@contoso.example")
                .is_some()
        );
        assert!(
            d.open("ALICE@contoso.example", "Sales@Contoso.Example")
                .is_some()
        );
        assert!(
            d.open("alice@contoso.example", "payroll@contoso.example")
                .is_none()
        );
        assert!(
            d.open("alice@contoso.example", "bob@contoso.example")
                .is_none()
        );
        assert!(
            d.open("bob@contoso.example", "payroll@contoso.example")
                .is_some()
        );
        assert!(
            d.open("bob@contoso.example", "ghost@contoso.example")
                .is_none()
        );
    }

    #[test]
    fn implied_parents_are_created() {
        let tree = folder_tree([("Inbox", 1), ("A/B/C", 2), ("A", 7), ("X", 0)].into_iter());
        let names: Vec<_> = tree.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Inbox", "A", "A/B", "A/B/C", "X"]);
        assert!(tree[1].has_children && tree[2].has_children && !tree[3].has_children);
        assert_eq!(tree[1].seed_messages, 7);
        assert_eq!(tree[3].seed_messages, 2);
        let tree = folder_tree([("Archive", 1), ("INBOX", 2)].into_iter());
        assert_eq!(tree.len(), 2, "a configured INBOX is the Inbox");
        let tree = folder_tree([("Archive", 1)].into_iter());
        assert_eq!(tree[0].name, "Inbox");
        assert_eq!(tree[1].name, "Archive");
    }

    #[test]
    fn send_as_and_smtp_switches() {
        let mut config = Config::demo();
        let d = Directory::new(&config);
        let (alice, sales) = ("alice@contoso.example", "sales@contoso.example");
        assert!(d.may_send_as(alice, alice, "ALICE@contoso.example"));
        assert!(d.may_send_as(alice, alice, sales));
        assert!(d.may_send_as(alice, sales, sales));
        assert!(!d.may_send_as(alice, alice, "bob@contoso.example"));
        assert!(!d.may_send_as(alice, alice, "ghost@contoso.example"));
        assert!(!d.may_send_as("bob@contoso.example", "bob@contoso.example", sales));

        let mailbox = |d: &Directory, a: &str| d.mailbox(a).cloned().expect("configured");
        assert_eq!(d.smtp_auth_block(&mailbox(&d, alice)), None);
        assert_eq!(
            d.smtp_auth_block(&mailbox(&d, "bob@contoso.example")),
            Some(SmtpAuthBlock::Mailbox)
        );
        config.tenant.smtp_auth_disabled = true;
        config.mailboxes[2].smtp_auth_disabled = Some(false);
        let d = Directory::new(&config);
        assert_eq!(
            d.smtp_auth_block(&mailbox(&d, alice)),
            Some(SmtpAuthBlock::Tenant)
        );
        assert_eq!(d.smtp_auth_block(&mailbox(&d, sales)), None);
        config.tenant.security_defaults = true;
        let d = Directory::new(&config);
        assert_eq!(
            d.smtp_auth_block(&mailbox(&d, sales)),
            Some(SmtpAuthBlock::SecurityDefaults)
        );
    }
}
