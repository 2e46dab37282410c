//! The per-protocol tally of legacy sign-ins. Counts are exact; what it keeps grows with the
//! distinct users, apps and addresses (capped, see [`MAX_DISTINCT`]), never with the rows, so
//! an export of any length is summarised in bounded memory.

use std::collections::HashMap;

use super::protocols::{ACTIVESYNC, LEGACY_APPS, legacy};
use super::{Format, Item, LegacyError, SignIn};

/// Distinct values remembered per list and protocol. Past it, new names are counted in
/// `others` and the distinct count becomes a lower bound (`capped`).
pub const MAX_DISTINCT: usize = 50_000;
/// Names shown per list, most frequent first.
pub const TOP: usize = 20;
/// Row warnings kept for the report; the rest are only counted.
pub const MAX_WARNINGS: usize = 50;

/// Counts of one kind of name (users, apps or IPs) for one protocol.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    counts: HashMap<String, u64>,
    /// Sign-ins whose name arrived after the cap.
    pub others: u64,
    pub capped: bool,
}

impl Tally {
    fn add(&mut self, name: &str) {
        let name = if name.trim().is_empty() {
            "(empty)"
        } else {
            name.trim()
        };
        if let Some(n) = self.counts.get_mut(name) {
            *n += 1;
        } else if self.counts.len() < MAX_DISTINCT {
            self.counts.insert(name.to_string(), 1);
        } else {
            self.capped = true;
            self.others += 1;
        }
    }

    /// Distinct names seen (a lower bound when `capped`).
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// The `TOP` names by sign-ins, ties by name.
    pub fn top(&self) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(TOP);
        all
    }
}

/// One protocol's legacy sign-ins.
#[derive(Debug, Clone, Default)]
pub struct ProtocolTally {
    pub sign_ins: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub users: Tally,
    pub apps: Tally,
    pub ips: Tally,
    /// Users with at least one successful sign-in: still working on Basic.
    pub users_succeeded: Tally,
    pub last_seen: Option<i64>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Summary {
    pub source: String,
    pub format: Option<Format>,
    /// Only sign-ins at or after this time are counted.
    pub since: Option<i64>,
    pub records: u64,
    pub modern: u64,
    pub before_window: u64,
    pub undated: u64,
    pub certificate_activesync: u64,
    pub warnings: Vec<(u64, String)>,
    pub warning_count: u64,
    /// Indexed like [`LEGACY_APPS`].
    pub protocols: Vec<ProtocolTally>,
}

impl Summary {
    pub fn new(source: impl Into<String>, since: Option<i64>) -> Self {
        Summary {
            source: source.into(),
            format: None,
            since,
            records: 0,
            modern: 0,
            before_window: 0,
            undated: 0,
            certificate_activesync: 0,
            warnings: Vec::new(),
            warning_count: 0,
            protocols: vec![ProtocolTally::default(); LEGACY_APPS.len()],
        }
    }

    /// Reads every item of `items` (a [`super::Reader`]); the first error ends it.
    pub fn read_all(
        &mut self,
        items: impl Iterator<Item = Result<Item, LegacyError>>,
    ) -> Result<(), LegacyError> {
        for item in items {
            match item? {
                Item::SignIn { line, sign_in } => self.add(line, &sign_in),
                Item::Warning { line, message } => self.warn(line, message),
            }
        }
        Ok(())
    }

    /// A row (or the input, at `line`) that could not be fully used.
    pub fn warn(&mut self, line: u64, message: String) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push((line, message));
        }
    }

    /// Counts one sign-in. The ActiveSync rule: a sign-in whose authentication details name a
    /// certificate is certificate-based authentication, not Basic, and is left out.
    pub fn add(&mut self, line: u64, s: &SignIn) {
        self.records += 1;
        let Some(index) = LEGACY_APPS
            .iter()
            .position(|a| Some(a) == legacy(&s.client_app))
        else {
            self.modern += 1;
            return;
        };
        if s.when.is_none() {
            self.undated += 1;
            self.warn(
                line,
                "no readable sign-in date; counted without a time".into(),
            );
        }
        if let (Some(since), Some(when)) = (self.since, s.when)
            && when < since
        {
            self.before_window += 1;
            return;
        }
        if LEGACY_APPS[index].client_app == ACTIVESYNC && s.certificate {
            self.certificate_activesync += 1;
            return;
        }
        let p = &mut self.protocols[index];
        p.sign_ins += 1;
        if s.error_code == 0 {
            p.succeeded += 1;
            p.users_succeeded.add(&s.user);
        } else {
            p.failed += 1;
        }
        p.users.add(&s.user);
        p.apps.add(&s.app);
        p.ips.add(&s.ip);
        p.last_seen = p.last_seen.max(s.when);
    }

    pub fn legacy_sign_ins(&self) -> u64 {
        self.protocols.iter().map(|p| p.sign_ins).sum()
    }

    /// Names held across all lists: what the summary's memory grows with.
    pub fn retained_names(&self) -> usize {
        self.protocols
            .iter()
            .map(|p| {
                p.users.distinct()
                    + p.apps.distinct()
                    + p.ips.distinct()
                    + p.users_succeeded.distinct()
            })
            .sum()
    }
}
