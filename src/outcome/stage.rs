//! The stages a check goes through, and the step rows recorded as it runs: the vocabulary every
//! layer reports progress in, so that none of them needs the report to say where it failed.

use std::time::Instant;

use serde::Serialize;

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

/// Collects steps as a session runs.
#[derive(Debug)]
pub struct Recorder {
    pub started: Instant,
    pub steps: Vec<Step>,
    /// When the last step was recorded: where a step recorded after the fact began.
    pub last_end: Instant,
}

impl Default for Recorder {
    fn default() -> Self {
        let now = Instant::now();
        Recorder {
            started: now,
            steps: Vec::new(),
            last_end: now,
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
        self.last_end = Instant::now();
    }
}
