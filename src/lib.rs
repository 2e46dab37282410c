//! xoauth checks that OAuth really works for IMAP, POP3 and SMTP against Exchange Online, Gmail
//! or any standards-following server, and explains every failure.
//!
//! # Architecture
//! Data flows one way:
//!
//! ```text
//! CLI (binary only) → plan → token → transport → protocol driver → diagnosis → report
//! ```
//!
//! # Layers
//! Lowest first. A module uses only modules of the layers below it, never one beside or above
//! it; `tests/architecture.rs` reads the sources and fails on a back-edge. When a new feature
//! seems to need one, move the shared type down instead.
//!
//! | layer | modules | what it is | may use |
//! |---|---|---|---|
//! | 0 | [`secret`], [`powershell`] | the redacting `Secret<T>`; the one PowerShell quoting rule and the shapes admin-given values must have | nothing of xoauth |
//! | 1 | [`sasl`], [`service`], [`legacy`] | XOAUTH2/OAUTHBEARER strings and error challenges; the protocols and the services whose endpoints xoauth knows; the legacy-auth sign-in report read from Entra sign-in logs (streaming parsers, tally, KQL) | 0 |
//! | 2 | [`outcome`], [`setup_script`] | the vocabulary: stage, step, failure kind and category, failure, explanation, pre-flight finding, exit status; the PowerShell that grants an app access (pure text) | 0–1 |
//! | 3 | [`transport`] | TCP, TLS (rustls + webpki-roots, TLS 1.2+), STARTTLS upgrade, bounded line I/O, the redacted transcript; knows no IMAP/POP/SMTP | 0–2 |
//! | 4 | [`token`] | given tokens, the OAuth flows, the keyring cache, claims; owns its input types (`token::input`); knows no mail protocol | 0–3 |
//! | 5 | [`plan`] | the policy that turns raw flags into a resolved, validated run (every default and conflict), composed of the token's inputs, endpoints and checks; no I/O | 0–4 |
//! | 6 | [`protocol`] | one driver per protocol: receives a stream and a token, never a token source; records steps and results | 0–5 |
//! | 7 | [`diagnose`] | from a failure's evidence to a cause, a fix and the evidence (and the same claims checks as a pre-flight) | 0–6 |
//! | 8 | [`report`] | report rows and their rendering (human, JSON); only renders | 0–7 |
//! | 9 | [`run`] | the only module that knows every layer: plan in, reports out | 0–8 |
//!
//! The binary (`main.rs`, `cli.rs` with the clap definitions, `profile_args.rs` that turns a
//! config file's profile into flags, `outputs.rs` that writes the audit's files atomically,
//! `progress.rs` with the audit's progress bar, `shell_docs.rs` with the shell completions and
//! manual pages, `demo.rs` behind the `demo` feature) sits above
//! all of them and sees the library only through its public API.
//!
//! Rules: the library never uses clap or anyhow (errors are typed per layer); a failed check is
//! a report, `Err` means "could not run"; every secret lives in [`secret::Secret`] and is
//! scrubbed from transcripts; nothing read from the network is trusted, unwrapped or unbounded.

#![forbid(unsafe_code)]

pub mod diagnose;
pub mod legacy;
pub mod outcome;
pub mod plan;
pub mod powershell;
pub mod protocol;
pub mod report;
pub mod run;
pub mod sasl;
pub mod secret;
pub mod service;
pub mod setup_script;
pub mod token;
pub mod transport;
