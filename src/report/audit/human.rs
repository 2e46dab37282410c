//! The human summary of a bulk audit: counts per outcome, the grid (for lists short enough to
//! read), then the failing cells grouped by cause and fix, so a thousand mailboxes missing one
//! permission read as one cause, one fix and a count; then the list's skipped and repeated
//! lines. Every text from a server, a token or the list goes through `escape_text`.

use std::fmt::Write as _;

use super::{Audit, Cell, FailureKind};
use crate::diagnose::combination;
use crate::service::Protocol;
use crate::transport::util::escape_text as show;

/// Lists longer than this print no grid (the groups say what failed; `--json` has every cell).
pub const GRID_MAX_ROWS: usize = 200;
/// Addresses named per group before "and N more".
pub const GROUP_NAMES: usize = 5;
/// What stands for each mailbox in a cause or fix that many mailboxes share.
pub const MAILBOX_PLACEHOLDER: &str = "<mailbox>";

/// Failing cells whose cause and fix are the same but for the mailbox they name: the fix is a
/// template with [`MAILBOX_PLACEHOLDER`] where each mailbox goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseGroup<'a> {
    pub kind: FailureKind,
    pub cause: String,
    pub fix: Option<String>,
    pub cells: Vec<(&'a str, Protocol)>,
}

impl Audit {
    /// [`Audit::groups`], with each cell's own mailbox taken out of its cause and fix first, so
    /// that "SMTP AUTH is disabled for the mailbox a@…" and "… b@…" are one group with one fix
    /// to run for each. A group of one cell keeps its text as it was.
    /// Cells a mailbox's combined explanation speaks for are left out: the combination is said
    /// once for the mailbox ([`Audit::combined_groups`]) instead of once per cell.
    pub fn cause_groups(&self) -> Vec<CauseGroup<'_>> {
        let covered = |mailbox: &str, protocol: Protocol| {
            self.mailboxes.iter().any(|m| {
                m.mailbox == mailbox
                    && m.combined.is_some()
                    && m.cells.iter().any(|c| {
                        c.protocol == protocol
                            && c.report.failure.as_ref().is_some_and(combination::explains)
                    })
            })
        };
        let mut groups: Vec<CauseGroup<'_>> = Vec::new();
        for g in self.groups() {
            for &(mailbox, protocol) in &g.cells {
                if covered(mailbox, protocol) {
                    continue;
                }
                let general = |text: &str| text.replace(mailbox, MAILBOX_PLACEHOLDER);
                let (cause, fix) = (general(g.cause), g.fix.map(general));
                match groups
                    .iter_mut()
                    .find(|x| x.kind == g.kind && x.cause == cause && x.fix == fix)
                {
                    Some(x) => x.cells.push((mailbox, protocol)),
                    None => groups.push(CauseGroup {
                        kind: g.kind,
                        cause,
                        fix,
                        cells: vec![(mailbox, protocol)],
                    }),
                }
            }
        }
        for x in &mut groups {
            if let [(mailbox, _)] = x.cells[..] {
                x.cause = x.cause.replace(MAILBOX_PLACEHOLDER, mailbox);
                x.fix = x
                    .fix
                    .as_ref()
                    .map(|f| f.replace(MAILBOX_PLACEHOLDER, mailbox));
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.cells.len()));
        groups
    }
}

/// Mailboxes whose protocols disagree in the same way: one combined cause and fix, as a
/// template with [`MAILBOX_PLACEHOLDER`] when several share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CombinedGroup<'a> {
    pub cause: String,
    pub fix: Option<String>,
    pub mailboxes: Vec<&'a str>,
}

impl Audit {
    /// The mailboxes with a combined explanation, grouped by it (mailbox taken out), largest
    /// group first.
    pub fn combined_groups(&self) -> Vec<CombinedGroup<'_>> {
        let mut groups: Vec<CombinedGroup<'_>> = Vec::new();
        for m in &self.mailboxes {
            let Some(e) = &m.combined else { continue };
            let general = |text: &str| text.replace(m.mailbox.as_str(), MAILBOX_PLACEHOLDER);
            let (cause, fix) = (general(&e.cause), e.fix.as_deref().map(general));
            match groups.iter_mut().find(|g| g.cause == cause && g.fix == fix) {
                Some(g) => g.mailboxes.push(&m.mailbox),
                None => groups.push(CombinedGroup {
                    cause,
                    fix,
                    mailboxes: vec![&m.mailbox],
                }),
            }
        }
        for g in &mut groups {
            if let [mailbox] = g.mailboxes[..] {
                g.cause = g.cause.replace(MAILBOX_PLACEHOLDER, mailbox);
                g.fix = g
                    .fix
                    .as_ref()
                    .map(|f| f.replace(MAILBOX_PLACEHOLDER, mailbox));
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.mailboxes.len()));
        groups
    }

    pub fn render_human(&self) -> String {
        let mut out = String::new();
        let s = self.summary();
        let protocols: Vec<&str> = self.protocols.iter().map(|p| p.name()).collect();
        let who = match &self.user {
            Some(u) => format!("as {}", show(u)),
            None => "app-only (each mailbox as itself)".to_string(),
        };
        let _ = writeln!(
            out,
            "Audit of {} mailbox(es) × {} = {} check(s), {who}, {} at once, {:.1} s",
            s.mailboxes,
            protocols.join(", "),
            s.cells,
            self.concurrency,
            self.elapsed_ms as f64 / 1000.0
        );
        if let Some(t) = &self.token {
            let _ = writeln!(out, "Token: {}", t.summary());
        }
        let _ = write!(out, "Result: {} passed, {} failed", s.passed, s.failed);
        if !s.by_kind.is_empty() {
            let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = write!(out, " ({})", kinds.join(", "));
        }
        out.push('\n');

        if self.mailboxes.len() <= GRID_MAX_ROWS {
            let width = self
                .mailboxes
                .iter()
                .map(|m| show(&m.mailbox).chars().count())
                .max()
                .unwrap_or(0)
                .max("MAILBOX".len());
            // A failed cell names its kind, so the grid alone says what to look up.
            let marks: Vec<Vec<String>> = self
                .mailboxes
                .iter()
                .map(|m| m.cells.iter().map(mark).collect())
                .collect();
            let cell = marks
                .iter()
                .flatten()
                .map(|m| m.chars().count())
                .max()
                .unwrap_or(0)
                .max(12);
            let _ = write!(out, "\n  {:width$}", "MAILBOX");
            for p in &protocols {
                let _ = write!(out, "  {:<cell$}", p.to_uppercase());
            }
            out.push('\n');
            for (m, marks) in self.mailboxes.iter().zip(&marks) {
                let _ = write!(out, "  {:width$}", show(&m.mailbox));
                for mark in marks {
                    let _ = write!(out, "  {mark:<cell$}");
                }
                out.truncate(out.trim_end().len());
                out.push('\n');
            }
        } else {
            let _ = writeln!(
                out,
                "\n(no grid for {} mailboxes: --html writes the whole grid, --json every cell)",
                self.mailboxes.len()
            );
        }

        let combined = self.combined_groups();
        if !combined.is_empty() {
            out.push_str("\nWhat the protocols say together:\n");
        }
        for g in &combined {
            let heading = format!("{} mailbox(es): {}", g.mailboxes.len(), show(&g.cause));
            let named: Vec<String> = g.mailboxes.iter().map(|m| show(m)).collect();
            group(
                &mut out,
                &heading,
                g.fix.as_deref(),
                &named,
                named.len() > 1,
            );
        }

        let groups = self.cause_groups();
        if !groups.is_empty() {
            out.push_str("\nFailures by cause:\n");
        }
        for g in &groups {
            let heading = format!(
                "{} check(s) [{}]: {}",
                g.cells.len(),
                super::kind_name(g.kind),
                show(&g.cause)
            );
            let named: Vec<String> = g
                .cells
                .iter()
                .map(|(m, p)| format!("{} ({})", show(m), p.name()))
                .collect();
            let template = g
                .fix
                .as_ref()
                .is_some_and(|f| f.contains(MAILBOX_PLACEHOLDER));
            group(
                &mut out,
                &heading,
                g.fix.as_deref(),
                &named,
                named.len() > 1 && template,
            );
        }

        if !self.skipped.is_empty() {
            out.push_str("\nLines skipped (not an address, not checked):\n");
            for l in &self.skipped {
                let _ = writeln!(
                    out,
                    "  line {}: \"{}\": {}",
                    l.line,
                    show(&l.text),
                    show(&l.reason)
                );
            }
        }
        if !self.duplicates.is_empty() {
            out.push_str("\nListed more than once (checked once):\n");
            for d in &self.duplicates {
                let lines: Vec<String> = d.lines.iter().map(usize::to_string).collect();
                let _ = writeln!(out, "  {} on lines {}", show(&d.mailbox), lines.join(", "));
            }
        }

        let _ = writeln!(
            out,
            "\n{}: {} of {} check(s) passed{} (exit {})",
            if s.failed == 0 && s.skipped_lines == 0 {
                "PASS"
            } else {
                "FAIL"
            },
            s.passed,
            s.cells,
            if s.skipped_lines > 0 {
                format!(", {} line(s) of the list skipped", s.skipped_lines)
            } else {
                String::new()
            },
            s.exit_code.code()
        );
        out
    }
}

/// A grid cell: `pass`, or `FAIL` and the kind's short name, and the tries when retried.
/// One group of the to-do list: its heading, its fix (a template when `for_each`), and the
/// first few of what it is for.
fn group(out: &mut String, heading: &str, fix: Option<&str>, named: &[String], for_each: bool) {
    let _ = writeln!(out, "  ✗ {heading}");
    if let Some(fix) = fix {
        let mut lines = fix.lines();
        if let Some(first) = lines.next() {
            let _ = writeln!(out, "    fix: {}", show(first));
        }
        for line in lines {
            let _ = writeln!(out, "         {}", show(line));
        }
    }
    let label = if for_each { "for each of: " } else { "" };
    let shown = &named[..named.len().min(GROUP_NAMES)];
    let _ = write!(out, "    {label}{}", shown.join(", "));
    let more = named.len().saturating_sub(GROUP_NAMES);
    if more > 0 {
        let _ = write!(out, " and {more} more");
    }
    out.push('\n');
}

fn mark(c: &Cell) -> String {
    let base = match &c.report.failure {
        None => "pass".to_string(),
        Some(f) => format!("FAIL {}", super::kind_name(f.kind)),
    };
    if c.attempts > 1 {
        format!("{base} ({} tries)", c.attempts)
    } else {
        base
    }
}
