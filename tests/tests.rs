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
mod dovecot_smtp;
mod expiry;
mod hostile;
mod hve;
mod ids;
mod imap;
mod imap_pipelining;
mod json_golden;
mod legacy_auth;
mod legacy_graph;
mod mock_tenant;
mod oauth;
mod other_idp;
mod output_contract;
mod pop;
mod pop_pipelining;
mod profiles;
mod readme_flags;
mod readme_mock;
mod redaction;
mod refresh_refused;
mod round_trips;
mod scenarios;
mod shell_docs;
mod smtp;
mod smtp_pipelining;
mod support_bundle;
mod token_errors;
mod trial_cli;
mod trial_token;
mod usage;
mod version;
mod wire_round_trips;
mod wrong_port;
