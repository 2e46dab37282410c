//! xoauth checks that OAuth really works for IMAP (and, as they arrive, POP3 and SMTP) against
//! Exchange Online, Gmail or any standards-following server, and explains every failure.
//!
//! # Architecture
//! Data flows one way:
//!
//! ```text
//! CLI (binary only) → plan → token → transport → protocol driver → report
//! ```
//! - [`plan`]: resolved, validated checks, and the policy that builds them from the raw flags
//!   (every default and conflict); no I/O.
//! - [`token`]: access tokens: given, or obtained by an OAuth flow, cached in the OS keyring,
//!   decoded into claims; knows no mail protocol.
//! - [`transport`]: TCP, TLS (rustls + webpki-roots, TLS 1.2+), STARTTLS upgrade, bounded line
//!   I/O and the redacted transcript; knows no IMAP/POP/SMTP.
//! - [`protocol`]: one driver per protocol; receives a stream and a token, never a token source.
//! - [`report`]: report rows and their rendering; only renders.
//! - [`diagnose`]: from a failure's evidence (server words, token claims) to a cause, a fix
//!   and the evidence; the same claims checks run as a pre-flight before connecting.
//! - [`setup_script`]: the PowerShell that grants an app access; pure text, no I/O.
//! - [`powershell`]: the one quoting rule for every value placed in PowerShell (the setup
//!   script and the diagnosis's fix lines), and the shapes admin-given values must have; a leaf.
//! - [`run`]: the only module that knows every layer.
//!
//! Rules: the library never uses clap or anyhow (errors are typed per layer); a failed check is
//! a report, `Err` means "could not run"; every secret lives in [`secret::Secret`] and is
//! scrubbed from transcripts; nothing read from the network is trusted, unwrapped or unbounded.

#![forbid(unsafe_code)]

pub mod diagnose;
pub mod plan;
pub mod powershell;
pub mod protocol;
pub mod report;
pub mod run;
pub mod sasl;
pub mod secret;
pub mod setup_script;
pub mod token;
pub mod transport;
