//! Which sign-in gets the throttling reply: every one for a service in `[faults] throttle`,
//! else the first `[faults] throttle_first` per protocol and mailbox, counted across
//! connections so that a client's retry after the backoff gets through.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::faults::{EXCHANGE_BACKOFF_MS, FaultsConfig, MailService};

/// Sign-ins seen so far, per protocol and mailbox. Only mailboxes of the directory are
/// counted (the caller passes a configured address), so the map is bounded by the tenant.
#[derive(Debug)]
pub(crate) struct Throttle {
    always: Vec<MailService>,
    first: u32,
    backoff_ms: u64,
    seen: Mutex<HashMap<(MailService, String), u32>>,
}

impl Throttle {
    pub fn new(faults: &FaultsConfig) -> Throttle {
        Throttle {
            always: [MailService::Imap, MailService::Pop, MailService::Smtp]
                .into_iter()
                .filter(|s| faults.throttles(*s))
                .collect(),
            first: faults.throttle_first,
            backoff_ms: faults.throttle_backoff_ms,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// A successful sign-in over `service` to `mailbox` (a configured address): the backoff
    /// in milliseconds to announce if this one is throttled, else `None`.
    pub fn sign_in(&self, service: MailService, mailbox: &str) -> Option<u64> {
        if self.always.contains(&service) {
            return Some(EXCHANGE_BACKOFF_MS);
        }
        if self.first == 0 {
            return None;
        }
        // A poisoned lock only means another session panicked mid-update; the count is
        // still a number.
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = seen
            .entry((service, mailbox.to_ascii_lowercase()))
            .or_insert(0);
        *count = count.saturating_add(1);
        (*count <= self.first).then_some(self.backoff_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_k_per_service_and_mailbox() {
        let faults = FaultsConfig {
            throttle_first: 2,
            throttle_backoff_ms: 75,
            ..FaultsConfig::default()
        };
        let t = Throttle::new(&faults);
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), Some(75));
        assert_eq!(t.sign_in(MailService::Imap, "A@b.c"), Some(75));
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), None);
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), None);
        assert_eq!(t.sign_in(MailService::Pop, "a@b.c"), Some(75));
        assert_eq!(t.sign_in(MailService::Imap, "x@b.c"), Some(75));
    }

    #[test]
    fn always_and_never() {
        let t = Throttle::new(&FaultsConfig::default());
        assert_eq!(t.sign_in(MailService::Smtp, "a@b.c"), None);
        let faults = FaultsConfig {
            throttle: vec![MailService::Smtp],
            ..FaultsConfig::default()
        };
        let t = Throttle::new(&faults);
        for _ in 0..3 {
            assert_eq!(t.sign_in(MailService::Smtp, "a@b.c"), Some(299_961));
        }
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), None);
    }
}
