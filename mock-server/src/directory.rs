//! Who is who: token → principal, which mailboxes a principal may open, and each
//! mailbox's folder tree (with implied parents). Protocol-agnostic; IMAP, POP3 and SMTP
//! all ask the same questions.

use crate::config::Config;

/// One folder, with parents implied by `a/b` names made explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folder {
    /// Unicode name, `/`-separated.
    pub name: String,
    /// Message count.
    pub messages: u32,
    /// Some other folder is below this one.
    pub has_children: bool,
}

/// A mailbox as sessions see it.
#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    /// Address as configured.
    pub address: String,
    full_access: Vec<String>,
    /// Folders in config order, implied parents placed before their first child.
    pub folders: Vec<Folder>,
}

impl Mailbox {
    /// The folder with this Unicode name (case-insensitive, like Exchange).
    pub fn folder(&self, name: &str) -> Option<&Folder> {
        self.folders
            .iter()
            .find(|f| f.name.to_lowercase() == name.to_lowercase())
    }
}

/// The tenant: mailboxes and accepted tokens.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
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
                folders: folder_tree(m.folders.iter().map(|f| (f.name.as_str(), f.messages))),
            })
            .collect();
        let tokens = config
            .tokens
            .iter()
            .map(|t| (t.value.clone(), t.principal.clone()))
            .collect();
        Directory { mailboxes, tokens }
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
}

/// Makes implied parents explicit and sets `has_children`.
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
                    messages: 0,
                    has_children: true,
                }),
            }
        }
        match find(&folders, name) {
            // Configured after it was implied by a child: keep its place, take the count.
            Some(existing) => folders[existing].messages = messages,
            None => folders.push(Folder {
                name: name.to_owned(),
                messages,
                has_children: false,
            }),
        }
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
        assert_eq!(tree[1].messages, 7);
        assert_eq!(tree[3].messages, 2);
    }
}
