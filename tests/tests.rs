//! Integration tests: the real `xoauth` binary against the mock started in-process.

mod util;

mod cache;
mod check;
mod diagnosis_trust;
mod dovecot;
mod imap;
mod oauth;
mod pop;
mod redaction;
mod scenarios;
mod smtp;
mod usage;
