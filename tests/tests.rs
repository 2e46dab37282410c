//! Integration tests: the real `xoauth` binary against the mock started in-process.

mod util;

mod cache;
mod check;
mod dovecot;
mod imap;
mod oauth;
mod pop;
mod redaction;
mod scenarios;
mod smtp;
mod token_errors;
mod usage;
