//! The audit as a Prometheus text-format file (`--prometheus FILE`, exposition format 0.0.4)
//! for node_exporter's textfile collector, so an audit run from cron is monitoring: alert on
//! `xoauth_check_success == 0`, on a stale `xoauth_audit_last_run_timestamp_seconds`, on
//! `xoauth_token_expiry_timestamp_seconds - time() < 3600`.
//!
//! Every metric is a gauge (each file replaces the last run's; nothing accumulates), so none
//! ends in `_total`, which `promtool check metrics` reserves for counters. Label values are
//! escaped as the format says (`\\`, `\"`, `\n`), after control characters are shown as
//! text ([`text::clean_line`]). The counts are the audit's [`Summary`](super::Summary).

use std::fmt::Write as _;

use super::text::clean_line;
use super::{Audit, kind_name};

/// The whole file, one `# HELP` and `# TYPE` per metric family.
pub fn render(audit: &Audit) -> String {
    let summary = audit.summary();
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let cell_labels =
        |mailbox: &str, protocol: &str| labels(&[("mailbox", mailbox), ("protocol", protocol)]);

    let mut success = Vec::new();
    let mut duration = Vec::new();
    let mut attempts = Vec::new();
    let mut failure = Vec::new();
    for (m, cell) in audit.cells() {
        let protocol = cell.protocol.name();
        let l = cell_labels(&m.mailbox, protocol);
        let ok = cell.report.failure.is_none();
        success.push((l.clone(), u8::from(ok).to_string()));
        duration.push((l.clone(), format!("{:.3}", cell.seconds())));
        attempts.push((l, cell.attempts.to_string()));
        if let Some(f) = &cell.report.failure {
            let kind = kind_name(f.kind);
            failure.push((
                labels(&[
                    ("mailbox", &m.mailbox),
                    ("protocol", protocol),
                    ("kind", &kind),
                ]),
                "1".to_string(),
            ));
        }
    }
    family(
        "xoauth_check_success",
        "Whether OAuth worked for the mailbox over the protocol in the last audit (1 yes, 0 no).",
        success,
    );
    family(
        "xoauth_check_failure",
        "The failure kind of a failed mailbox and protocol in the last audit (always 1).",
        failure,
    );
    family(
        "xoauth_check_duration_seconds",
        "How long the last attempt of the check took.",
        duration,
    );
    family(
        "xoauth_check_attempts",
        "How many times the check ran (more than 1 after the server throttled it).",
        attempts,
    );
    family(
        "xoauth_audit_cells",
        "Mailbox and protocol checks in the last audit, by outcome.",
        vec![
            (labels(&[("outcome", "pass")]), summary.passed.to_string()),
            (labels(&[("outcome", "fail")]), summary.failed.to_string()),
        ],
    );
    family(
        "xoauth_audit_failed_cells",
        "Failed checks in the last audit, by failure kind.",
        summary
            .by_kind
            .iter()
            .map(|(kind, n)| (labels(&[("kind", kind)]), n.to_string()))
            .collect(),
    );
    family(
        "xoauth_audit_mailboxes",
        "Mailboxes checked in the last audit (each address once).",
        vec![(String::new(), summary.mailboxes.to_string())],
    );
    family(
        "xoauth_audit_skipped_lines",
        "Lines of the mailbox list that were not an address and were not checked.",
        vec![(String::new(), summary.skipped_lines.to_string())],
    );
    family(
        "xoauth_audit_duplicate_mailboxes",
        "Addresses listed more than once (checked once).",
        vec![(String::new(), summary.duplicates.to_string())],
    );
    family(
        "xoauth_audit_exit_code",
        "The audit's exit code (0 pass, 1 check failed, 2 usage, 3 token, 4 network or TLS).",
        vec![(String::new(), summary.exit_code.code().to_string())],
    );
    family(
        "xoauth_audit_duration_seconds",
        "How long the last audit took, end to end.",
        vec![(
            String::new(),
            format!("{:.3}", audit.elapsed_ms as f64 / 1000.0),
        )],
    );
    family(
        "xoauth_audit_last_run_timestamp_seconds",
        "When the last audit finished, seconds since the Unix epoch.",
        vec![(String::new(), audit.finished_at().to_string())],
    );
    if let Some(exp) = audit.token_expires_at() {
        family(
            "xoauth_token_expiry_timestamp_seconds",
            "When the audit's access token expires, seconds since the Unix epoch.",
            vec![(String::new(), exp.to_string())],
        );
    }
    out
}

/// `{a="x",b="y"}`, values escaped per the exposition format.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A label value: `\` → `\\`, `"` → `\"`, line feed → `\n`; other controls are already text.
fn escape_label(value: &str) -> String {
    clean_line(value)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A HELP text: `\` → `\\`, line feed → `\n`.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}
