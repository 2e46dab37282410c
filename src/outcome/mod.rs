//! The leaf vocabulary every layer speaks: stages and step rows, failures with their kind and
//! category, explanations and pre-flight findings, and the exit-status contract. It knows no
//! token, transport, protocol, diagnosis or report, so each of those can state what happened
//! without importing the layers above it.

mod exit;
mod explanation;
mod failure;
pub mod ids;
mod stage;

pub use exit::ExitStatus;
pub use explanation::{Explanation, Finding};
pub use failure::{Advice, Category, Failure, FailureKind};
pub use ids::{Ids, ProviderIds, StageStart};
pub use stage::{Recorder, RoundTrips, Stage, Step};
