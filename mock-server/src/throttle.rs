//! Which sign-in gets the throttling reply: every one for a service in `[faults] throttle`,
//! else the first `[faults] throttle_first` per protocol and mailbox, counted across
//! connections so that a client's retry after the backoff gets through; and, with
//! `[server] smtp_sessions_per_mailbox`, an SMTP sign-in to a mailbox that already has that
//! many authenticated sessions (Exchange Online allows 3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::faults::{EXCHANGE_BACKOFF_MS, FaultsConfig, MailService};

/// Sign-ins seen so far, per protocol and mailbox. Only mailboxes of the directory are
/// counted (the caller passes a configured address), so the map is bounded by the tenant.
#[derive(Debug)]
pub(crate) struct Throttle {
    always: Vec<MailService>,
    first: u32,
    backoff_ms: u64,
    seen: Mutex<HashMap<(MailService, String), u32>>,
    /// `[server] smtp_sessions_per_mailbox`; 0 = no cap.
    smtp_sessions: usize,
    /// Authenticated SMTP sessions per lower-cased mailbox (entries removed at zero).
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One authenticated SMTP session's place in its mailbox's count; dropping it (the session
/// ends, or forgets its login) gives the place back.
#[derive(Debug)]
pub(crate) struct SmtpSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    mailbox: String,
}

impl Drop for SmtpSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(n) = open.get_mut(&self.mailbox) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.mailbox);
            }
        }
    }
}

/// A poisoned lock only means another session panicked mid-update; the counts are still
/// numbers.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Throttle {
    pub fn new(faults: &FaultsConfig, smtp_sessions_per_mailbox: usize) -> Throttle {
        Throttle {
            always: [MailService::Imap, MailService::Pop, MailService::Smtp]
                .into_iter()
                .filter(|s| faults.throttles(*s))
                .collect(),
            first: faults.throttle_first,
            backoff_ms: faults.throttle_backoff_ms,
            seen: Mutex::new(HashMap::new()),
            smtp_sessions: smtp_sessions_per_mailbox,
            open: Arc::default(),
        }
    }

    /// A place for one more authenticated SMTP session to `mailbox` (a configured address),
    /// or `None` when it already has `smtp_sessions_per_mailbox`.
    pub fn smtp_session(&self, mailbox: &str) -> Option<SmtpSlot> {
        let mailbox = mailbox.to_ascii_lowercase();
        let mut open = lock(&self.open);
        let n = open.entry(mailbox.clone()).or_insert(0);
        if self.smtp_sessions > 0 && *n >= self.smtp_sessions {
            return None;
        }
        *n += 1;
        Some(SmtpSlot {
            open: Arc::clone(&self.open),
            mailbox,
        })
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
        let mut seen = lock(&self.seen);
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
        let t = Throttle::new(&faults, 0);
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), Some(75));
        assert_eq!(t.sign_in(MailService::Imap, "A@b.c"), Some(75));
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), None);
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), None);
        assert_eq!(t.sign_in(MailService::Pop, "a@b.c"), Some(75));
        assert_eq!(t.sign_in(MailService::Imap, "x@b.c"), Some(75));
    }

    #[test]
    fn always_and_never() {
        let t = Throttle::new(&FaultsConfig::default(), 0);
        assert_eq!(t.sign_in(MailService::Smtp, "a@b.c"), None);
        let faults = FaultsConfig {
            throttle: vec![MailService::Smtp],
            ..FaultsConfig::default()
        };
        let t = Throttle::new(&faults, 0);
        for _ in 0..3 {
            assert_eq!(t.sign_in(MailService::Smtp, "a@b.c"), Some(299_961));
        }
        assert_eq!(t.sign_in(MailService::Imap, "a@b.c"), None);
    }

    #[test]
    fn smtp_sessions_per_mailbox_are_capped_and_given_back() {
        let t = Throttle::new(&FaultsConfig::default(), 3);
        let slots: Vec<_> = (0..3).map(|_| t.smtp_session("a@b.c")).collect();
        assert!(slots.iter().all(Option::is_some));
        assert!(t.smtp_session("A@b.c").is_none(), "a fourth");
        assert!(t.smtp_session("x@b.c").is_some(), "another mailbox");
        drop(slots);
        assert!(t.smtp_session("a@b.c").is_some(), "places given back");
        assert!(lock(&t.open).is_empty(), "no entry left behind");
        let unlimited = Throttle::new(&FaultsConfig::default(), 0);
        let many: Vec<_> = (0..100).map(|_| unlimited.smtp_session("a@b.c")).collect();
        assert!(many.iter().all(Option::is_some));
    }
}
