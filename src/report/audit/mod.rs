//! A bulk audit's result: one grid of mailbox × protocol cells, each a whole single-check
//! [`Report`]. Every output (human table, JSON lines, JUnit, HTML, Prometheus, Nagios) renders
//! this one value, so their counts cannot disagree.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ExitStatus, Explanation, FailureKind, Outcome, Report, TokenInfo};
use crate::service::Protocol;

pub mod html;
mod human;
mod json;
pub mod junit;
pub mod nagios;
pub mod prometheus;
#[cfg(test)]
mod tests;
pub(crate) mod text;

/// The whole audit, as run.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// When the audit started, seconds since the Unix epoch (UTC).
    pub started_at: u64,
    pub elapsed_ms: u64,
    /// The delegated user whose token opened the mailboxes; `None` for an app-only token.
    pub user: Option<String>,
    /// The token used for every cell (the last one, when it was renewed during the run).
    pub token: Option<TokenInfo>,
    pub protocols: Vec<Protocol>,
    pub concurrency: usize,
    /// In the order of the mailbox list, each address once.
    pub mailboxes: Vec<MailboxAudit>,
    /// Lines of the list that were not an address: reported, not checked.
    pub skipped: Vec<SkippedLine>,
    /// Addresses listed more than once (checked once).
    pub duplicates: Vec<Duplicate>,
}

/// One mailbox's row of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxAudit {
    pub mailbox: String,
    /// Its (first) line in the list, 1-based.
    pub line: usize,
    /// One per protocol, in the audit's protocol order.
    pub cells: Vec<Cell>,
    /// What the protocols' disagreement means for this mailbox, when they disagree in a way
    /// that has one explanation (IMAP passes, SMTP says 5.7.139: SMTP AUTH is off for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combined: Option<Explanation>,
}

/// One mailbox × protocol check.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub protocol: Protocol,
    /// How many times the check ran (more than one after throttling).
    pub attempts: u32,
    /// Back-offs waited before retries, as the server suggested, in milliseconds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backoff_ms: Vec<u64>,
    /// The last attempt's whole report.
    pub report: Report,
}

/// A line of the mailbox list that is not an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedLine {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// An address listed on several lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub mailbox: String,
    pub lines: Vec<usize>,
}

/// Counts every output agrees on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub mailboxes: usize,
    pub cells: usize,
    pub passed: usize,
    pub failed: usize,
    /// Failed cells per failure kind.
    pub by_kind: BTreeMap<String, usize>,
    pub skipped_lines: usize,
    pub duplicates: usize,
    /// The worst cell's exit code (2 when a line of the list was not an address and nothing
    /// worse happened).
    pub exit_code: ExitStatus,
}

/// Failing cells that share one cause and one fix, for the grouped summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group<'a> {
    pub kind: FailureKind,
    pub cause: &'a str,
    pub fix: Option<&'a str>,
    pub cells: Vec<(&'a str, Protocol)>,
}

impl Cell {
    pub fn passed(&self) -> bool {
        self.report.outcome == Outcome::Pass
    }

    /// The last attempt's time, in seconds: what JUnit, Prometheus and the page report (the
    /// back-offs before it are listed apart, so a throttled cell does not read as a slow one).
    pub fn seconds(&self) -> f64 {
        self.report.elapsed_ms as f64 / 1000.0
    }
}

impl Audit {
    /// A single `check` (one identity, its protocols) as a one-row audit, so the audit outputs
    /// (JUnit, HTML, Prometheus, Nagios) serve a single check too.
    pub fn from_reports(started_at: u64, elapsed_ms: u64, reports: Vec<Report>) -> Audit {
        let protocols = reports.iter().map(|r| r.protocol).collect();
        let token = reports.iter().rev().find_map(|r| r.token.clone());
        let first = reports.first();
        let mailbox = first.map(|r| r.mailbox.clone()).unwrap_or_default();
        // The report's `user` is the mailbox for an app-only token, which has no user.
        let app_only = token
            .as_ref()
            .and_then(|t| t.claims.as_ref())
            .is_some_and(|c| c.is_app_only());
        let user = first
            .filter(|r| !app_only && !r.user.is_empty())
            .map(|r| r.user.clone());
        let cells = reports
            .into_iter()
            .map(|report| Cell {
                protocol: report.protocol,
                attempts: 1,
                backoff_ms: Vec::new(),
                report,
            })
            .collect();
        Audit {
            started_at,
            elapsed_ms,
            user,
            token,
            protocols,
            concurrency: 1,
            mailboxes: vec![MailboxAudit {
                mailbox,
                line: 1,
                cells,
                combined: None,
            }],
            skipped: Vec::new(),
            duplicates: Vec::new(),
        }
    }

    /// When the token expires, seconds since the epoch: from the report's `expires_at` (the
    /// token response's or the cache's), else the `exp` claim.
    pub fn token_expires_at(&self) -> Option<i64> {
        let token = self.token.as_ref()?;
        token
            .expires_at
            .as_deref()
            .and_then(text::parse_rfc3339)
            .or(token.claims.as_ref().and_then(|c| c.exp))
    }

    /// When the audit finished, seconds since the epoch.
    pub fn finished_at(&self) -> u64 {
        self.started_at + self.elapsed_ms / 1000
    }

    /// Every cell, row by row.
    pub fn cells(&self) -> impl Iterator<Item = (&MailboxAudit, &Cell)> {
        self.mailboxes
            .iter()
            .flat_map(|m| m.cells.iter().map(move |c| (m, c)))
    }

    pub fn summary(&self) -> Summary {
        let mut by_kind = BTreeMap::new();
        let (mut passed, mut failed) = (0, 0);
        let mut exit_code = if self.skipped.is_empty() {
            ExitStatus::Pass
        } else {
            ExitStatus::Usage
        };
        for (_, cell) in self.cells() {
            exit_code = exit_code.max(cell.report.exit_code);
            match &cell.report.failure {
                None => passed += 1,
                Some(f) => {
                    failed += 1;
                    *by_kind.entry(kind_name(f.kind)).or_insert(0) += 1;
                }
            }
        }
        Summary {
            mailboxes: self.mailboxes.len(),
            cells: passed + failed,
            passed,
            failed,
            by_kind,
            skipped_lines: self.skipped.len(),
            duplicates: self.duplicates.len(),
            exit_code,
        }
    }

    /// The failing cells grouped by (kind, cause, fix), largest group first, so a thousand
    /// mailboxes missing one permission read as one line with one fix.
    pub fn groups(&self) -> Vec<Group<'_>> {
        let mut groups: Vec<Group<'_>> = Vec::new();
        for (m, cell) in self.cells() {
            let Some(f) = &cell.report.failure else {
                continue;
            };
            let (cause, fix) = match &f.explanation {
                Some(e) => (e.cause.as_str(), e.fix.as_deref()),
                None => (f.message.as_str(), None),
            };
            match groups
                .iter_mut()
                .find(|g| g.kind == f.kind && g.cause == cause && g.fix == fix)
            {
                Some(g) => g.cells.push((&m.mailbox, cell.protocol)),
                None => groups.push(Group {
                    kind: f.kind,
                    cause,
                    fix,
                    cells: vec![(&m.mailbox, cell.protocol)],
                }),
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.cells.len()));
        groups
    }
}

/// A failure kind's stable name, as the JSON report spells it (`auth_rejected`).
pub fn kind_name(kind: FailureKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
