//! `xoauth check --mailboxes FILE --json`: JSON lines, one object per mailbox × protocol cell
//! (its outcome, failure kind, cause and fix on top, the whole single-check report under
//! `report`), then one summary object with the counts every output agrees on. A line per cell
//! lets a thousand-mailbox audit be read with `jq` or a log shipper as it is written.

use serde_json::{Value, json};

use super::{Audit, Cell, ExitStatus, MailboxAudit, Outcome, kind_name};

impl Audit {
    /// Every cell's line, then the summary's; each line ends with `\n`.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for (m, c) in self.cells() {
            out.push_str(&cell_json(m, c).to_string());
            out.push('\n');
        }
        out.push_str(&self.summary_json().to_string());
        out.push('\n');
        out
    }

    /// The last line: the counts, the token (claims and expiry, never the token itself), and
    /// the list's lines that were skipped or repeated.
    pub fn summary_json(&self) -> Value {
        let summary = self.summary();
        let outcome = if summary.exit_code == ExitStatus::Pass {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        json!({
            "outcome": outcome,
            "exit_code": summary.exit_code,
            "summary": summary,
            "user": self.user,
            "token": self.token,
            "protocols": self.protocols,
            "concurrency": self.concurrency,
            "started_at": crate::transport::util::rfc3339(self.started_at as i64),
            "elapsed_ms": self.elapsed_ms,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "xoauth_version": crate::report::version::SHORT,
        })
    }
}

fn cell_json(m: &MailboxAudit, c: &Cell) -> Value {
    let failure = c.report.failure.as_ref();
    let explanation = failure.and_then(|f| f.explanation.as_deref());
    json!({
        "mailbox": m.mailbox,
        "line": m.line,
        "protocol": c.protocol,
        "outcome": c.report.outcome,
        "exit_code": c.report.exit_code,
        "kind": failure.map(|f| kind_name(f.kind)),
        "cause": failure.map(|f| explanation.map_or(f.message.as_str(), |e| e.cause.as_str())),
        "fix": explanation.and_then(|e| e.fix.as_deref()),
        "attempts": c.attempts,
        "backoff_ms": c.backoff_ms,
        // The mailbox's combined explanation, on each of its cells: a line stands alone.
        "combined": m.combined,
        "report": c.report,
    })
}
