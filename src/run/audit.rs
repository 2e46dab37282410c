//! A bulk audit: every listed mailbox × every protocol with one token, each cell the single
//! check's own path ([`super::run_check`]) with the mailbox as `user=`.
//!
//! - The token is obtained once and renewed, through the same flow and cache, when it would
//!   expire within [`RENEW_MARGIN_SECS`] before a cell starts; a given token cannot be renewed,
//!   so once it has expired the remaining cells fail on it (exit 3) without connecting.
//! - At most `concurrency` mailboxes at once; a mailbox's protocols run one after another, so
//!   no mailbox ever has two connections open (Exchange limits connections per mailbox).
//! - A throttled cell (`Request is throttled. Suggested Backoff Time: N milliseconds`) is tried
//!   again after the server's back-off (capped), at most [`MAX_TRIES`] times; the cell records
//!   its tries and waits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{Obtained, RunError, Trust, obtain_timed, run_check, token_failed};
use crate::diagnose::combination::{self, CellFacts, Principal};
use crate::outcome::{Failure, FailureKind, Stage};
use crate::plan::audit::AuditPlan;
use crate::plan::mailboxes::Listed;
use crate::plan::{Check, Plan, TokenPlan};
use crate::report::audit::{Audit, Cell, Duplicate, MailboxAudit, SkippedLine};
use crate::report::{Report, TokenInfo};

/// Renew the token before a cell when it expires within this many seconds (the cache's own
/// freshness margin, so a renewal is never answered with the same cached token).
pub const RENEW_MARGIN_SECS: i64 = 300;
/// Tries per cell when the server throttles.
pub const MAX_TRIES: u32 = 3;
/// The wait before a retry when the server suggests none.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(2);
/// The longest wait before a retry, whatever the server suggests (Exchange suggests about five
/// minutes, which would stall an audit; the cell is reported throttled instead).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// After a failed renewal, the old token (still valid) is used this long before trying again.
const RENEW_RETRY: Duration = Duration::from_secs(30);

/// Called after each cell, with its mailbox and whether it passed (a progress bar).
pub type OnCell = dyn Fn(&str, bool) + Send + Sync;

/// The token every cell uses, renewed when due.
struct Keeper {
    current: Result<Arc<Obtained>, (Failure, Duration)>,
    /// When the last renewal failed (the old token is used meanwhile).
    renew_failed: Option<Instant>,
}

struct Shared {
    plan: Plan,
    trust: Trust,
    started: Instant,
    keeper: Mutex<Keeper>,
    on_cell: Arc<OnCell>,
}

/// Runs the audit. `Err` only when it cannot run at all (a CA file, the HTTP client).
pub async fn audit(audit: &AuditPlan, on_cell: Arc<OnCell>) -> Result<Audit, RunError> {
    let started_at = crate::token::now().max(0) as u64;
    let started = Instant::now();
    let trust = super::trust(&audit.plan)?;
    let current = obtain_timed(&audit.plan, &trust, None, started)
        .await?
        .map(Arc::new);
    let shared = Shared {
        plan: audit.plan.clone(),
        trust,
        started,
        keeper: Mutex::new(Keeper {
            current,
            renew_failed: None,
        }),
        on_cell,
    };
    let shared = Arc::new(shared);
    let rows = rows(&shared, &audit.list.mailboxes, audit.concurrency.max(1)).await;
    let token = match &shared.keeper.lock().await.current {
        Ok(o) => Some(o.info.clone()),
        Err(_) => None,
    };
    Ok(Audit {
        started_at,
        elapsed_ms: started.elapsed().as_millis() as u64,
        user: audit.plan.user.clone(),
        token,
        protocols: audit.plan.checks.iter().map(Check::protocol).collect(),
        concurrency: audit.concurrency,
        mailboxes: rows,
        skipped: audit
            .list
            .skipped
            .iter()
            .map(|s| SkippedLine {
                line: s.line,
                text: s.text.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        duplicates: audit
            .list
            .duplicates
            .iter()
            .map(|d| Duplicate {
                mailbox: d.address.clone(),
                lines: d.lines.clone(),
            })
            .collect(),
    })
}

/// Every row, each its own task on the multi-thread runtime (TLS and parsing of the checks in
/// flight spread over the cores), at most `concurrency` at once, started in the list's order
/// and returned in it. A slot is refilled as soon as any row ends: one slow or throttled
/// mailbox holds its own slot, not the rows behind it.
async fn rows(shared: &Arc<Shared>, list: &[Listed], concurrency: usize) -> Vec<MailboxAudit> {
    let mut done: Vec<Option<MailboxAudit>> = (0..list.len()).map(|_| None).collect();
    let mut next = list.iter().cloned().enumerate();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < concurrency {
            let Some((i, listed)) = next.next() else {
                break;
            };
            let shared = shared.clone();
            running.spawn(async move { (i, row(&shared, &listed).await) });
        }
        match running.join_next().await {
            Some(Ok((i, row))) => done[i] = Some(row),
            // A row's own panic (the drivers' are caught by `run::survive`) is a bug: it ends
            // the process as it would have without the task.
            Some(Err(e)) => std::panic::resume_unwind(
                e.try_into_panic()
                    .unwrap_or_else(|e| Box::new(e.to_string())),
            ),
            None => break,
        }
    }
    done.into_iter().flatten().collect()
}

/// One mailbox's row: its protocols one after another, each tried again when throttled.
async fn row(shared: &Shared, listed: &Listed) -> MailboxAudit {
    let mailbox = &listed.address;
    let mut cells = Vec::with_capacity(shared.plan.checks.len());
    for check in &shared.plan.checks {
        let mut retry = Retry::default();
        let report = loop {
            let report = cell(shared, check, mailbox).await;
            match retry.after(throttle_wait(&report)) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => break report,
            }
        };
        let cell = Cell {
            protocol: check.protocol(),
            attempts: retry.tries,
            backoff_ms: retry.waits,
            report,
        };
        (shared.on_cell)(mailbox, cell.passed());
        cells.push(cell);
    }
    let combined = combined(shared, mailbox, &cells);
    if let Some(ex) = &combined {
        // The row knows more than each check did on its own (IMAP passing proves the token and
        // the service principal), so the cells it explains carry its cause and fix: a script
        // reading one cell's fix gets the same advice as the summary, never a single check's
        // guess ("re-register the service principal") that the other protocols disprove.
        for cell in &mut cells {
            if let Some(f) = cell.report.failure.as_mut()
                && combination::explains(f)
            {
                f.explanation = Some(Box::new(ex.clone()));
            }
        }
    }
    MailboxAudit {
        mailbox: mailbox.clone(),
        line: listed.line,
        cells,
        combined,
    }
}

/// What the protocols' disagreement means for this mailbox, said once instead of per cell.
fn combined(shared: &Shared, mailbox: &str, cells: &[Cell]) -> Option<crate::outcome::Explanation> {
    let facts: Vec<CellFacts<'_>> = cells
        .iter()
        .map(|c| CellFacts {
            protocol: c.protocol,
            failure: c.report.failure.as_ref(),
        })
        .collect();
    // App-only when the token says so; without claims (an opaque token), when no user was named.
    let claims = cells
        .iter()
        .find_map(|c| c.report.token.as_ref()?.claims.as_ref());
    let app_only = claims.map_or(shared.plan.user.is_none(), |c| c.is_app_only());
    let service_principal = claims
        .filter(|c| c.is_app_only())
        .and_then(|c| c.oid.as_deref());
    // What the token holds, so the advice never asks for it again.
    let granted = claims.map_or_else(Vec::new, |c| {
        if app_only {
            c.roles.iter().map(String::as_str).collect()
        } else {
            c.scopes()
        }
    });
    let principal = Principal {
        user: shared.plan.user.as_deref(),
        client_id: super::client_id(&shared.plan),
        service_principal,
        app_only,
        granted,
    };
    combination::explain(mailbox, &principal, &facts)
}

/// One try of one cell: the current token (renewed when due), then the single check.
async fn cell(shared: &Shared, check: &Check, mailbox: &str) -> Report {
    match token(shared).await {
        Ok(obtained) => {
            run_check(
                &shared.plan,
                check,
                mailbox,
                &obtained,
                shared.trust.config.clone(),
            )
            .await
        }
        Err((failure, elapsed)) => token_failed(
            &shared.plan,
            check,
            mailbox,
            &failure,
            Instant::now()
                .checked_sub(elapsed)
                .unwrap_or_else(Instant::now),
            elapsed,
        ),
    }
}

/// When a token stops working: the token response's lifetime, else its `exp` claim.
fn expires_at(o: &Obtained) -> Option<i64> {
    o.token
        .expires_at
        .or_else(|| o.info.claims.as_ref().and_then(|c| c.exp))
}

/// The token for the next cell: the current one, or a new one when it is due for renewal.
async fn token(shared: &Shared) -> Result<Arc<Obtained>, (Failure, Duration)> {
    let mut keeper = shared.keeper.lock().await;
    let current = match &keeper.current {
        Ok(o) => o.clone(),
        Err(e) => return Err(e.clone()),
    };
    let now = crate::token::now();
    let Some(exp) = expires_at(&current) else {
        return Ok(current);
    };
    if exp - now > RENEW_MARGIN_SECS {
        return Ok(current);
    }
    let renewable = matches!(shared.plan.token, TokenPlan::OAuth(_));
    let recently_failed = keeper
        .renew_failed
        .is_some_and(|t| t.elapsed() < RENEW_RETRY);
    if renewable && !recently_failed {
        let t = Instant::now();
        match obtain_timed(&shared.plan, &shared.trust, None, t).await {
            Ok(Ok(fresh)) => {
                let fresh = Arc::new(fresh);
                keeper.current = Ok(fresh.clone());
                keeper.renew_failed = None;
                return Ok(fresh);
            }
            Ok(Err((failure, elapsed))) => {
                keeper.renew_failed = Some(Instant::now());
                if exp <= now {
                    return Err((failure, elapsed));
                }
            }
            Err(e) => {
                keeper.renew_failed = Some(Instant::now());
                if exp <= now {
                    let failure =
                        Failure::new(Stage::Token, FailureKind::TokenUnusable, e.to_string());
                    return Err((failure, t.elapsed()));
                }
            }
        }
    }
    if exp <= now {
        return Err((expired(&current.info, exp, shared.started), Duration::ZERO));
    }
    Ok(current)
}

/// A given token that expired during the audit: the cells left are not tried with it.
fn expired(info: &TokenInfo, exp: i64, started: Instant) -> Failure {
    let at = crate::transport::util::rfc3339(exp);
    let into = started.elapsed().as_secs() / 60;
    Failure::new(
        Stage::Token,
        FailureKind::TokenUnusable,
        format!(
            "the access token expired at {at}, {into} min into the audit; this cell was not \
             tried with it"
        ),
    )
    .with_advice(
        format!(
            "a given token ({}) cannot be renewed, and it expired before the audit reached \
             this mailbox",
            match info.origin {
                crate::token::Origin::Env => "--access-token-env",
                crate::token::Origin::File => "--access-token-file",
                crate::token::Origin::Stdin => "standard input",
                _ => "from the caller",
            }
        ),
        Some(
            "let xoauth obtain the token (--client-id with --flow client-credentials, or a \
             delegated flow), which it renews during the audit; or audit fewer mailboxes per \
             token"
                .to_string(),
        ),
    )
}

/// How long to wait before trying a throttled cell again; `None` when it was not throttled.
fn throttle_wait(report: &Report) -> Option<Duration> {
    let f = report.failure.as_ref()?;
    backoff_for(f.kind, &f.server_reply)
}

/// The server's suggestion, else [`DEFAULT_BACKOFF`], at most [`MAX_BACKOFF`]; only for a
/// throttled failure.
fn backoff_for(kind: FailureKind, reply: &[String]) -> Option<Duration> {
    (kind == FailureKind::Throttled).then(|| {
        suggested_backoff(reply)
            .unwrap_or(DEFAULT_BACKOFF)
            .min(MAX_BACKOFF)
    })
}

/// Exchange's suggested back-off: `... Suggested Backoff Time: 299961 milliseconds`.
pub fn suggested_backoff(reply: &[String]) -> Option<Duration> {
    const MARK: &str = "suggested backoff time:";
    reply.iter().find_map(|line| {
        let lower = line.to_ascii_lowercase();
        let rest = lower[lower.find(MARK)? + MARK.len()..].trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let n: u64 = digits.parse().ok()?;
        let unit = rest[digits.len()..].trim_start();
        if unit.starts_with("millisecond") || unit.starts_with("ms") {
            Some(Duration::from_millis(n))
        } else if unit.starts_with("second") || unit.starts_with('s') {
            Some(Duration::from_secs(n))
        } else {
            None
        }
    })
}

/// A cell's tries and the waits between them.
#[derive(Debug, Default)]
struct Retry {
    tries: u32,
    waits: Vec<u64>,
}

impl Retry {
    /// After a try that asks for `wait` (`None`: done): the wait before the next try, or `None`
    /// when there is none to be (not throttled, or [`MAX_TRIES`] reached).
    fn after(&mut self, wait: Option<Duration>) -> Option<Duration> {
        self.tries += 1;
        let wait = wait.filter(|_| self.tries < MAX_TRIES)?;
        self.waits.push(wait.as_millis() as u64);
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IMAP-only audit of `n` mailboxes at 127.0.0.1:`port` with a given token.
    fn local_audit(port: u16, n: usize, concurrency: usize) -> AuditPlan {
        use crate::plan::args::{RawCheck, RawMailboxList};
        let list: String = (0..n).map(|i| format!("m{i}@x.example\n")).collect();
        let mut a = RawCheck {
            common: crate::plan::fixtures::given_token(),
            mailboxes: Some(RawMailboxList {
                name: "list.txt".into(),
                bytes: list.into_bytes(),
            }),
            ..RawCheck::default()
        }
        .build_audit()
        .unwrap();
        a.plan.token = TokenPlan::Given(crate::token::TokenSource::Value(
            crate::secret::Secret::new("not-a-token".into()),
        ));
        a.plan
            .checks
            .retain(|c| c.protocol() == crate::plan::Protocol::Imap);
        if let Some(Check::Imap { endpoint, .. }) = a.plan.checks.first_mut() {
            endpoint.host = "127.0.0.1".into();
            endpoint.port = port;
        }
        a.concurrency = concurrency;
        a
    }

    /// Two rows are inside the progress callback at the same time, which only rows running on
    /// different threads can be: the first one in waits (blocking its thread, up to 10 s) for
    /// a second. Rows polled together in one task never meet: the first blocks them all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_run_on_the_runtime_s_threads_at_the_same_time() {
        use std::sync::{Condvar, Mutex as Blocking};
        // Every connection is closed at once: each cell fails fast, on the network.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                drop(tcp);
            }
        });
        let meet = Arc::new((Blocking::new((0usize, false, false)), Condvar::new()));
        let seen = meet.clone();
        let on_cell: Arc<OnCell> = Arc::new(move |_: &str, _: bool| {
            let (lock, cv) = &*seen;
            // (cells so far, a first one is waiting, a second came while it waited)
            let mut g = lock.lock().unwrap();
            g.0 += 1;
            if g.2 {
                return;
            }
            if g.1 {
                g.2 = true;
                cv.notify_all();
                return;
            }
            g.1 = true;
            let (mut g, _) = cv
                .wait_timeout_while(g, Duration::from_secs(10), |g| !g.2)
                .unwrap();
            g.1 = false;
        });
        let done = audit(&local_audit(port, 4, 4), on_cell).await.unwrap();
        assert_eq!(done.mailboxes.len(), 4);
        let (count, _, met) = *meet.0.lock().unwrap();
        assert_eq!(count, 4);
        assert!(met, "no two rows were ever running at the same time");
    }

    #[test]
    fn the_suggested_backoff_is_read_from_the_reply() {
        let reply = |s: &str| vec![s.to_string()];
        assert_eq!(
            suggested_backoff(&reply(
                "A1 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds"
            )),
            Some(Duration::from_millis(299_961))
        );
        assert_eq!(
            suggested_backoff(&reply(
                "-ERR Request is throttled. suggested backoff time: 1500 ms"
            )),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            suggested_backoff(&["+OK".into(), "x Suggested Backoff Time: 3 seconds".into()]),
            Some(Duration::from_secs(3))
        );
        for none in [
            "A1 NO Request is throttled.",
            "Suggested Backoff Time: soon",
            "Suggested Backoff Time: 12 fortnights",
            "Suggested Backoff Time:",
        ] {
            assert_eq!(suggested_backoff(&reply(none)), None, "{none}");
        }
    }

    #[test]
    fn only_throttling_is_retried_and_the_wait_is_capped() {
        let exchange =
            vec!["A1 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds".into()];
        assert_eq!(
            backoff_for(FailureKind::Throttled, &exchange),
            Some(MAX_BACKOFF)
        );
        let short =
            vec!["A1 BAD Request is throttled. Suggested Backoff Time: 250 milliseconds".into()];
        assert_eq!(
            backoff_for(FailureKind::Throttled, &short),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            backoff_for(FailureKind::Throttled, &[]),
            Some(DEFAULT_BACKOFF)
        );
        assert_eq!(backoff_for(FailureKind::AuthRejected, &exchange), None);
    }

    #[test]
    fn a_throttled_cell_is_tried_at_most_three_times() {
        let mut r = Retry::default();
        let wait = Some(Duration::from_millis(1500));
        assert_eq!(r.after(wait), wait);
        assert_eq!(r.after(wait), wait);
        assert_eq!(r.after(wait), None);
        assert_eq!((r.tries, r.waits), (MAX_TRIES, vec![1500, 1500]));
    }

    #[test]
    fn a_cell_that_is_not_throttled_is_tried_once() {
        let mut r = Retry::default();
        assert_eq!(r.after(None), None);
        assert_eq!((r.tries, r.waits.len()), (1, 0));
        // Passing on the second try stops there.
        let mut r = Retry::default();
        assert!(r.after(Some(Duration::from_secs(2))).is_some());
        assert_eq!(r.after(None), None);
        assert_eq!((r.tries, r.waits), (2, vec![2000]));
    }
}
