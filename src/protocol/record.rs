//! Step bookkeeping shared by the drivers: a step that produced a value is recorded as done
//! (with a detail drawn from the value), a step that failed as failed with the failure's
//! message, and the result passes through unchanged, so no driver can record one and return
//! the other. Whatever a driver returns, [`close`] makes the failed stage the last step.

use std::time::Instant;

use crate::outcome::{Failure, Recorder, Stage};

/// Records `result` as the step `stage` begun at `t` and hands it back.
pub fn record<T>(
    rec: &mut Recorder,
    stage: Stage,
    t: Instant,
    result: Result<T, Failure>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T, Failure> {
    match &result {
        Ok(value) => rec.step(stage, t, true, detail(value)),
        Err(f) => rec.step(stage, t, false, f.message.clone()),
    }
    result
}

/// Records only a failure: for work whose success is recorded later, when the step is done.
pub fn record_failure<T>(
    rec: &mut Recorder,
    stage: Stage,
    t: Instant,
    result: Result<T, Failure>,
) -> Result<T, Failure> {
    if let Err(f) = &result {
        rec.step(stage, t, false, f.message.clone());
    }
    result
}

/// Ends the step list at a driver's failure: when the failed stage is not already the last
/// step, failed, it is recorded (from the end of the previous step), so `steps[]` and the
/// human step lines always show where a check stopped, whichever path returned the failure.
pub fn close<T>(rec: &mut Recorder, result: &Result<T, Failure>) {
    let Err(f) = result else { return };
    let recorded = rec
        .steps
        .last()
        .is_some_and(|s| s.stage == f.stage && !s.ok);
    if !recorded {
        let since = rec.last_end;
        rec.step(f.stage, since, false, f.message.clone());
    }
}
