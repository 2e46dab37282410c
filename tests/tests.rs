//! Integration tests: the real `xoauth` binary against the mock started in-process.

mod schema;
mod util;

mod architecture;
mod audit_outputs;

mod audit;
mod audit_scale;

mod cache;
mod certificates;
mod check;
mod diagnosis_trust;
mod dovecot;
mod hostile;
mod imap;
mod json_golden;
mod legacy_auth;
mod mock_tenant;
mod oauth;
mod output_contract;
mod pop;
mod profiles;
mod readme_flags;
mod readme_mock;
mod redaction;
mod scenarios;
mod smtp;
mod token_errors;
mod trial_cli;
mod trial_token;
mod usage;
mod wire_round_trips;
mod wrong_port;
