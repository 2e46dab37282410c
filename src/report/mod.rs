//! What a check found: a row per stage with its time, the facts gathered, and at most one
//! failure with its explanation. Rendering (human text and JSON) lives here and nowhere else.
//!
//! A failed check is data, not an `Err`: the report of a rejected token is as complete as that
//! of a pass, so scripts read one shape either way.

use std::fmt::Write as _;

use serde::Serialize;

// The report renders what the layers below it state; their vocabulary is re-exported so that
// a library user reads a report through one module.
pub use crate::outcome::{
    Advice, Category, ExitStatus, Explanation, Failure, FailureKind, Finding,
};
pub use crate::outcome::{Ids, ProviderIds, Recorder, Stage, StageStart, Step};
pub use crate::protocol::{Examined, Folder, Found, Stat, Submission};
pub use crate::token::TokenInfo;

use crate::sasl::Mechanism;
use crate::service::Protocol;
use crate::transport::tap::{Direction, Entry};
use crate::transport::util::escape_text as show;
use crate::transport::{Security, TlsInfo};

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The address actually connected to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
}

/// One check of one protocol for one identity and mailbox. Field names are a stable contract
/// (documented in the README); new fields may be added, none renamed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub protocol: Protocol,
    pub outcome: Outcome,
    pub exit_code: ExitStatus,
    pub target: Target,
    /// The identity the token belongs to.
    pub user: String,
    /// The mailbox opened (`user=` in XOAUTH2): the shared mailbox, or the user's own.
    pub mailbox: String,
    pub mechanism: Option<Mechanism>,
    /// The token used: origin, decoded claims, expiry. `null` when none could be had.
    pub token: Option<TokenInfo>,
    /// What the token's claims say about this check, found before connecting: `blocking`
    /// findings mean it cannot work whatever the server says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preflight: Vec<Finding>,
    pub tls: Option<TlsInfo>,
    /// IMAP capabilities, POP3 CAPA lines or SMTP EHLO keywords in effect for authentication;
    /// empty when they were not asked for (POP3 asks CAPA only when a refusal needs explaining
    /// or with `--no-pipelining`), never a claim that the server has none.
    pub capabilities: Vec<String>,
    pub steps: Vec<Step>,
    /// IMAP: the folder list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folders: Option<Vec<Folder>>,
    /// IMAP: the folder examined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examined: Option<Examined>,
    /// IMAP: the sent message, found again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<Found>,
    /// POP3: the maildrop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stat: Option<Stat>,
    /// SMTP: the test message submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission: Option<Submission>,
    pub failure: Option<Failure>,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
    /// The ids support engineers ask for; always in the JSON, in the text on failure.
    pub ids: Ids,
    /// The redacted C:/S: dialogue; present only when asked for (`-v`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<Entry>>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    /// The round trips of the whole check: the sum over the steps that counted them, `None`
    /// when none did (no connection was made).
    pub fn round_trips(&self) -> Option<u32> {
        self.steps
            .iter()
            .filter_map(|s| s.round_trips)
            .reduce(|a, b| a + b)
    }

    /// The document `--json` prints, with `xoauth_version` (a report nested in another
    /// document goes without: the outer one says it once).
    pub fn to_json(&self) -> String {
        versioned_json(self)
    }

    /// The human report: one line per stage with its time, facts, then PASS/FAIL and why.
    /// Every text that came from a server, a token or the identity provider goes through
    /// [`show`], so none of it can drive the terminal.
    pub fn render_human(&self) -> String {
        self.render_human_once(&mut Vec::new())
    }

    /// [`Report::render_human`], leaving out the warnings in `shown` (already printed by an
    /// earlier check of the same run) and adding its own to it.
    fn render_human_once(&self, shown: &mut Vec<String>) -> String {
        let mut out = String::new();
        let security = match self.target.security {
            Security::ImplicitTls => "implicit TLS",
            Security::StartTls => "STARTTLS",
        };
        let who = if self.mailbox == self.user {
            show(&self.user)
        } else {
            format!("{} as {}", show(&self.mailbox), show(&self.user))
        };
        let protocol = self.protocol.name().to_uppercase();
        let _ = writeln!(
            out,
            "{protocol} check of {who} at {} ({security})",
            show(&crate::transport::util::host_port(
                &self.target.host,
                self.target.port
            ))
        );
        // A token obtained in this run has its own step; a given one is described here.
        let token_step = self.steps.iter().any(|s| s.stage == Stage::Token);
        if let (Some(token), false) = (&self.token, token_step) {
            let _ = writeln!(out, "  token {}", token.summary());
        }
        for f in &self.preflight {
            let level = if f.blocking { "BLOCKING" } else { "warning" };
            let _ = writeln!(out, "  pre-flight {level}: {}", show(&f.message));
        }
        // `-v` (the transcript is kept) adds each stage's round trips: what latency multiplies.
        let verbose = self.transcript.is_some();
        for step in &self.steps {
            let mark = if step.ok { "ok  " } else { "FAIL" };
            let rtt = match step.round_trips {
                Some(n) if verbose => format!(", {n} RTT"),
                _ => String::new(),
            };
            let line = format!(
                "  {mark} {:<10} {:>6} ms{rtt}  {}",
                step.stage.name(),
                step.elapsed_ms,
                show(&step.detail)
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        if let Some(total) = self.round_trips().filter(|_| verbose) {
            let _ = writeln!(
                out,
                "  round trips: {total} (TCP and TLS handshakes included)"
            );
        }
        if let Some(folders) = self.folders.as_ref().filter(|f| !f.is_empty()) {
            let names: Vec<String> = folders.iter().map(|f| show(&f.name)).collect();
            let _ = writeln!(out, "  folders ({}): {}", names.len(), names.join(", "));
        }
        if let Some(ex) = &self.examined {
            let _ = writeln!(
                out,
                "  {}: {} messages, {} recent (examined read-only)",
                show(&ex.folder),
                ex.messages,
                ex.recent
            );
        }
        if let Some(found) = &self.found {
            let _ = writeln!(
                out,
                "  found {} in {} (message {:?})",
                show(&found.message_id),
                show(&found.folder),
                found.matches
            );
        }
        if let Some(stat) = &self.stat {
            let _ = writeln!(
                out,
                "  maildrop: {} messages, {} octets (read with STAT; nothing retrieved or deleted)",
                stat.messages, stat.octets
            );
        }
        if let Some(sub) = &self.submission {
            let _ = writeln!(
                out,
                "  sent {} from {} to {}: {}",
                show(&sub.message_id),
                show(&sub.from),
                show(&sub.to.join(", ")),
                show(&sub.reply)
            );
        }
        for w in &self.warnings {
            if !shown.contains(w) {
                let _ = writeln!(out, "  warning: {}", show(w));
                shown.push(w.clone());
            }
        }
        match &self.failure {
            None => {
                let _ = writeln!(
                    out,
                    "PASS  OAuth works for {} over {protocol} ({} ms)",
                    show(&self.mailbox),
                    self.elapsed_ms
                );
            }
            Some(f) => {
                render_failure(&mut out, f, self.elapsed_ms);
                render_ids(&mut out, &self.ids);
            }
        }
        if let Some(transcript) = &self.transcript {
            let _ = writeln!(out, "  transcript (secrets redacted):");
            for e in transcript {
                let who = match e.direction {
                    Direction::Client => "C:",
                    Direction::Server => "S:",
                    Direction::Note => "--",
                };
                let _ = writeln!(out, "    {:>6} ms {who} {}", e.at_ms, show(&e.text));
            }
        }
        out
    }
}

fn render_failure(out: &mut String, f: &Failure, elapsed_ms: u64) {
    let _ = writeln!(
        out,
        "FAIL  {}: {} ({elapsed_ms} ms)",
        f.stage.name(),
        show(&f.message)
    );
    for line in &f.server_reply {
        let _ = writeln!(out, "  server said: {}", show(line));
    }
    if let Some(c) = &f.challenge {
        let decoded = c.decoded.as_deref().unwrap_or(&c.raw);
        let _ = writeln!(out, "  server's error challenge: {}", show(decoded));
    }
    // Causes and fixes quote claims, server words and the identity provider's descriptions.
    if let Some(ex) = &f.explanation {
        let _ = writeln!(out, "  cause: {}", show(&ex.cause));
        for (i, c) in ex.candidates.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", i + 1, show(c));
        }
        if let Some(fix) = &ex.fix {
            let _ = writeln!(out, "  fix: {}", show(fix));
        }
    }
}

/// The `ids:` block: one `name: value` a line, so a support engineer can copy it whole. Every
/// value was checked to be an id or a host name where it was read; [`show`] guards anyway.
fn render_ids(out: &mut String, ids: &Ids) {
    let _ = writeln!(out, "  ids (for a support case):");
    let _ = writeln!(out, "    run id: {}", show(&ids.run_id));
    if let Some(name) = &ids.server_name {
        let _ = writeln!(out, "    server: {}", show(name));
    }
    if let Some(p) = &ids.provider {
        if !p.error_codes.is_empty() {
            let codes: Vec<String> = p.error_codes.iter().map(|c| format!("AADSTS{c}")).collect();
            let _ = writeln!(out, "    error codes: {}", codes.join(", "));
        }
        for (name, value) in [
            ("trace id", &p.trace_id),
            ("correlation id", &p.correlation_id),
            ("timestamp", &p.timestamp),
        ] {
            if let Some(v) = value {
                let _ = writeln!(out, "    {name}: {}", show(v));
            }
        }
    }
    for s in &ids.stages {
        let _ = writeln!(
            out,
            "    {} started: {}",
            s.stage.name(),
            show(&s.started_at)
        );
    }
}

/// Several checks for one identity, as `xoauth check` runs them.
#[derive(Debug, Clone, Serialize)]
pub struct Combined {
    pub outcome: Outcome,
    /// The highest of the checks' exit codes: a network problem outranks a token problem,
    /// which outranks a refusal.
    pub exit_code: ExitStatus,
    pub checks: Vec<Report>,
}

impl Combined {
    pub fn new(checks: Vec<Report>) -> Combined {
        let exit_code = checks
            .iter()
            .map(|r| r.exit_code)
            .max()
            .unwrap_or(ExitStatus::Pass);
        Combined {
            outcome: if exit_code == ExitStatus::Pass {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            exit_code,
            checks,
        }
    }

    /// The document `--json` prints, with `xoauth_version` (a report nested in another
    /// document goes without: the outer one says it once).
    pub fn to_json(&self) -> String {
        versioned_json(self)
    }

    pub fn render_human(&self) -> String {
        let mut out = String::new();
        // One token serves every check, so its warnings (no keyring, ...) are said once.
        let mut shown = Vec::new();
        for r in &self.checks {
            out.push_str(&r.render_human_once(&mut shown));
            out.push('\n');
        }
        let summary: Vec<String> = self
            .checks
            .iter()
            .map(|r| {
                let verdict = if r.passed() { "PASS" } else { "FAIL" };
                format!("{} {verdict}", r.protocol.name().to_uppercase())
            })
            .collect();
        let _ = writeln!(out, "summary: {}", summary.join(", "));
        out
    }
}

/// `xoauth token`: the token's origin and claims, or why none could be had.
#[derive(Debug, Clone, Serialize)]
pub struct TokenReport {
    pub outcome: Outcome,
    pub exit_code: ExitStatus,
    pub token: Option<TokenInfo>,
    pub failure: Option<Failure>,
    pub warnings: Vec<String>,
    pub ids: Ids,
}

impl TokenReport {
    /// The document `--json` prints, with `xoauth_version` (a report nested in another
    /// document goes without: the outer one says it once).
    pub fn to_json(&self) -> String {
        versioned_json(self)
    }

    pub fn render_human(&self) -> String {
        let mut out = String::new();
        if let Some(t) = &self.token {
            let _ = writeln!(out, "token {}", t.summary());
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {}", show(w));
        }
        if let Some(f) = &self.failure {
            render_failure(&mut out, f, 0);
            render_ids(&mut out, &self.ids);
        }
        out
    }
}

/// A top-level JSON document: its own keys, then which build wrote it.
fn versioned_json<T: Serialize>(body: &T) -> String {
    #[derive(Serialize)]
    struct Versioned<'a, T: Serialize> {
        #[serde(flatten)]
        body: &'a T,
        xoauth_version: &'static str,
    }
    let doc = Versioned {
        body,
        xoauth_version: version::SHORT,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

pub mod audit;
pub mod bundle;
pub mod legacy_html;
pub mod version;
