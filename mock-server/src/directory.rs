//! Who is who: users, shared mailboxes and app registrations; which mailboxes a principal
//! (a user's address or an app's client id) may open or send as; the per-protocol switches;
//! each mailbox's folder tree (with implied parents). Protocol-agnostic; IMAP, POP3, SMTP
//! and the identity platform all ask the same questions. Messages live in `store`; whether
//! a token names a principal is `bearer`'s question.

use std::collections::HashMap;

use crate::clock;
use crate::config::{Config, MailboxKind, TenantConfig};
use crate::ids;
use crate::keys::{self, ClientCert};

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
    /// A person's (can sign in) or shared.
    pub kind: MailboxKind,
    /// Directory object id: `oid` of the user's tokens.
    pub object_id: String,
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
    /// SMTP AUTH by a delegate or an app needs SendAs too.
    pub smtp_send_as_required: bool,
    /// HVE accounts: the apps that may send as it (`Add-HVEAppAccess`).
    allowed_apps: Vec<String>,
}

impl Mailbox {
    /// A display name for tokens (`name`): the local part, first letter upper-case.
    pub fn display_name(&self) -> String {
        let local = self.address.split('@').next().unwrap_or_default();
        let mut chars = local.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => self.address.clone(),
        }
    }

    /// The folder with this Unicode name (case-insensitive, like Exchange).
    pub fn folder(&self, name: &str) -> Option<&Folder> {
        self.folders
            .iter()
            .find(|f| f.name.to_lowercase() == name.to_lowercase())
    }
}

/// An app registration as the identity platform and the mail services see it.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub client_id: String,
    pub name: String,
    pub public_client: bool,
    pub redirect_uris: Vec<String>,
    /// Short names of delegated permissions with consent.
    pub delegated_consent: Vec<String>,
    /// Enterprise app object id: `oid` and `sub` of app-only tokens.
    pub service_principal_id: String,
    /// `New-ServicePrincipal` was run in Exchange Online.
    pub exchange_service_principal: bool,
    /// The object id Exchange's service principal was registered with: a token's `oid`
    /// must equal it (normally the service principal id).
    pub exchange_object_id: String,
    /// Application permissions on Exchange Online.
    pub roles: Vec<String>,
    /// Application permissions on Microsoft Graph (the sign-in logs' `AuditLog.Read.All`).
    pub graph_roles: Vec<String>,
    pub secrets: Vec<AppSecret>,
    pub certificates: Vec<ClientCert>,
}

/// A client secret and when it stops working.
#[derive(Clone)]
pub(crate) struct AppSecret {
    pub value: String,
    /// Unix seconds.
    pub expires: i64,
}

impl std::fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecret")
            .field("value", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
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

/// The tenant: policies, mailboxes and app registrations.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    tenant: TenantConfig,
    mailboxes: Vec<Mailbox>,
    /// Lower-cased address → index in `mailboxes`: every AUTH looks a mailbox up, and a
    /// generated tenant has thousands.
    by_address: HashMap<String, usize>,
    apps: Vec<App>,
}

impl Directory {
    /// Builds the directory from a config that passed `Config::validate`.
    pub fn new(config: &Config) -> Directory {
        let mailboxes: Vec<Mailbox> = config
            .mailboxes
            .iter()
            .map(|m| Mailbox {
                address: m.address.clone(),
                kind: m.kind,
                object_id: m.object_id.clone().map_or_else(
                    || ids::derived_uuid(&format!("user:{}", m.address.to_ascii_lowercase())),
                    |id| id.to_ascii_lowercase(),
                ),
                full_access: m.full_access.clone(),
                send_as: m.send_as.clone(),
                folders: folder_tree(m.folders.iter().map(|f| (f.name.as_str(), f.messages))),
                imap_enabled: m.imap_enabled,
                pop_enabled: m.pop_enabled,
                smtp_auth_disabled: m.smtp_auth_disabled,
                smtp_send_as_required: m.smtp_send_as_required,
                allowed_apps: m.allowed_apps.clone(),
            })
            .collect();
        let apps = config
            .apps
            .iter()
            .map(|a| {
                let service_principal_id = a.service_principal_id.clone().map_or_else(
                    || ids::derived_uuid(&format!("sp:{}", a.client_id.to_ascii_lowercase())),
                    |id| id.to_ascii_lowercase(),
                );
                let exchange_object_id = a
                    .exchange_service_principal_object_id
                    .as_deref()
                    .map_or_else(|| service_principal_id.clone(), str::to_ascii_lowercase);
                App {
                    client_id: a.client_id.to_ascii_lowercase(),
                    name: a.name.clone(),
                    public_client: a.public_client,
                    redirect_uris: a.redirect_uris.clone(),
                    delegated_consent: a.delegated_consent.clone(),
                    service_principal_id,
                    exchange_service_principal: a.exchange_service_principal,
                    exchange_object_id,
                    roles: a.roles.clone(),
                    graph_roles: a.graph_roles.clone(),
                    secrets: a
                        .secrets
                        .iter()
                        .map(|s| AppSecret {
                            value: s.value.clone(),
                            // Validated; a bad date would make the secret already expired.
                            expires: clock::parse_date(&s.expires).unwrap_or(0),
                        })
                        .collect(),
                    // Validated; a certificate that does not parse is simply not registered.
                    certificates: a
                        .certificates
                        .iter()
                        .filter_map(|c| keys::client_cert(c).ok())
                        .collect(),
                }
            })
            .collect();
        let by_address = mailboxes
            .iter()
            .enumerate()
            .map(|(i, m)| (m.address.to_ascii_lowercase(), i))
            .collect();
        Directory {
            tenant: config.tenant.clone(),
            mailboxes,
            by_address,
            apps,
        }
    }

    /// The app registration with this client id (case-insensitive).
    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The user (not shared) mailbox with this address.
    pub fn user(&self, address: &str) -> Option<&Mailbox> {
        self.mailbox(address)
            .filter(|m| m.kind == MailboxKind::User)
    }

    /// The first user mailbox in config order.
    pub fn first_user(&self) -> Option<&Mailbox> {
        self.mailboxes.iter().find(|m| m.kind == MailboxKind::User)
    }

    /// Every mailbox, in config order.
    pub fn mailboxes(&self) -> &[Mailbox] {
        &self.mailboxes
    }

    /// The mailbox with this address (case-insensitive).
    pub fn mailbox(&self, address: &str) -> Option<&Mailbox> {
        let i = *self.by_address.get(&address.to_ascii_lowercase())?;
        self.mailboxes.get(i)
    }

    /// The mailbox `address`, if `principal` (a user's address or an app's client id) may
    /// open it: a user's own mailbox, or one whose `full_access` lists the principal.
    pub fn open(&self, principal: &str, address: &str) -> Option<&Mailbox> {
        let mailbox = self.mailbox(address)?;
        // An HVE account has no mailbox to open; only SMTP submission knows it.
        if mailbox.kind == MailboxKind::Hve {
            return None;
        }
        let own =
            mailbox.kind == MailboxKind::User && mailbox.address.eq_ignore_ascii_case(principal);
        let granted = mailbox
            .full_access
            .iter()
            .any(|p| p.eq_ignore_ascii_case(principal));
        (own || granted).then_some(mailbox)
    }

    /// Whether the session authenticated as `authenticated` (by `principal`) may use
    /// `sender` as envelope sender or `From:`: its own address, or a mailbox whose
    /// `send_as` lists the authenticated mailbox or the signed-in principal.
    ///
    /// Apps (SMTP.SendAsApp): the mock keeps it simple and lets an app send as any mailbox
    /// it has FullAccess to. Exchange really asks for SendAs on the sender (or an RBAC for
    /// Applications role assignment); FullAccess is what IMAP/POP app access needs anyway.
    pub fn may_send_as(&self, principal: &str, authenticated: &str, sender: &str) -> bool {
        if sender.eq_ignore_ascii_case(authenticated) {
            return true;
        }
        let is_app = self.app(principal).is_some();
        self.mailbox(sender).is_some_and(|m| {
            let trustee = |list: &[String]| {
                list.iter().any(|t| {
                    t.eq_ignore_ascii_case(authenticated) || t.eq_ignore_ascii_case(principal)
                })
            };
            trustee(&m.send_as)
                || (is_app
                    && m.full_access
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(principal)))
        })
    }

    /// Whether `principal` (who may open `mailbox`) may also SMTP AUTH into it: always,
    /// unless the mailbox has `smtp_send_as_required`; then only its owner or a principal
    /// in its `send_as`.
    pub fn smtp_send_as_ok(&self, principal: &str, mailbox: &Mailbox) -> bool {
        let own =
            mailbox.kind == MailboxKind::User && mailbox.address.eq_ignore_ascii_case(principal);
        !mailbox.smtp_send_as_required
            || own
            || mailbox
                .send_as
                .iter()
                .any(|p| p.eq_ignore_ascii_case(principal))
    }

    /// Whether SMTP AUTH is switched off for `mailbox`, and by which setting. The mailbox's
    /// own switch wins over the tenant's (as with `Set-CASMailbox`); security defaults
    /// block everyone.
    /// The HVE account `address`, when `principal` is an app on its Allowed Apps list.
    pub fn hve_account(&self, principal: &str, address: &str) -> Option<&Mailbox> {
        self.mailbox(address).filter(|m| {
            m.kind == MailboxKind::Hve
                && m.allowed_apps
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(principal))
        })
    }

    pub fn smtp_auth_block(&self, mailbox: &Mailbox) -> Option<SmtpAuthBlock> {
        // HVE accounts ignore SmtpClientAuthenticationDisabled (tenant or mailbox).
        if mailbox.kind == MailboxKind::Hve {
            return self
                .tenant
                .security_defaults
                .then_some(SmtpAuthBlock::SecurityDefaults);
        }
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
        let daemon = "66666666-7777-8888-9999-000000000000";
        assert!(d.open(daemon, "sales@contoso.example").is_some());
        assert!(d.open(daemon, "payroll@contoso.example").is_none());
        assert!(d.open(daemon, "alice@contoso.example").is_none());
        // Shared mailboxes cannot sign in themselves.
        assert!(
            d.open("sales@contoso.example", "sales@contoso.example")
                .is_none()
        );
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
    fn users_and_apps() {
        let mut config = Config::demo();
        let d = Directory::new(&config);
        let alice = d.user("alice@contoso.example").expect("user");
        assert!(ids::is_uuid(&alice.object_id));
        assert_eq!(alice.display_name(), "Alice");
        assert!(d.user("sales@contoso.example").is_none());
        assert_eq!(
            d.first_user().map(|m| m.address.as_str()),
            Some("alice@contoso.example")
        );
        let daemon = d.app("66666666-7777-8888-9999-000000000000").expect("app");
        assert_eq!(
            daemon.service_principal_id,
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        );
        assert_eq!(daemon.certificates.len(), 1);
        assert!(daemon.secrets[1].expires < clock::now_secs());
        let public = d.app("11111111-2222-3333-4444-555555555555").expect("app");
        assert_eq!(public.delegated_consent.len(), 3);
        assert!(ids::is_uuid(&public.service_principal_id));
        config.mailboxes[0].object_id = Some("0000AAAA-0000-0000-0000-000000000001".to_owned());
        let d = Directory::new(&config);
        assert_eq!(
            d.user("alice@contoso.example")
                .map(|m| m.object_id.as_str()),
            Some("0000aaaa-0000-0000-0000-000000000001")
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
        let daemon = "66666666-7777-8888-9999-000000000000";
        assert!(d.may_send_as(daemon, sales, sales));
        assert!(d.may_send_as(daemon, "alice@contoso.example", sales));
        assert!(!d.may_send_as(daemon, sales, "payroll@contoso.example"));

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
