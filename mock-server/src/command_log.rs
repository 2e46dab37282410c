//! The record of command *names* the mock received ("IMAP AUTHENTICATE XOAUTH2"), so tests
//! can assert what a client did or did not send. Never holds arguments or secrets.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Oldest entries are dropped beyond this, so a long-running mock stays bounded.
const MAX_ENTRIES: usize = 10_000;

/// Shared, append-only (bounded) list of command names.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommandLog(Arc<Mutex<VecDeque<String>>>);

impl CommandLog {
    fn entries(&self) -> MutexGuard<'_, VecDeque<String>> {
        // A panic elsewhere while holding the lock leaves a usable list.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends one entry, e.g. `"IMAP LIST"`.
    pub fn record(&self, entry: String) {
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// A copy of the entries so far, oldest first.
    pub fn snapshot(&self) -> Vec<String> {
        self.entries().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_in_order_and_is_bounded() {
        let log = CommandLog::default();
        for i in 0..MAX_ENTRIES + 2 {
            log.record(format!("IMAP NOOP {i}"));
        }
        let all = log.snapshot();
        assert_eq!(all.len(), MAX_ENTRIES);
        assert_eq!(all[0], "IMAP NOOP 2");
    }
}
