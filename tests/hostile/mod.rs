//! Hostile servers: each case ends non-zero with the right exit code, in bounded time and
//! memory, without a panic and without the token in the output.

mod cases;
mod catalog;
mod pop_pipelining;
mod server;
mod smtp_envelope;
