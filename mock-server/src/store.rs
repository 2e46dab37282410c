//! The message store every listener shares: per mailbox and folder, real messages (raw
//! RFC 5322 bytes, Message-ID, IMAP UID) behind one lock. IMAP counts and searches them,
//! POP3 reads and deletes from the Inbox, SMTP delivers into Inboxes, tests inspect them.
//!
//! ```text
//! start:  folder `messages = n`  → n synthetic messages, UIDs 1..=n, UIDNEXT n+1
//! SMTP:   deliver(bob, raw)      → bob's Inbox gets UID = UIDNEXT
//! POP3:   expunge(bob, Inbox, [uid]) at QUIT
//! ```
//! Critical sections are short and never span an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::directory::Directory;
use crate::rfc5322;

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// The message as delivered (CRLF line ends, not dot-stuffed).
    pub raw: Vec<u8>,
    /// `<id>`, as in its `Message-ID` header.
    pub message_id: String,
    /// IMAP UID, unique within the folder, never reused.
    pub uid: u32,
}

#[derive(Debug)]
struct Folder {
    name: String,
    messages: Vec<Message>,
    uid_next: u32,
}

impl Folder {
    fn push(&mut self, raw: Vec<u8>, message_id: String) {
        let uid = self.uid_next;
        self.uid_next = self.uid_next.saturating_add(1);
        self.messages.push(Message {
            raw,
            message_id,
            uid,
        });
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Lower-cased mailbox address → folders.
    mailboxes: HashMap<String, Vec<Folder>>,
    /// For server-made Message-IDs and queue ids.
    sequence: u64,
}

impl Inner {
    fn folder_mut(&mut self, mailbox: &str, folder: &str) -> Option<&mut Folder> {
        self.mailboxes
            .get_mut(&mailbox.to_ascii_lowercase())?
            .iter_mut()
            .find(|f| f.name.to_lowercase() == folder.to_lowercase())
    }
}

/// Shared handle; clones see the same messages.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store(Arc<Mutex<Inner>>);

impl Store {
    /// Every folder of every mailbox, with the configured number of synthetic messages.
    pub fn new(directory: &Directory) -> Store {
        let mut inner = Inner::default();
        for mailbox in directory.mailboxes() {
            let mut slugs = HashSet::new();
            let folders = mailbox
                .folders
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let mut slug = rfc5322::slug(&f.name);
                    if !slugs.insert(slug.clone()) {
                        slug = format!("{slug}-{i}");
                    }
                    let mut folder = Folder {
                        name: f.name.clone(),
                        messages: Vec::new(),
                        uid_next: 1,
                    };
                    for n in 1..=f.seed_messages {
                        let raw = rfc5322::seed_message(&mailbox.address, &f.name, &slug, n);
                        let id = rfc5322::message_id(&raw).unwrap_or_default();
                        folder.push(raw, id);
                    }
                    folder
                })
                .collect();
            inner
                .mailboxes
                .insert(mailbox.address.to_ascii_lowercase(), folders);
        }
        Store(Arc::new(Mutex::new(inner)))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves usable data.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the messages of `mailbox`/`folder` (both case-insensitive) under the
    /// lock; `None` if there is no such folder.
    pub fn with_folder<R>(
        &self,
        mailbox: &str,
        folder: &str,
        f: impl FnOnce(&[Message], u32) -> R,
    ) -> Option<R> {
        let mut inner = self.inner();
        let folder = inner.folder_mut(mailbox, folder)?;
        Some(f(&folder.messages, folder.uid_next))
    }

    /// `(message count, UIDNEXT)` of a folder.
    pub fn counts(&self, mailbox: &str, folder: &str) -> Option<(usize, u32)> {
        self.with_folder(mailbox, folder, |m, uid_next| (m.len(), uid_next))
    }

    /// A copy of a folder's messages, in order.
    pub fn messages(&self, mailbox: &str, folder: &str) -> Vec<Message> {
        self.with_folder(mailbox, folder, |m, _| m.to_vec())
            .unwrap_or_default()
    }

    /// The raw message with this Message-ID in any folder of `mailbox`. Angle brackets on
    /// `message_id` are optional.
    pub fn find(&self, mailbox: &str, message_id: &str) -> Option<Vec<u8>> {
        let wanted = if message_id.starts_with('<') {
            message_id.to_owned()
        } else {
            format!("<{message_id}>")
        };
        let inner = self.inner();
        inner
            .mailboxes
            .get(&mailbox.to_ascii_lowercase())?
            .iter()
            .flat_map(|f| &f.messages)
            .find(|m| m.message_id == wanted)
            .map(|m| m.raw.clone())
    }

    /// Appends `raw` to `mailbox`'s Inbox; false if there is no such mailbox.
    pub fn deliver(&self, mailbox: &str, raw: Vec<u8>, message_id: String) -> bool {
        let mut inner = self.inner();
        match inner.folder_mut(mailbox, "Inbox") {
            Some(inbox) => {
                inbox.push(raw, message_id);
                true
            }
            None => false,
        }
    }

    /// Removes the messages with these UIDs from a folder.
    pub fn expunge(&self, mailbox: &str, folder: &str, uids: &[u32]) {
        if let Some(folder) = self.inner().folder_mut(mailbox, folder) {
            folder.messages.retain(|m| !uids.contains(&m.uid));
        }
    }

    /// A number never handed out before by this store (starts at 1).
    pub fn next_sequence(&self) -> u64 {
        let mut inner = self.inner();
        inner.sequence += 1;
        inner.sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn seeds_deliver_find_expunge() {
        let store = Store::new(&Directory::new(&Config::demo()));
        let alice = "alice@contoso.example";
        assert_eq!(store.counts(alice, "INBOX"), Some((3, 4)));
        assert_eq!(
            store.counts("ALICE@contoso.example", "sent items"),
            Some((1, 2))
        );
        assert_eq!(store.counts(alice, "Nowhere"), None);
        assert_eq!(
            store.counts("sales@contoso.example", "Angebote"),
            Some((0, 1))
        );
        let ids: Vec<_> = store
            .messages(alice, "Inbox")
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        assert_eq!(
            ids,
            [
                "<seed-1-inbox@mock.contoso.example>",
                "<seed-2-inbox@mock.contoso.example>",
                "<seed-3-inbox@mock.contoso.example>"
            ]
        );
        assert!(
            store
                .find(alice, "seed-1-sent-items@mock.contoso.example")
                .is_some()
        );
        assert!(store.find("bob@contoso.example", &ids[0]).is_none());

        let raw = b"Message-ID: <new@x>\r\n\r\nhi\r\n".to_vec();
        assert!(store.deliver(alice, raw.clone(), "<new@x>".to_owned()));
        assert!(!store.deliver("ghost@contoso.example", raw.clone(), "<new@x>".to_owned()));
        assert_eq!(store.find(alice, "<new@x>"), Some(raw));
        assert_eq!(store.counts(alice, "Inbox"), Some((4, 5)));
        store.expunge(alice, "inbox", &[1, 4]);
        assert_eq!(store.counts(alice, "Inbox"), Some((2, 5)));
        assert_eq!(store.next_sequence(), 1);
        assert_eq!(store.next_sequence(), 2);
    }
}
