//! Integration tests: the real `xoauth` binary against the mock started in-process.

mod util;

mod cache;
mod certificates;
mod check;
mod dovecot;
mod imap;
mod oauth;
mod pop;
mod redaction;
mod scenarios;
mod smtp;
mod usage;
mod wrong_port;
