//! The stages a check goes through, and the step rows recorded as it runs: the vocabulary every
//! layer reports progress in, so that none of them needs the report to say where it failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
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
    /// Round trips the step waited for on the network (TCP and TLS included); `None` for a
    /// step that used no connection (the token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trips: Option<u32>,
}

/// The round trips of one connection so far, counted by the transport as the bytes flow and
/// read by the [`Recorder`] at each step. Shared, because the stream that counts is owned by
/// whichever layer is talking while the recorder stays with the check; it lives here, below
/// the transport, so the recorder can read it without knowing any stream.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(Arc<AtomicU32>);

impl RoundTrips {
    /// One more round trip completed.
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Round trips completed so far.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Collects steps as a session runs.
#[derive(Debug)]
pub struct Recorder {
    pub started: Instant,
    pub steps: Vec<Step>,
    /// When the last step was recorded: where a step recorded after the fact began.
    pub last_end: Instant,
    /// The connection's round-trip count, once there is a connection: each step gets the
    /// round trips since the previous one.
    pub round_trips: Option<RoundTrips>,
    /// The count when the last step was recorded.
    pub round_trips_seen: u32,
    /// When each recorded step began, on the wall clock (for the report's ids).
    pub starts: Vec<super::StageStart>,
}

impl Default for Recorder {
    fn default() -> Self {
        let now = Instant::now();
        Recorder {
            started: now,
            steps: Vec::new(),
            last_end: now,
            round_trips: None,
            round_trips_seen: 0,
            starts: Vec::new(),
        }
    }
}

impl Recorder {
    pub fn step(&mut self, stage: Stage, since: Instant, ok: bool, detail: impl Into<String>) {
        let round_trips = self.round_trips.as_ref().map(|counter| {
            let now = counter.get();
            let since_last = now.saturating_sub(self.round_trips_seen);
            self.round_trips_seen = now;
            since_last
        });
        self.started(stage, since);
        self.steps.push(Step {
            stage,
            ok,
            elapsed_ms: since.elapsed().as_millis() as u64,
            detail: detail.into(),
            round_trips,
        });
        self.last_end = Instant::now();
    }

    /// Notes that `stage` began at `since`, in UTC, for a step pushed without [`Self::step`].
    pub fn started(&mut self, stage: Stage, since: Instant) {
        let ago = since.elapsed().as_millis() as i64;
        self.starts.push(super::StageStart {
            stage,
            started_at: super::ids::rfc3339_ms(super::ids::now_ms() - ago),
        });
    }
}
