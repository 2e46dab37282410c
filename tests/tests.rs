//! Integration tests: the real `xoauth` binary against the mock started in-process.

mod util;

mod imap;
mod redaction;
mod usage;
