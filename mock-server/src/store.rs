//! The message store every listener shares: per mailbox and folder, real messages (raw
//! RFC 5322 bytes, Message-ID, IMAP UID) behind one lock. IMAP counts and searches them,
//! POP3 reads and deletes from the Inbox, SMTP delivers into Inboxes, tests inspect them.
//!
//! ```text
//! start:  folder `messages = n`  → n synthetic messages, UIDs 1..=n, UIDNEXT n+1
//! SMTP:   deliver(bob, raw)      → bob's Inbox gets UID = UIDNEXT
//! POP3:   expunge(bob, Inbox, [uid]) at QUIT
//! ```
//! Critical sections are short and never span an `.await`. The store holds at most
//! [`MAX_STORE_BYTES`] of mail: SMTP is open to any client that can get a token from the
//! mock, and a flood of submissions must not grow the process without bound.

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

/// Most bytes of mail (seeded and delivered) held at once; deliveries beyond are refused.
pub(crate) const MAX_STORE_BYTES: usize = 256 * 1024 * 1024;

/// A delivery would take the store past its size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreFull;

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
    /// Bytes of all stored messages.
    bytes: usize,
    /// Cap on `bytes` for deliveries.
    max_bytes: usize,
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
        Store::with_max_bytes(directory, MAX_STORE_BYTES)
    }

    /// Same, with another size cap (tests).
    fn with_max_bytes(directory: &Directory, max_bytes: usize) -> Store {
        let mut inner = Inner {
            max_bytes,
            ..Inner::default()
        };
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
                        inner.bytes += raw.len();
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

    /// Appends `raw` to the Inbox of each of `mailboxes` that exists (the others are
    /// skipped), all or none; returns how many got it, or [`StoreFull`] if the copies would
    /// take the store past its size cap.
    pub fn deliver(
        &self,
        mailboxes: &[&str],
        raw: &[u8],
        message_id: &str,
    ) -> Result<usize, StoreFull> {
        let mut inner = self.inner();
        let inner = &mut *inner;
        let targets: Vec<&str> = mailboxes
            .iter()
            .copied()
            .filter(|m| inner.folder_mut(m, "Inbox").is_some())
            .collect();
        let needed = raw.len().saturating_mul(targets.len());
        if inner.bytes.saturating_add(needed) > inner.max_bytes {
            return Err(StoreFull);
        }
        for mailbox in &targets {
            if let Some(inbox) = inner.folder_mut(mailbox, "Inbox") {
                inbox.push(raw.to_vec(), message_id.to_owned());
                inner.bytes += raw.len();
            }
        }
        Ok(targets.len())
    }

    /// Removes the messages with these UIDs from a folder.
    pub fn expunge(&self, mailbox: &str, folder: &str, uids: &[u32]) {
        let mut inner = self.inner();
        let mut freed = 0;
        if let Some(folder) = inner.folder_mut(mailbox, folder) {
            folder.messages.retain(|m| {
                let keep = !uids.contains(&m.uid);
                if !keep {
                    freed += m.raw.len();
                }
                keep
            });
        }
        inner.bytes = inner.bytes.saturating_sub(freed);
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
        assert_eq!(store.deliver(&[alice], &raw, "<new@x>"), Ok(1));
        assert_eq!(
            store.deliver(&["ghost@contoso.example"], &raw, "<new@x>"),
            Ok(0)
        );
        assert_eq!(store.find(alice, "<new@x>"), Some(raw));
        assert_eq!(store.counts(alice, "Inbox"), Some((4, 5)));
        store.expunge(alice, "inbox", &[1, 4]);
        assert_eq!(store.counts(alice, "Inbox"), Some((2, 5)));
        assert_eq!(store.next_sequence(), 1);
        assert_eq!(store.next_sequence(), 2);
    }

    #[test]
    fn deliveries_stop_at_the_size_cap_and_expunge_makes_room() {
        let directory = Directory::new(&Config::demo());
        let seeded = Store::new(&directory).inner().bytes;
        let store = Store::with_max_bytes(&directory, seeded + 250);
        let (alice, bob) = ("alice@contoso.example", "bob@contoso.example");
        let raw = [b'x'; 100];
        assert_eq!(store.deliver(&[alice, bob], &raw, "<a@x>"), Ok(2));
        // A third copy would pass the cap: refused whole, to every recipient.
        assert_eq!(store.deliver(&[alice, bob], &raw, "<b@x>"), Err(StoreFull));
        assert_eq!(store.counts(bob, "Inbox").map(|c| c.0), Some(1));
        assert_eq!(
            store.deliver(&[alice], &[b'y'; 51], "<c@x>"),
            Err(StoreFull)
        );
        assert_eq!(store.deliver(&[alice], &[b'y'; 50], "<c@x>"), Ok(1));
        let (count, uid_next) = store.counts(alice, "Inbox").expect("inbox");
        store.expunge(alice, "Inbox", &[uid_next - 2, uid_next - 1]);
        assert_eq!(store.counts(alice, "Inbox").map(|c| c.0), Some(count - 2));
        assert_eq!(store.deliver(&[alice], &raw, "<d@x>"), Ok(1));
    }
}
