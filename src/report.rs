//! What a check found: a row per stage with its time, the facts gathered, and at most one
//! failure with its explanation. Rendering (human text and JSON) lives here and nowhere else.
//!
//! A failed check is data, not an `Err`: the report of a rejected token is as complete as that
//! of a pass, so scripts read one shape either way.

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;

use crate::diagnose::Explanation;
use crate::plan::Protocol;
use crate::sasl::{ErrorChallenge, Mechanism};
use crate::transport::tap::{Direction, Entry};
use crate::transport::util::escape_text as show;
use crate::transport::{Security, TlsInfo};

/// Stages in the order a session goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Token,
    Connect,
    Tls,
    Greeting,
    Capability,
    Starttls,
    Auth,
    List,
    Examine,
    Search,
    Stat,
    Send,
    Logout,
    Quit,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Token => "token",
            Stage::Connect => "connect",
            Stage::Tls => "tls",
            Stage::Greeting => "greeting",
            Stage::Capability => "capability",
            Stage::Starttls => "starttls",
            Stage::Auth => "auth",
            Stage::List => "list",
            Stage::Examine => "examine",
            Stage::Search => "search",
            Stage::Stat => "stat",
            Stage::Send => "send",
            Stage::Logout => "logout",
            Stage::Quit => "quit",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    pub stage: Stage,
    pub ok: bool,
    pub elapsed_ms: u64,
    pub detail: String,
}

/// What kind of failure, as a stable machine-readable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    TokenUnusable,
    /// The identity provider answered with an error (AADSTS...).
    TokenRejected,
    /// The user did not finish signing in: declined, expired, timed out.
    SignInIncomplete,
    TokenEndpointUnreachable,
    /// The client secret or certificate could not be read or used.
    CredentialUnusable,
    ConnectFailed,
    Timeout,
    ConnectionClosed,
    TlsUntrusted,
    TlsNameMismatch,
    TlsExpired,
    TlsFailed,
    StarttlsNotOffered,
    StarttlsRefused,
    DataBeforeTls,
    /// Implicit TLS to a port that greets in plain text (a STARTTLS port, or not a mail port).
    PlaintextPort,
    /// STARTTLS to a port that speaks TLS from the first byte.
    ImplicitTlsPort,
    ServerTooVerbose,
    GreetingRejected,
    ProtocolError,
    MechanismNotOffered,
    AuthRejected,
    AuthenticatedNotConnected,
    Throttled,
    ListFailed,
    ExamineFailed,
    /// The server said its side failed (IMAP `[UNAVAILABLE]`, SMTP 454): not the token's fault.
    ServerTemporaryFailure,
    SmtpAuthDisabled,
    AuthBlockedByPolicy,
    SendAsDenied,
    SendRejected,
    StatFailed,
}

/// Which exit code a failure maps to (see README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The server answered and said no, or misbehaved: exit 1.
    CheckFailed,
    /// The token could not be used as given: exit 3.
    Token,
    /// The server could not be reached or secured: exit 4.
    Network,
}

impl Category {
    pub fn exit_code(self) -> u8 {
        match self {
            Category::CheckFailed => 1,
            Category::Token => 3,
            Category::Network => 4,
        }
    }
}

impl FailureKind {
    pub fn category(self) -> Category {
        use FailureKind::*;
        match self {
            TokenUnusable | TokenRejected | SignInIncomplete | CredentialUnusable => {
                Category::Token
            }
            TokenEndpointUnreachable => Category::Network,
            ConnectFailed | Timeout | ConnectionClosed | TlsUntrusted | TlsNameMismatch
            | TlsExpired | TlsFailed | StarttlsNotOffered | StarttlsRefused | DataBeforeTls
            | PlaintextPort | ImplicitTlsPort => Category::Network,
            ServerTooVerbose
            | GreetingRejected
            | ProtocolError
            | MechanismNotOffered
            | AuthRejected
            | AuthenticatedNotConnected
            | Throttled
            | ListFailed
            | ExamineFailed
            | ServerTemporaryFailure
            | SmtpAuthDisabled
            | AuthBlockedByPolicy
            | SendAsDenied
            | SendRejected
            | StatFailed => Category::CheckFailed,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub stage: Stage,
    pub kind: FailureKind,
    pub category: Category,
    /// What went wrong, in one sentence.
    pub message: String,
    /// The server's own words (escaped), when it said something.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_reply: Vec<String>,
    /// A decoded SASL error challenge, when the server sent one.
    /// (Boxed, with `explanation`, to keep `Result<_, Failure>` small on the happy path.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Box<ErrorChallenge>>,
    /// Filled in by `diagnose` when the report is finished.
    #[serde(flatten)]
    pub explanation: Option<Box<Explanation>>,
    /// The cause and fix, when the layer that failed knows them exactly (which input, what to
    /// do: an unset variable, a password-protected certificate); they replace the generic row
    /// of the kind. Set with `with_advice`, applied by `explain`.
    #[serde(skip)]
    pub advice: Option<Box<Advice>>,
}

/// A cause and fix known where the failure happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub cause: String,
    pub fix: Option<String>,
}

impl Failure {
    pub fn new(stage: Stage, kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            stage,
            kind,
            category: kind.category(),
            message: message.into(),
            server_reply: Vec::new(),
            challenge: None,
            explanation: None,
            advice: None,
        }
    }

    pub fn with_reply(mut self, reply: Vec<String>) -> Self {
        self.server_reply = reply;
        self
    }

    pub fn with_advice(mut self, cause: impl Into<String>, fix: Option<String>) -> Self {
        self.advice = Some(Box::new(Advice {
            cause: cause.into(),
            fix,
        }));
        self
    }

    /// Attaches `diagnose`'s explanation; advice from the failing layer wins over its row for
    /// the kind (the evidence stays).
    pub fn explain(&mut self, mut explanation: Explanation) {
        if let Some(a) = &self.advice {
            explanation.cause = a.cause.clone();
            explanation.candidates.clear();
            explanation.fix = a.fix.clone();
        }
        self.explanation = Some(Box::new(explanation));
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Folder {
    /// Decoded from modified UTF-7.
    pub name: String,
    /// As sent on the wire, when it differs from `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_name: Option<String>,
    pub delimiter: Option<String>,
    pub attributes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Examined {
    pub folder: String,
    pub messages: u32,
    pub recent: u32,
    pub uid_validity: Option<u32>,
}

/// The token a check used: where it came from and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub origin: crate::token::Origin,
    /// Decoded without verifying the signature (the server decides validity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<crate::token::claims::Claims>,
    /// Why there are no claims (an opaque token), when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl TokenInfo {
    pub fn describe(token: &crate::token::Token) -> TokenInfo {
        let (claims, claims_note) = match crate::token::claims::decode(token.access.expose()) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let exp = token.expires_at.or(claims.as_ref().and_then(|c| c.exp));
        TokenInfo {
            origin: token.origin,
            claims,
            claims_note,
            expires_at: exp.map(crate::transport::util::rfc3339),
        }
    }

    pub fn summary(&self) -> String {
        let origin = serde_json::to_value(self.origin)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        // Claims are whatever the token says: a `upn` may carry ESC or U+202E.
        show(&match (&self.claims, &self.claims_note) {
            (Some(c), _) => format!("({origin}) {}", c.summary(crate::token::now())),
            (None, Some(note)) => format!("({origin}) {note}"),
            (None, None) => format!("({origin})"),
        })
    }
}

/// A sent test message was found again over IMAP.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Found {
    pub folder: String,
    pub message_id: String,
    /// Sequence numbers of the matching messages.
    pub matches: Vec<u32>,
}

/// POP3 STAT: the maildrop's size, read without changing it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Stat {
    pub messages: u64,
    pub octets: u64,
}

/// The test message submitted over SMTP.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Submission {
    pub message_id: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The server's final reply to DATA, usually with its queue id.
    pub reply: String,
}

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
    pub exit_code: u8,
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
    pub preflight: Vec<crate::diagnose::Finding>,
    pub tls: Option<TlsInfo>,
    /// IMAP capabilities, POP3 CAPA lines or SMTP EHLO keywords in effect for authentication.
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
    /// The redacted C:/S: dialogue; present only when asked for (`-v`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<Entry>>,
}

/// Collects steps as a session runs.
#[derive(Debug)]
pub struct Recorder {
    pub started: Instant,
    pub steps: Vec<Step>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            started: Instant::now(),
            steps: Vec::new(),
        }
    }
}

impl Recorder {
    pub fn step(&mut self, stage: Stage, since: Instant, ok: bool, detail: impl Into<String>) {
        self.steps.push(Step {
            stage,
            ok,
            elapsed_ms: since.elapsed().as_millis() as u64,
            detail: detail.into(),
        });
    }
}

impl Report {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
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
        for step in &self.steps {
            let mark = if step.ok { "ok  " } else { "FAIL" };
            let line = format!(
                "  {mark} {:<10} {:>6} ms  {}",
                step.stage.name(),
                step.elapsed_ms,
                show(&step.detail)
            );
            let _ = writeln!(out, "{}", line.trim_end());
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
            Some(f) => render_failure(&mut out, f, self.elapsed_ms),
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

/// Several checks for one identity, as `xoauth check` runs them.
#[derive(Debug, Clone, Serialize)]
pub struct Combined {
    pub outcome: Outcome,
    /// The highest of the checks' exit codes: a network problem outranks a token problem,
    /// which outranks a refusal.
    pub exit_code: u8,
    pub checks: Vec<Report>,
}

impl Combined {
    pub fn new(checks: Vec<Report>) -> Combined {
        let exit_code = checks.iter().map(|r| r.exit_code).max().unwrap_or(0);
        Combined {
            outcome: if exit_code == 0 {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            exit_code,
            checks,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
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
    pub exit_code: u8,
    pub token: Option<TokenInfo>,
    pub failure: Option<Failure>,
    pub warnings: Vec<String>,
}

impl TokenReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
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
        }
        out
    }
}
