//! The JSON contract: every `--json` document the tests see is checked against
//! docs/report.schema.json, and the schema's enum lists are checked against the code's enums in
//! both directions, so neither can change without the other.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{Value, json};

/// The document kinds of the schema (its `$defs` that are whole documents).
pub const DOCUMENTS: [&str; 9] = [
    "report",
    "combined",
    "token_report",
    "usage_error",
    "cache_list",
    "demo",
    "audit_cell",
    "audit_summary",
    "legacy_auth",
];

pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// Validators for the whole schema (`""`) and for each document kind.
fn validators() -> &'static BTreeMap<&'static str, jsonschema::Validator> {
    static VALIDATORS: OnceLock<BTreeMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let mut map = BTreeMap::new();
        for name in std::iter::once("").chain(DOCUMENTS) {
            let mut s = schema().clone();
            if !name.is_empty() {
                // The same schema with its root narrowed to one definition.
                let root = s.as_object_mut().unwrap();
                root.remove("oneOf");
                root.insert("$ref".into(), json!(format!("#/$defs/{name}")));
            }
            let v = jsonschema::validator_for(&s)
                .unwrap_or_else(|e| panic!("docs/report.schema.json is not a valid schema: {e}"));
            map.insert(name, v);
        }
        map
    })
}

/// Which document `doc` claims to be, from its keys, for precise error messages.
pub fn kind_of(doc: &Value) -> &'static str {
    let has = |k: &str| doc.get(k).is_some();
    if doc.is_array() {
        "demo"
    } else if has("error") {
        "usage_error"
    } else if has("legacy_protocols") {
        "legacy_auth"
    } else if has("checks") {
        "combined"
    } else if has("report") {
        "audit_cell"
    } else if has("summary") {
        "audit_summary"
    } else if has("protocol") {
        "report"
    } else if has("backend") {
        "cache_list"
    } else {
        "token_report"
    }
}

/// The schema's complaints about `doc` as the document `kind` (`""`: any document).
pub fn errors_as(kind: &str, doc: &Value) -> Vec<String> {
    let v = &validators()[kind];
    v.iter_errors(doc)
        .map(|e| format!("at {:?}: {}", e.instance_path().as_str(), e.masked()))
        .collect()
}

/// Both the whole schema and the definition `doc` looks like must accept it.
pub fn errors(doc: &Value) -> Vec<String> {
    let mut all = errors_as(kind_of(doc), doc);
    if all.is_empty() {
        all = errors_as("", doc);
    }
    all
}

pub fn assert_valid(doc: &Value, context: &str) {
    let errors = errors(doc);
    assert!(
        errors.is_empty(),
        "{context}: the JSON output breaks docs/report.schema.json ({}):\n{}\n{doc:#}",
        kind_of(doc),
        errors.join("\n")
    );
}

pub fn assert_valid_as(kind: &str, doc: &Value, context: &str) {
    let errors = errors_as(kind, doc);
    assert!(
        errors.is_empty(),
        "{context}: not a valid {kind}:\n{}\n{doc:#}",
        errors.join("\n")
    );
    assert_valid(doc, context);
}

// --- the schema's enums against the code's --------------------------------------------------

/// Every variant of an enum, from one list that also drives an exhaustive `match`: a variant
/// added to the code stops this file from compiling until it is listed here.
macro_rules! all_variants {
    ($ty:ident: $($v:ident),+ $(,)?) => {{
        #[allow(dead_code)]
        fn exhaustive(x: $ty) {
            match x {
                $($ty::$v)|+ => {}
            }
        }
        vec![$($ty::$v),+]
    }};
}

fn serialized<T: serde::Serialize>(values: &[T]) -> BTreeSet<String> {
    values
        .iter()
        .map(|v| match serde_json::to_value(v).unwrap() {
            Value::String(s) => s,
            other => panic!("an enum serialized to {other}"),
        })
        .collect()
}

fn schema_enum(name: &str) -> BTreeSet<String> {
    schema()["$defs"][name]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("$defs/{name} has no enum"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The code's value of every enum the JSON output carries, by schema definition.
fn code_enums() -> Vec<(&'static str, BTreeSet<String>)> {
    use xoauth::plan::Protocol;
    use xoauth::report::{Category, FailureKind, Outcome, Stage};
    use xoauth::sasl::Mechanism;
    use xoauth::token::Origin;
    use xoauth::transport::Security;
    use xoauth::transport::tap::Direction;
    vec![
        (
            "stage",
            serialized(
                &all_variants!(Stage: Token, Connect, Tls, Greeting, Capability,
                Starttls, Auth, List, Examine, Search, Stat, Send, Logout, Quit),
            ),
        ),
        (
            "failure_kind",
            serialized(&all_variants!(FailureKind: TokenUnusable, TokenRejected,
                SignInIncomplete, TokenEndpointUnreachable, CredentialUnusable, ConnectFailed,
                Timeout, ConnectionClosed, TlsUntrusted, TlsNameMismatch, TlsExpired, TlsFailed,
                StarttlsNotOffered, StarttlsRefused, DataBeforeTls, PlaintextPort,
                ImplicitTlsPort, WrongProtocolPort, ServerTooVerbose, GreetingRejected, ProtocolError,
                MechanismNotOffered, AuthRejected, AuthenticatedNotConnected, Throttled,
                ListFailed, ExamineFailed, ServerTemporaryFailure, SmtpAuthDisabled,
                AuthBlockedByPolicy, SendAsDenied, SendRejected, StatFailed)),
        ),
        (
            "category",
            serialized(&all_variants!(Category: CheckFailed, Token, Network)),
        ),
        ("outcome", serialized(&all_variants!(Outcome: Pass, Fail))),
        (
            "protocol",
            serialized(&all_variants!(Protocol: Imap, Pop, Smtp)),
        ),
        (
            "mechanism",
            serialized(&all_variants!(Mechanism: XOAuth2, OAuthBearer)),
        ),
        (
            "security",
            serialized(&all_variants!(Security: ImplicitTls, StartTls)),
        ),
        (
            "origin",
            serialized(
                &all_variants!(Origin: Env, File, Stdin, Caller, Cache, Refresh,
                Interactive, DeviceCode, ClientCredentials),
            ),
        ),
        (
            "direction",
            serialized(&all_variants!(Direction: Client, Server, Note)),
        ),
    ]
}

#[test]
fn schema_enums_list_exactly_what_the_code_serializes() {
    for (name, code) in code_enums() {
        let listed = schema_enum(name);
        let missing: Vec<_> = code.difference(&listed).collect();
        let stale: Vec<_> = listed.difference(&code).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "$defs/{name} in docs/report.schema.json: missing {missing:?}, no longer produced \
             {stale:?}"
        );
    }
}

/// The exit codes and the category each implies, as the schema states them, are the code's.
#[test]
fn schema_exit_codes_follow_the_categories() {
    use xoauth::report::{Category, FailureKind};
    let kinds = all_variants!(FailureKind: TokenUnusable, TokenRejected, SignInIncomplete,
        TokenEndpointUnreachable, CredentialUnusable, ConnectFailed, Timeout, ConnectionClosed,
        TlsUntrusted, TlsNameMismatch, TlsExpired, TlsFailed, StarttlsNotOffered,
        StarttlsRefused, DataBeforeTls, PlaintextPort, ImplicitTlsPort, WrongProtocolPort, ServerTooVerbose,
        GreetingRejected, ProtocolError, MechanismNotOffered, AuthRejected,
        AuthenticatedNotConnected, Throttled, ListFailed, ExamineFailed, ServerTemporaryFailure,
        SmtpAuthDisabled, AuthBlockedByPolicy, SendAsDenied, SendRejected, StatFailed);
    let categories: BTreeSet<String> =
        serialized(&kinds.iter().map(|k| k.category()).collect::<Vec<_>>());
    assert_eq!(
        categories,
        schema_enum("category"),
        "every category is used"
    );

    let mut codes: BTreeSet<u64> = [0].into();
    for c in all_variants!(Category: CheckFailed, Token, Network) {
        codes.insert(c.exit_status().code().into());
        let name = serde_json::to_value(c).unwrap();
        let branch = schema()["$defs"]["verdict"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["properties"]["failure"]["properties"]["category"]["const"] == name)
            .unwrap_or_else(|| panic!("no verdict for category {name}"));
        assert_eq!(
            branch["properties"]["exit_code"]["const"],
            c.exit_status().code(),
            "{name}"
        );
    }
    let listed: BTreeSet<u64> = schema()["$defs"]["check_exit_code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(codes, listed);
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    jsonschema::meta::validate(schema()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        schema()["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    for name in DOCUMENTS {
        assert!(
            schema()["oneOf"]
                .as_array()
                .unwrap()
                .contains(&json!({ "$ref": format!("#/$defs/{name}") })),
            "{name} is not one of the top-level documents"
        );
    }
}

// --- every field, through the library's own types -------------------------------------------

/// A report with every optional field filled, serialized by the library: the schema accepts
/// fields that no mock run produces together (transcript, found, submission, chain, ...).
fn full_report() -> xoauth::report::Report {
    use xoauth::report::*;
    let mut failure = Failure::new(Stage::Auth, FailureKind::AuthRejected, "rejected")
        .with_reply(vec!["A1 NO AUTHENTICATE failed.".into()]);
    failure.challenge = Some(Box::new(xoauth::sasl::ErrorChallenge {
        raw: "eyJzdGF0dXMiOiI0MDEifQ==".into(),
        decoded: Some(r#"{"status":"401"}"#.into()),
        json: Some(json!({"status": "401", "schemes": "bearer"})),
    }));
    failure.explanation = Some(Box::new(xoauth::diagnose::Explanation {
        cause: "cause".into(),
        candidates: vec!["candidate".into()],
        fix: Some("fix".into()),
        evidence: vec!["evidence".into()],
    }));
    let cert = xoauth::transport::tls::CertificateInfo {
        subject: "CN=mail".into(),
        issuer: "CN=ca".into(),
        subject_alt_names: vec!["mail.example".into()],
        not_before: xoauth::transport::util::rfc3339(0),
        not_after: xoauth::transport::util::rfc3339(4_000_000_000),
    };
    let claims = xoauth::token::claims::Claims {
        aud: Some("https://outlook.office.com".into()),
        roles: vec!["IMAP.AccessAsApp".into()],
        exp: Some(1),
        nbf: Some(1),
        iat: Some(1),
        ..Default::default()
    };
    let token = TokenInfo {
        origin: xoauth::token::Origin::Env,
        claims: Some(claims),
        claims_note: None,
        expires_at: Some(xoauth::transport::util::rfc3339(1)),
    };
    Report {
        protocol: xoauth::plan::Protocol::Imap,
        outcome: Outcome::Fail,
        exit_code: xoauth::outcome::ExitStatus::CheckFailed,
        target: Target {
            host: "mail.example".into(),
            port: 993,
            security: xoauth::transport::Security::ImplicitTls,
            address: Some("192.0.2.1:993".into()),
        },
        user: "a@x.example".into(),
        mailbox: "a@x.example".into(),
        mechanism: Some(xoauth::sasl::Mechanism::XOAuth2),
        token: Some(token),
        preflight: vec![xoauth::diagnose::Finding {
            blocking: true,
            message: "m".into(),
            fix: Some("f".into()),
        }],
        tls: Some(xoauth::transport::TlsInfo {
            version: "TLSv1.3".into(),
            cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
            certificate: Some(cert.clone()),
            chain: vec![cert],
            verified: true,
            resumed: true,
        }),
        capabilities: vec!["IMAP4rev1".into()],
        steps: vec![Step {
            stage: Stage::Greeting,
            ok: true,
            elapsed_ms: 1,
            detail: "d".into(),
            round_trips: Some(1),
        }],
        folders: Some(vec![Folder {
            name: "Entwürfe".into(),
            wire_name: Some("Entw&APw-rfe".into()),
            delimiter: Some("/".into()),
            attributes: vec!["\\Drafts".into()],
        }]),
        examined: Some(Examined {
            folder: "INBOX".into(),
            messages: 1,
            recent: 0,
            uid_validity: Some(7),
        }),
        found: Some(Found {
            folder: "INBOX".into(),
            message_id: "<m@x>".into(),
            matches: vec![1],
        }),
        stat: Some(Stat {
            messages: 1,
            octets: 2,
        }),
        submission: Some(Submission {
            message_id: "<m@x>".into(),
            from: "a@x.example".into(),
            to: vec!["a@x.example".into()],
            subject: "s".into(),
            reply: "250 queued".into(),
        }),
        failure: Some(failure),
        warnings: vec!["w".into()],
        elapsed_ms: 3,
        ids: xoauth::report::Ids {
            run_id: "0123456789abcdef".into(),
            server_name: Some("MN2PR05CA0005.namprd05.prod.outlook.com".into()),
            provider: Some(xoauth::report::ProviderIds {
                error_codes: vec![700082],
                trace_id: Some("0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b".into()),
                correlation_id: Some("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a".into()),
                timestamp: Some("2026-11-23 18:22:00Z".into()),
            }),
            stages: vec![xoauth::report::StageStart {
                stage: Stage::Greeting,
                started_at: "2026-11-23T18:22:00.123Z".into(),
            }],
        },
        transcript: Some(vec![xoauth::transport::tap::Entry {
            at_ms: 0,
            direction: xoauth::transport::tap::Direction::Server,
            text: "* OK".into(),
        }]),
    }
}

#[test]
fn every_field_the_library_can_write_is_in_the_schema() {
    let report = full_report();
    let doc: Value = serde_json::from_str(&report.to_json()).unwrap();
    // The fixture really fills what it means to.
    for key in [
        "preflight",
        "folders",
        "examined",
        "found",
        "stat",
        "submission",
        "transcript",
    ] {
        assert!(doc.get(key).is_some(), "{key} missing from {doc:#}");
    }
    assert!(doc["token"]["claims"]["roles"].is_array(), "{doc:#}");
    assert!(doc["failure"]["challenge"]["json"].is_object(), "{doc:#}");
    assert_valid_as("report", &doc, "full report");

    let combined = xoauth::report::Combined::new(vec![report.clone()]);
    let doc: Value = serde_json::from_str(&combined.to_json()).unwrap();
    assert_valid_as("combined", &doc, "full combined report");

    let token = xoauth::report::TokenReport {
        outcome: xoauth::report::Outcome::Fail,
        exit_code: xoauth::outcome::ExitStatus::Token,
        token: None,
        failure: Some(xoauth::report::Failure::new(
            xoauth::report::Stage::Token,
            xoauth::report::FailureKind::TokenUnusable,
            "no token",
        )),
        warnings: vec![],
        ids: xoauth::report::Ids {
            run_id: "0123456789abcdef".into(),
            server_name: Some("MN2PR05CA0005.namprd05.prod.outlook.com".into()),
            provider: Some(xoauth::report::ProviderIds {
                error_codes: vec![700082],
                trace_id: Some("0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b".into()),
                correlation_id: Some("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a".into()),
                timestamp: Some("2026-11-23 18:22:00Z".into()),
            }),
            stages: vec![xoauth::report::StageStart {
                stage: xoauth::report::Stage::Token,
                started_at: "2026-11-23T18:22:00.123Z".into(),
            }],
        },
    };
    let doc: Value = serde_json::from_str(&token.to_json()).unwrap();
    assert_valid_as("token_report", &doc, "token failure");
}

/// The schema is strict enough to be a contract: each of these breaks it.
#[test]
fn the_schema_refuses_what_the_contract_does_not_allow() {
    let good: Value = serde_json::from_str(&full_report().to_json()).unwrap();
    assert!(errors(&good).is_empty());
    type Change = fn(&mut Value);
    let changes: [(&str, Change); 14] = [
        ("an unknown key", |d| d["surprise"] = json!(1)),
        ("an unknown nested key", |d| d["target"]["sni"] = json!("x")),
        ("a missing key", |d| {
            d.as_object_mut().unwrap().remove("steps");
        }),
        ("an unknown failure kind", |d| {
            d["failure"]["kind"] = json!("bad_luck")
        }),
        ("an unknown stage", |d| {
            d["steps"][0]["stage"] = json!("dance")
        }),
        ("an unknown category", |d| {
            d["failure"]["category"] = json!("fate")
        }),
        ("a string port", |d| d["target"]["port"] = json!("993")),
        ("a negative time", |d| d["elapsed_ms"] = json!(-1)),
        ("exit code 2 in a report", |d| d["exit_code"] = json!(2)),
        ("a pass with a failure", |d| {
            d["outcome"] = json!("pass");
            d["exit_code"] = json!(0);
        }),
        ("a category that disagrees with the exit code", |d| {
            d["exit_code"] = json!(4)
        }),
        ("a fix without a cause", |d| {
            d["failure"].as_object_mut().unwrap().remove("cause");
        }),
        ("an empty optional list", |d| d["preflight"] = json!([])),
        ("a time that is not RFC 3339", |d| {
            d["token"]["expires_at"] = json!("tomorrow")
        }),
    ];
    for (what, change) in changes {
        let mut doc = good.clone();
        change(&mut doc);
        assert!(
            !errors(&doc).is_empty() && !errors_as("", &doc).is_empty(),
            "the schema accepts {what}"
        );
    }
    let usage = json!({"error": {"kind": "usage", "message": "m"}, "exit_code": 2});
    assert!(errors(&usage).is_empty());
    for bad in [
        json!({"error": {"kind": "usage", "message": "m"}, "exit_code": 1}),
        json!({"error": {"kind": "usage", "message": "m", "hint": "h"}, "exit_code": 2}),
        json!({"error": {"kind": "oops", "message": "m"}, "exit_code": 2}),
        json!({"error": {"kind": "usage"}, "exit_code": 2}),
    ] {
        assert!(!errors(&bad).is_empty(), "the schema accepts {bad}");
    }
}

/// `cache list --json` names the credential of each entry by its fingerprint only: the schema
/// requires it and refuses anything that could be a secret.
#[test]
fn a_cache_list_entry_names_its_credential_by_fingerprint() {
    let entry = |credential: Value| {
        let mut e = json!({
            "provider": "microsoft", "tenant": "contoso.example",
            "client_id": "00000000-0000-0000-0000-0000000000c1", "flow": "client-credentials",
            "user": "(app-only)", "scopes": ["https://outlook.office365.com/.default"],
            "expires_at": "2026-01-01T00:00:00Z", "expired": false, "has_refresh_token": false,
        });
        if !credential.is_null() {
            e["credential"] = credential;
        }
        json!({"backend": "keyutils", "entries": [e]})
    };
    for good in [
        "public-client",
        "secret:0123456789abcdef",
        "certificate:0123456789ABCDEF0123456789ABCDEF01234567",
    ] {
        assert_valid_as("cache_list", &entry(json!(good)), good);
    }
    for bad in [
        Value::Null,
        json!("mock-secret-valid-0001"),
        json!("secret:mock-secret-valid-0001"),
        json!("secret:0123456789abcdef0"),
        json!(""),
        json!(1),
    ] {
        assert!(
            !errors(&entry(bad.clone())).is_empty(),
            "the schema accepts the credential {bad}"
        );
    }
}

/// An audit's JSON lines, built by the library with every optional part filled (a retried
/// cell, a pass, skipped and repeated lines): each line is the document the schema names.
#[test]
fn every_line_of_an_audit_is_in_the_schema() {
    use xoauth::report::audit::*;
    let failed = full_report();
    let mut passed = full_report();
    passed.outcome = xoauth::report::Outcome::Pass;
    passed.exit_code = xoauth::outcome::ExitStatus::Pass;
    passed.failure = None;
    let audit = Audit {
        started_at: 1_800_000_000,
        elapsed_ms: 1234,
        user: None,
        token: failed.token.clone(),
        protocols: vec![xoauth::service::Protocol::Imap],
        concurrency: 8,
        mailboxes: vec![
            MailboxAudit {
                mailbox: "a@x.example".into(),
                line: 1,
                cells: vec![Cell {
                    protocol: xoauth::service::Protocol::Imap,
                    attempts: 3,
                    backoff_ms: vec![2000, 2000],
                    report: failed,
                }],
                combined: None,
            },
            MailboxAudit {
                mailbox: "b@x.example".into(),
                line: 3,
                cells: vec![Cell {
                    protocol: xoauth::service::Protocol::Imap,
                    attempts: 1,
                    backoff_ms: vec![],
                    report: passed,
                }],
                combined: None,
            },
        ],
        skipped: vec![SkippedLine {
            line: 2,
            text: "alice".into(),
            reason: "does not look like an e-mail address".into(),
        }],
        duplicates: vec![Duplicate {
            mailbox: "a@x.example".into(),
            lines: vec![1, 4],
        }],
    };
    let lines: Vec<Value> = audit
        .to_json_lines()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_valid_as("audit_cell", &lines[0], "failed cell");
    assert_eq!(lines[0]["backoff_ms"], json!([2000, 2000]));
    assert_eq!(lines[0]["kind"], "auth_rejected");
    assert_valid_as("audit_cell", &lines[1], "passed cell");
    assert_valid_as("audit_summary", &lines[2], "summary");
    assert_eq!(lines[2]["exit_code"], 2);
    assert_eq!(lines[2]["summary"]["by_kind"], json!({"auth_rejected": 1}));
    // Strict: a cell that says it passed cannot carry a failure kind.
    let mut bad = lines[1].clone();
    bad["kind"] = json!("auth_rejected");
    assert!(!errors_as("audit_cell", &bad).is_empty());
    let mut bad = lines[2].clone();
    bad["summary"]["by_kind"] = json!({"no_such_kind": 1});
    assert!(!errors_as("audit_summary", &bad).is_empty());
}
