//! Known-answer dialogues for AUTHENTICATE and everything after it: a scripted server on an
//! in-memory pipe answers each command with literal wire lines, and the test reads the report
//! data. They show that a command's status is the parsed tagged completion, whatever the
//! transcript (a redacted record whose lines are cut at 2,000 characters) makes of it, one
//! command at a time (`--no-pipelining`) and with LIST and EXAMINE sent with AUTHENTICATE.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

use super::response::Capabilities;
use super::session;
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::plan::ImapOptions;
use crate::protocol::{Facts, Request};
use crate::sasl::{Mechanism, MechanismChoice};
use crate::secret::Secret;
use crate::transport::Limits;
use crate::transport::tap::{Tap, Transcript};
use crate::transport::util::MAX_SNIPPET;

const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.scripted-token-7c1e.c2lnbmF0dXJl";
const AUTH_OK: (&str, &str) = (
    "A1 AUTHENTICATE XOAUTH2 ",
    "A1 OK AUTHENTICATE completed.\r\n",
);
const CAPS_OK: (&str, &str) = (
    "A2 CAPABILITY",
    "* CAPABILITY IMAP4 IMAP4rev1 IDLE CHILDREN\r\nA2 OK CAPABILITY completed.\r\n",
);
const LIST_OK: (&str, &str) = (
    "A3 LIST \"\" \"*\"",
    "* LIST (\\HasNoChildren) \"/\" Inbox\r\n* LIST (\\HasNoChildren \\Drafts) \"/\" Entw&APw-rfe\r\nA3 OK LIST completed.\r\n",
);

struct Run {
    result: Result<(), Failure>,
    rec: Recorder,
    facts: Facts,
}

impl Run {
    fn failure(&self) -> &Failure {
        self.result.as_ref().expect_err("the check should fail")
    }

    fn step(&self, stage: Stage) -> Option<(bool, &str)> {
        self.rec
            .steps
            .iter()
            .rev()
            .find(|s| s.stage == stage)
            .map(|s| (s.ok, s.detail.as_str()))
    }
}

/// Answers each client line that starts with `expect` with `reply`, then hangs up.
async fn serve(io: DuplexStream, script: Vec<(String, String)>) {
    let (read, mut write) = tokio::io::split(io);
    let mut read = BufReader::new(read);
    for (expect, reply) in script {
        let mut line = String::new();
        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        assert!(
            line.starts_with(&expect),
            "expected {expect:?}, got {line:?}"
        );
        write.write_all(reply.as_bytes()).await.unwrap();
    }
}

/// One command at a time, as `--no-pipelining` runs it.
async fn dialogue(options: ImapOptions, script: &[(&str, &str)]) -> Run {
    dialogue_owned(options, owned(script)).await
}

/// LIST (and EXAMINE) sent with AUTHENTICATE, LOGOUT not waited for.
async fn pipelined(options: ImapOptions, script: &[(&str, &str)]) -> Run {
    talk(options, owned(script), true).await
}

fn owned(script: &[(&str, &str)]) -> Vec<(String, String)> {
    script
        .iter()
        .map(|(e, r)| (e.to_string(), r.to_string()))
        .collect()
}

async fn dialogue_owned(options: ImapOptions, script: Vec<(String, String)>) -> Run {
    talk(options, script, false).await
}

async fn talk(options: ImapOptions, script: Vec<(String, String)>, pipelining: bool) -> Run {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let server = tokio::spawn(serve(server_io, script));
    let transcript = Transcript::new();
    let stream = Tap::new(client_io, transcript.clone(), Limits::default());
    let token = Secret::new(TOKEN.to_string());
    let req = Request {
        authzid: "alice@contoso.example",
        token: &token,
        mechanism: MechanismChoice::Auto,
        host: "imap.example",
        port: 993,
        timeout: Duration::from_secs(5),
        limits: Limits::default(),
        pipelining,
    };
    let caps = Capabilities(vec![
        "IMAP4rev1".into(),
        "AUTH=XOAUTH2".into(),
        "SASL-IR".into(),
    ]);
    let mut rec = Recorder::default();
    let mut facts = Facts::default();
    let result = session(
        stream,
        Mechanism::XOAuth2,
        &caps,
        &req,
        &options,
        &transcript,
        &mut rec,
        &mut facts,
    )
    .await;
    server
        .await
        .expect("the scripted server follows its script");
    Run { result, rec, facts }
}

fn list_only() -> ImapOptions {
    ImapOptions::default()
}

fn examine(folder: &str) -> ImapOptions {
    ImapOptions {
        examine: Some(folder.to_string()),
        ..ImapOptions::default()
    }
}

fn find(message_id: &str) -> ImapOptions {
    ImapOptions {
        find_message_id: Some(message_id.to_string()),
        ..ImapOptions::default()
    }
}

#[tokio::test]
async fn a_clean_session_lists_examines_finds_and_logs_out() {
    let run = dialogue(
        ImapOptions {
            examine: Some("Entwürfe".into()),
            find_message_id: Some("<t1@xoauth.test>".into()),
        },
        &[
            AUTH_OK,
            CAPS_OK,
            LIST_OK,
            (
                "A4 EXAMINE \"Entw&APw-rfe\"",
                "* FLAGS (\\Seen)\r\n* 3 EXISTS\r\n* 1 RECENT\r\n* OK [UIDVALIDITY 14] UIDs valid\r\nA4 OK [READ-ONLY] EXAMINE completed.\r\n",
            ),
            (
                "A5 EXAMINE \"INBOX\"",
                "* 2 EXISTS\r\n* 0 RECENT\r\nA5 OK [READ-ONLY] EXAMINE completed.\r\n",
            ),
            (
                "A6 SEARCH HEADER Message-ID \"<t1@xoauth.test>\"",
                "* SEARCH 2 1\r\nA6 OK SEARCH completed.\r\n",
            ),
            ("A7 LOGOUT", "* BYE Goodbye.\r\nA7 OK LOGOUT completed.\r\n"),
        ],
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(
        run.facts.capabilities,
        vec!["CHILDREN", "IDLE", "IMAP4", "IMAP4rev1"]
    );
    let folders = run.facts.folders.as_ref().unwrap();
    assert_eq!(folders.len(), 2);
    assert_eq!(folders[1].name, "Entwürfe");
    assert_eq!(folders[1].wire_name.as_deref(), Some("Entw&APw-rfe"));
    assert_eq!(folders[1].attributes, vec!["\\HasNoChildren", "\\Drafts"]);
    let examined = run.facts.examined.as_ref().unwrap();
    assert_eq!(
        (examined.messages, examined.recent, examined.uid_validity),
        (3, 1, Some(14))
    );
    assert_eq!(run.facts.found.as_ref().unwrap().matches, vec![1, 2]);
    assert_eq!(run.step(Stage::Logout), Some((true, "")));
    assert!(run.facts.warnings.is_empty(), "{:?}", run.facts.warnings);
}

#[tokio::test]
async fn list_answered_bad_is_a_list_failure() {
    let run = dialogue(
        list_only(),
        &[
            AUTH_OK,
            CAPS_OK,
            ("A3 LIST", "A3 BAD Command Error. 12\r\n"),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!((f.stage, f.kind), (Stage::List, FailureKind::ListFailed));
    assert_eq!(f.server_reply, vec!["A3 BAD Command Error. 12"]);
    assert_eq!(
        run.step(Stage::List),
        Some((false, "the server refused LIST"))
    );
    assert!(run.facts.folders.is_none());
}

#[tokio::test]
async fn list_answered_no_after_folders_is_still_a_failure() {
    // The untagged LIST lines came; the tagged NO decides.
    let run = dialogue(
        list_only(),
        &[
            AUTH_OK,
            CAPS_OK,
            (
                "A3 LIST",
                "* LIST (\\HasNoChildren) \"/\" Inbox\r\nA3 NO LIST failed.\r\n",
            ),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!((f.stage, f.kind), (Stage::List, FailureKind::ListFailed));
    assert!(run.facts.folders.is_none());
}

#[tokio::test]
async fn examine_answered_no_or_bad_is_an_examine_failure() {
    for reply in [
        "A4 NO Mailbox doesn't exist.\r\n",
        "A4 BAD Command Argument Error. 11\r\n",
    ] {
        let run = dialogue(
            examine("Nope"),
            &[AUTH_OK, CAPS_OK, LIST_OK, ("A4 EXAMINE \"Nope\"", reply)],
        )
        .await;
        let f = run.failure();
        assert_eq!(
            (f.stage, f.kind),
            (Stage::Examine, FailureKind::ExamineFailed),
            "{reply}"
        );
        assert_eq!(f.server_reply, vec![reply.trim_end()]);
        assert_eq!(run.step(Stage::Examine).map(|s| s.0), Some(false));
        assert!(run.facts.examined.is_none());
    }
}

/// async-imap's own `search` ends at the tagged line without reading its status, so a refused
/// SEARCH used to look like "not found yet" and became a warning after ten tries.
#[tokio::test]
async fn search_answered_no_or_bad_is_a_search_failure_not_a_miss() {
    for reply in [
        "A5 NO [BADCHARSET] Search failed\r\n",
        "A5 BAD Command Argument Error. 11\r\n",
    ] {
        let run = dialogue(
            find("<t1@xoauth.test>"),
            &[
                AUTH_OK,
                CAPS_OK,
                LIST_OK,
                (
                    "A4 EXAMINE \"INBOX\"",
                    "* 0 EXISTS\r\nA4 OK EXAMINE completed.\r\n",
                ),
                ("A5 SEARCH", reply),
            ],
        )
        .await;
        let f = run.failure();
        assert_eq!(
            (f.stage, f.kind),
            (Stage::Search, FailureKind::ExamineFailed),
            "{reply}"
        );
        assert_eq!(
            run.step(Stage::Search),
            Some((false, "the server refused SEARCH"))
        );
        assert!(run.facts.warnings.is_empty(), "{:?}", run.facts.warnings);
        assert!(run.facts.found.is_none());
    }
}

/// The transcript cuts a line at 2,000 characters, so Exchange's words after that point are
/// not in the record; they are in the parse, which is what classifies the refusal.
#[tokio::test]
async fn a_status_line_longer_than_the_transcript_keeps_is_classified_from_the_parse() {
    let padding = "x".repeat(MAX_SNIPPET + 100);
    let line = format!(
        "A3 NO [{padding}] Request is throttled. Suggested Backoff Time: 299961 milliseconds"
    );
    let run = dialogue_owned(
        list_only(),
        vec![
            (AUTH_OK.0.into(), AUTH_OK.1.into()),
            (CAPS_OK.0.into(), CAPS_OK.1.into()),
            ("A3 LIST".into(), format!("{line}\r\n")),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!((f.stage, f.kind), (Stage::List, FailureKind::Throttled));
    // The record is cut: the words that decided are not in it.
    assert_eq!(f.server_reply.len(), 1);
    assert!(
        !f.server_reply[0].contains("throttled"),
        "{:?}",
        f.server_reply
    );
    assert!(f.server_reply[0].ends_with("bytes in all)"));
}

/// A reply that quotes the token is redacted in the record but read in full by the parse.
#[tokio::test]
async fn a_status_line_holding_a_redacted_secret_is_read_from_the_parse() {
    let line = format!("A4 BAD {TOKEN} User is authenticated but not connected.");
    let run = dialogue_owned(
        examine("INBOX"),
        vec![
            (AUTH_OK.0.into(), AUTH_OK.1.into()),
            (CAPS_OK.0.into(), CAPS_OK.1.into()),
            (LIST_OK.0.into(), LIST_OK.1.into()),
            (
                "A4 EXAMINE".into(),
                format!("{line}\r\n* BYE Connection closed. 14\r\n"),
            ),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!(
        (f.stage, f.kind),
        (Stage::Examine, FailureKind::AuthenticatedNotConnected)
    );
    let shown = f.server_reply.join("\n");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("User is authenticated but not connected."));
}

#[tokio::test]
async fn exchange_refusing_the_first_command_ends_the_check_at_list() {
    let run = dialogue(
        list_only(),
        &[
            AUTH_OK,
            (
                "A2 CAPABILITY",
                "A2 BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n",
            ),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!(
        (f.stage, f.kind),
        (Stage::List, FailureKind::AuthenticatedNotConnected)
    );
    assert_eq!(
        f.server_reply,
        vec![
            "A2 BAD User is authenticated but not connected.",
            "* BYE Connection closed. 14"
        ]
    );
}

#[tokio::test]
async fn a_bye_alone_naming_the_refusal_is_that_refusal() {
    let run = dialogue(
        list_only(),
        &[
            AUTH_OK,
            CAPS_OK,
            (
                "A3 LIST",
                "* BYE User is authenticated but not connected.\r\n",
            ),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!(
        (f.stage, f.kind),
        (Stage::List, FailureKind::AuthenticatedNotConnected)
    );
}

#[tokio::test]
async fn a_hang_up_without_completion_is_a_closed_connection() {
    let run = dialogue(
        list_only(),
        &[AUTH_OK, CAPS_OK, ("A3 LIST", "* LIST () \"/\" Inbox\r\n")],
    )
    .await;
    let f = run.failure();
    assert_eq!(
        (f.stage, f.kind),
        (Stage::List, FailureKind::ConnectionClosed)
    );
}

#[tokio::test]
async fn a_capability_refusal_that_is_not_exchanges_is_not_the_finding() {
    let run = dialogue(
        list_only(),
        &[
            AUTH_OK,
            ("A2 CAPABILITY", "A2 BAD Command Error. 12\r\n"),
            LIST_OK,
            ("A4 LOGOUT", "* BYE\r\nA4 OK\r\n"),
        ],
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.facts.folders.as_ref().map(Vec::len), Some(2));
}

#[tokio::test]
async fn logout_refused_is_a_warning() {
    let run = dialogue(
        list_only(),
        &[
            AUTH_OK,
            CAPS_OK,
            LIST_OK,
            ("A4 LOGOUT", "A4 NO not now\r\n"),
        ],
    )
    .await;
    assert!(run.result.is_ok());
    assert_eq!(run.step(Stage::Logout), Some((false, "NO not now")));
    assert_eq!(
        run.facts.warnings,
        vec!["LOGOUT did not complete cleanly: NO not now"]
    );
}

// ---- Pipelined: LIST (and EXAMINE) in AUTHENTICATE's write ----

const FOLDERS: &str = "* LIST (\\HasNoChildren) \"/\" Inbox\r\n* LIST (\\HasNoChildren \\Drafts) \"/\" Entw&APw-rfe\r\n";

/// The scripted server answers nothing until EXAMINE has arrived too: a client that waited
/// for AUTHENTICATE's reply before sending LIST would wait for ever (and time out).
#[tokio::test]
async fn list_and_examine_go_out_with_authenticate_and_logout_is_not_awaited() {
    let replies = format!(
        "A1 OK AUTHENTICATE completed.\r\n{FOLDERS}A2 OK LIST completed.\r\n\
         * 3 EXISTS\r\n* 1 RECENT\r\nA3 OK [READ-ONLY] EXAMINE completed.\r\n"
    );
    let run = pipelined(
        examine("Entwürfe"),
        &[
            ("A1 AUTHENTICATE XOAUTH2 ", ""),
            ("A2 LIST \"\" \"*\"", ""),
            ("A3 EXAMINE \"Entw&APw-rfe\"", &replies),
            // Nothing comes back: the client must not wait for it.
            ("A4 LOGOUT", ""),
        ],
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.facts.folders.as_ref().map(Vec::len), Some(2));
    assert_eq!(run.facts.examined.as_ref().map(|e| e.messages), Some(3));
    assert_eq!(
        run.step(Stage::Logout),
        Some((true, "sent, not waited for"))
    );
    assert_eq!(
        run.step(Stage::Auth),
        Some((
            true,
            "XOAUTH2 (SASL-IR, pipelined) as alice@contoso.example"
        ))
    );
    assert!(run.facts.warnings.is_empty(), "{:?}", run.facts.warnings);
}

/// Exchange refuses whatever command comes first after AUTHENTICATE when the mailbox is not
/// connected or the sign-in is throttled; pipelined, that command is LIST. The quoted reply is
/// LIST's, without AUTHENTICATE's OK that came in the same read.
#[tokio::test]
async fn a_pipelined_list_refused_by_exchange_is_that_refusal_at_list() {
    for (words, kind) in [
        (
            "User is authenticated but not connected.",
            FailureKind::AuthenticatedNotConnected,
        ),
        (
            "Request is throttled. Suggested Backoff Time: 299961 milliseconds",
            FailureKind::Throttled,
        ),
    ] {
        let replies = format!(
            "A1 OK AUTHENTICATE completed.\r\nA2 BAD {words}\r\n* BYE Connection closed. 14\r\n"
        );
        let run = pipelined(
            list_only(),
            &[("A1 AUTHENTICATE XOAUTH2 ", ""), ("A2 LIST", &replies)],
        )
        .await;
        let f = run.failure();
        assert_eq!((f.stage, f.kind), (Stage::List, kind), "{words}");
        assert_eq!(
            f.server_reply,
            vec![
                format!("A2 BAD {words}"),
                "* BYE Connection closed. 14".into()
            ]
        );
        assert_eq!(run.step(Stage::Auth).map(|s| s.0), Some(true));
    }
}

/// The server refuses AUTHENTICATE and then, in the not-authenticated state, the LIST that
/// came with it: the refused AUTHENTICATE is the failure, quoted alone.
#[tokio::test]
async fn authenticate_no_then_list_bad_is_the_authentication_failure() {
    let run = pipelined(
        list_only(),
        &[
            ("A1 AUTHENTICATE XOAUTH2 ", ""),
            (
                "A2 LIST",
                "A1 NO AUTHENTICATE failed.\r\nA2 BAD Command received in Invalid state.\r\n",
            ),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!((f.stage, f.kind), (Stage::Auth, FailureKind::AuthRejected));
    assert_eq!(f.server_reply, vec!["A1 NO AUTHENTICATE failed."]);
    assert!(run.step(Stage::List).is_none());
    assert!(run.facts.folders.is_none());
}

/// Gmail and Dovecot answer a bad token with an error challenge. The server may take the
/// pipelined LIST line as the client's SASL answer and fail at once, or wait for the
/// acknowledgement; either way the acknowledgement is sent, the challenge is decoded and the
/// refused AUTHENTICATE is the failure.
#[tokio::test]
async fn an_error_challenge_after_the_pipelined_list_is_the_authentication_failure() {
    use base64::Engine as _;
    let json = r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
    let challenge = format!(
        "+ {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(json)
    );
    let refused = "A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n";
    let scripts = [
        // The challenge once both lines are in; the refusal after the acknowledgement.
        vec![
            ("A1 AUTHENTICATE XOAUTH2 ", ""),
            ("A2 LIST", challenge.as_str()),
            ("\r\n", refused),
        ],
        // The challenge at once; the LIST line taken as the SASL answer; the
        // acknowledgement then arrives as a (bad) command, whose answer nobody reads.
        vec![
            ("A1 AUTHENTICATE XOAUTH2 ", challenge.as_str()),
            ("A2 LIST", refused),
            ("\r\n", ""),
        ],
    ];
    for script in scripts {
        let run = pipelined(list_only(), &script).await;
        let f = run.failure();
        assert_eq!((f.stage, f.kind), (Stage::Auth, FailureKind::AuthRejected));
        assert_eq!(f.server_reply, vec![refused.trim_end()]);
        let challenge = f.challenge.as_ref().expect("the challenge is kept");
        assert_eq!(challenge.status(), Some("400"));
        assert_eq!(
            run.facts.challenge.as_ref().and_then(|c| c.status()),
            Some("400")
        );
        assert!(run.facts.folders.is_none());
    }
}
