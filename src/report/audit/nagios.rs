//! The audit as a Nagios/Icinga plugin result (`--nagios`): one status line,
//! `XOAUTH CRITICAL - 3 of 12 checks failed (auth_rejected 2, …) | 'cells'=12;;;0 …`, and the
//! plugin exit code (Monitoring Plugins Development Guidelines: 0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN; performance data `'label'=value[UOM];[warn];[crit];[min];[max]`).
//!
//! The mapping, from the audit's one [`Summary`](super::Summary):
//! - CRITICAL: a check failed for a reason that stays until someone acts (refused, no
//!   permission, network, no usable token: the monitored thing, mail access, is broken);
//! - WARNING: every check passed or failed only for a passing reason (throttled, the server's
//!   temporary failure), a line of the mailbox list was not an address, or the token expires
//!   within [`TOKEN_WARN_SECS`];
//! - OK: every check passed;
//! - UNKNOWN: nothing was checked (an empty list); usage errors and unwritable outputs also
//!   exit 3, from the binary, before or instead of this line.

use std::fmt::Write as _;

use super::Audit;
use crate::outcome::FailureKind;

/// A token that expires within this many seconds of the check turns OK into WARNING: the next
/// scheduled check may find it expired (ten minutes is two default Nagios check intervals).
pub const TOKEN_WARN_SECS: i64 = 600;

/// A plugin state, whose exit code is the guidelines'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    pub fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// The status line (without a newline) and its state, `now` being seconds since the epoch.
pub fn status(audit: &Audit, now: i64) -> (String, State) {
    let s = audit.summary();
    let expires_in = audit.token_expires_at().map(|exp| exp - now);
    let transient = |k: FailureKind| {
        matches!(
            k,
            FailureKind::Throttled | FailureKind::ServerTemporaryFailure
        )
    };
    let lasting = audit
        .cells()
        .filter_map(|(_, c)| c.report.failure.as_ref())
        .filter(|f| !transient(f.kind))
        .count();
    let expiring = expires_in.is_some_and(|left| left < TOKEN_WARN_SECS);
    let state = if s.cells == 0 {
        State::Unknown
    } else if lasting > 0 {
        State::Critical
    } else if s.failed > 0 || s.skipped_lines > 0 || expiring {
        State::Warning
    } else {
        State::Ok
    };

    let mut text = if s.cells == 0 {
        "no mailbox was checked".to_string()
    } else if s.failed == 0 {
        format!("all {} checks passed ({})", s.cells, mailboxes(s.mailboxes))
    } else {
        let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let failing = audit
            .mailboxes
            .iter()
            .filter(|m| m.cells.iter().any(|c| !c.passed()))
            .count();
        format!(
            "{} of {} checks failed ({}) on {failing} of {}",
            s.failed,
            s.cells,
            kinds.join(", "),
            mailboxes(s.mailboxes)
        )
    };
    if s.skipped_lines > 0 {
        let lines = if s.skipped_lines == 1 {
            "line"
        } else {
            "lines"
        };
        let _ = write!(text, "; {} list {lines} skipped", s.skipped_lines);
    }
    match expires_in {
        Some(left) if left <= 0 => text.push_str("; the token has expired"),
        Some(left) if left < TOKEN_WARN_SECS => {
            let _ = write!(text, "; the token expires in {left} s");
        }
        _ => {}
    }

    let mut perf = format!(
        "'cells'={};;;0 'passed'={};;;0;{} 'failed'={};;0;0;{} 'duration'={:.3}s;;;0",
        s.cells,
        s.passed,
        s.cells,
        s.failed,
        s.cells,
        audit.elapsed_ms as f64 / 1000.0
    );
    if let Some(left) = expires_in {
        let _ = write!(perf, " 'token_expiry'={left}s;{TOKEN_WARN_SECS}:;;");
    }
    // Kind names are snake_case words and the rest is numbers: nothing from a server reaches
    // the line, so it cannot carry a `|` or a line break.
    debug_assert!(!text.contains('|') && !text.contains('\n'));
    (format!("XOAUTH {} - {text} | {perf}", state.label()), state)
}

fn mailboxes(n: usize) -> String {
    if n == 1 {
        "1 mailbox".to_string()
    } else {
        format!("{n} mailboxes")
    }
}

/// The line for a run that could not check anything (usage, unreadable list, unwritable
/// output): UNKNOWN, with the error made one safe line.
pub fn unknown(message: &str) -> String {
    let message = super::text::clean_line(message).replace('|', "/");
    format!("XOAUTH UNKNOWN - {message}")
}
