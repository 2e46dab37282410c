//! The audit as JUnit XML (`--junit FILE`), the test-report format CI systems read (Jenkins,
//! GitLab, GitHub actions that publish test results): one `<testcase>` per mailbox × protocol
//! cell, `classname` the protocol, `name` the mailbox.
//!
//! One `<testsuite>` per protocol, not one for the whole audit: CI pages group test cases by
//! suite, so an admin reads "SMTP: 40 of 1000 failed" at a glance, and the per-protocol counts
//! add up to the audit's [`Summary`](super::Summary). A failed cell is a `<failure>` (the check
//! ran and said no), never an `<error>`, whatever its exit code: CI counts failures, and the
//! kind in `type` says whether it was the token, the network or the server.
//!
//! Server text is hostile: everything goes through [`text::markup`], which also replaces the
//! control characters XML 1.0 forbids.

use std::fmt::Write as _;

use super::text::{self, markup, markup_attr};
use super::{Audit, Cell, MailboxAudit, kind_name};
use crate::service::Protocol;

/// The whole JUnit document.
pub fn render(audit: &Audit) -> String {
    let summary = audit.summary();
    let timestamp = text::rfc3339(audit.started_at);
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"xoauth audit\" tests=\"{}\" failures=\"{}\" errors=\"0\" \
         skipped=\"0\" time=\"{:.3}\" timestamp=\"{timestamp}\">",
        summary.cells,
        summary.failed,
        audit.elapsed_ms as f64 / 1000.0
    );
    for protocol in protocols(audit) {
        let cells: Vec<(&MailboxAudit, &Cell)> = audit
            .cells()
            .filter(|(_, c)| c.protocol == protocol)
            .collect();
        let failures = cells
            .iter()
            .filter(|(_, c)| c.report.failure.is_some())
            .count();
        let time: f64 = cells.iter().map(|(_, c)| c.seconds()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" \
             skipped=\"0\" time=\"{time:.3}\" timestamp=\"{timestamp}\">",
            protocol.name(),
            cells.len()
        );
        properties(&mut out, audit);
        for (m, cell) in cells {
            testcase(&mut out, m, cell);
        }
        out.push_str("  </testsuite>\n");
    }
    list_suite(&mut out, audit, &timestamp);
    out.push_str("</testsuites>\n");
    out
}

/// The audit's protocols in its order, then any a cell has that the list lacks.
pub(super) fn protocols(audit: &Audit) -> Vec<Protocol> {
    let mut all = audit.protocols.clone();
    for (_, cell) in audit.cells() {
        if !all.contains(&cell.protocol) {
            all.push(cell.protocol);
        }
    }
    all
}

/// What the run used, for whoever reads the CI page later: the token's claims (never the
/// token), the delegated user, the concurrency.
fn properties(out: &mut String, audit: &Audit) {
    let mut props: Vec<(&str, String)> = vec![
        ("started_at", text::rfc3339(audit.started_at)),
        ("concurrency", audit.concurrency.to_string()),
    ];
    if let Some(user) = &audit.user {
        props.push(("user", user.clone()));
    }
    if let Some(claims) = audit.token.as_ref().and_then(|t| t.claims.as_ref()) {
        let fields = [
            ("token_aud", claims.aud.clone()),
            ("token_scp", claims.scp.clone()),
            (
                "token_roles",
                (!claims.roles.is_empty()).then(|| claims.roles.join(" ")),
            ),
            ("token_tid", claims.tid.clone()),
            ("token_appid", claims.app_id().map(str::to_string)),
        ];
        props.extend(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    }
    if let Some(exp) = audit.token.as_ref().and_then(|t| t.expires_at.clone()) {
        props.push(("token_expires_at", exp));
    }
    out.push_str("    <properties>\n");
    for (name, value) in props {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            markup_attr(&value)
        );
    }
    out.push_str("    </properties>\n");
}

fn testcase(out: &mut String, m: &MailboxAudit, cell: &Cell) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
        cell.protocol.name(),
        markup_attr(&m.mailbox),
        cell.seconds()
    );
    let retries = retries(cell);
    // A cell fails when it has a failure, as [`Audit::summary`] counts it.
    let failure = cell.report.failure.as_ref();
    if failure.is_none() && retries.is_none() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if let Some(f) = failure {
        let kind = kind_name(f.kind);
        let mut body = format!("{}: {}\n", f.stage.name(), f.message);
        if let Some(ex) = &f.explanation {
            let _ = writeln!(body, "cause: {}", ex.cause);
            for (i, c) in ex.candidates.iter().enumerate() {
                let _ = writeln!(body, "  {}. {c}", i + 1);
            }
            if let Some(fix) = &ex.fix {
                let _ = writeln!(body, "fix: {fix}");
            }
        }
        for line in &f.server_reply {
            let _ = writeln!(body, "server said: {line}");
        }
        if let Some(combined) = &m.combined {
            let _ = writeln!(body, "across protocols: {}", combined.cause);
        }
        if let Some(r) = &retries {
            let _ = writeln!(body, "{r}");
        }
        let _ = writeln!(
            out,
            "      <failure message=\"{}\" type=\"{}\">{}</failure>",
            markup_attr(&kind),
            markup_attr(&kind),
            markup(&body)
        );
    } else if let Some(r) = retries {
        let _ = writeln!(out, "      <system-out>{}</system-out>", markup(&r));
    }
    out.push_str("    </testcase>\n");
}

/// "3 attempts, waited 1000 ms, 2000 ms" for a throttled cell; `None` when it ran once.
pub(super) fn retries(cell: &Cell) -> Option<String> {
    (cell.attempts > 1).then(|| {
        let waits: Vec<String> = cell
            .backoff_ms
            .iter()
            .map(|ms| format!("{ms} ms"))
            .collect();
        if waits.is_empty() {
            format!("{} attempts", cell.attempts)
        } else {
            format!("{} attempts, waited {}", cell.attempts, waits.join(", "))
        }
    })
}

/// Lines of the list that were not checked, in a suite of no tests, so that the counts stay
/// the cells' and the lines still show on the CI page.
fn list_suite(out: &mut String, audit: &Audit, timestamp: &str) {
    if audit.skipped.is_empty() && audit.duplicates.is_empty() {
        return;
    }
    let mut body = String::new();
    for s in &audit.skipped {
        let _ = writeln!(body, "line {} skipped ({}): {}", s.line, s.reason, s.text);
    }
    for d in &audit.duplicates {
        let lines: Vec<String> = d.lines.iter().map(usize::to_string).collect();
        let _ = writeln!(
            body,
            "{} listed on lines {} (checked once)",
            d.mailbox,
            lines.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "  <testsuite name=\"mailbox list\" tests=\"0\" failures=\"0\" errors=\"0\" \
         skipped=\"0\" time=\"0.000\" timestamp=\"{timestamp}\">\n    <system-out>{}</system-out>\n  </testsuite>",
        markup(&body)
    );
}
