//! Known-answer dialogues for everything after AUTHENTICATE: a scripted server on an in-memory
//! pipe answers each command with literal wire lines, and the test reads the report data. They
//! show that a command's status is the parsed tagged completion, whatever the transcript (a
//! redacted record whose lines are cut at 2,000 characters) makes of it.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

use super::response::Capabilities;
use super::{auth, authenticated};
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
    "A0001 AUTHENTICATE XOAUTH2 ",
    "A0001 OK AUTHENTICATE completed.\r\n",
);
const CAPS_OK: (&str, &str) = (
    "A0002 CAPABILITY",
    "* CAPABILITY IMAP4 IMAP4rev1 IDLE CHILDREN\r\nA0002 OK CAPABILITY completed.\r\n",
);
const LIST_OK: (&str, &str) = (
    "A0003 LIST \"\" \"*\"",
    "* LIST (\\HasNoChildren) \"/\" Inbox\r\n* LIST (\\HasNoChildren \\Drafts) \"/\" Entw&APw-rfe\r\nA0003 OK LIST completed.\r\n",
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

async fn dialogue(options: ImapOptions, script: &[(&str, &str)]) -> Run {
    let script = script
        .iter()
        .map(|(e, r)| (e.to_string(), r.to_string()))
        .collect();
    dialogue_owned(options, script).await
}

async fn dialogue_owned(options: ImapOptions, script: Vec<(String, String)>) -> Run {
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
        pipelining: true,
    };
    let caps = Capabilities(vec![
        "IMAP4rev1".into(),
        "AUTH=XOAUTH2".into(),
        "SASL-IR".into(),
    ]);
    let mut rec = Recorder::default();
    let mut facts = Facts::default();
    let client = async_imap::Client::new(stream);
    let result = match auth::authenticate(
        client,
        Mechanism::XOAuth2,
        &caps,
        &req,
        &transcript,
        &mut rec,
        &mut facts,
    )
    .await
    {
        Ok(mut session) => {
            authenticated(
                &mut session,
                &req,
                &options,
                &transcript,
                &mut rec,
                &mut facts,
            )
            .await
        }
        Err(f) => Err(f),
    };
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
                "A0004 EXAMINE \"Entw&APw-rfe\"",
                "* FLAGS (\\Seen)\r\n* 3 EXISTS\r\n* 1 RECENT\r\n* OK [UIDVALIDITY 14] UIDs valid\r\nA0004 OK [READ-ONLY] EXAMINE completed.\r\n",
            ),
            (
                "A0005 EXAMINE \"INBOX\"",
                "* 2 EXISTS\r\n* 0 RECENT\r\nA0005 OK [READ-ONLY] EXAMINE completed.\r\n",
            ),
            (
                "A0006 SEARCH HEADER Message-ID \"<t1@xoauth.test>\"",
                "* SEARCH 2 1\r\nA0006 OK SEARCH completed.\r\n",
            ),
            ("A0007 LOGOUT", "* BYE Goodbye.\r\nA0007 OK LOGOUT completed.\r\n"),
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
            ("A0003 LIST", "A0003 BAD Command Error. 12\r\n"),
        ],
    )
    .await;
    let f = run.failure();
    assert_eq!((f.stage, f.kind), (Stage::List, FailureKind::ListFailed));
    assert_eq!(f.server_reply, vec!["A0003 BAD Command Error. 12"]);
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
                "A0003 LIST",
                "* LIST (\\HasNoChildren) \"/\" Inbox\r\nA0003 NO LIST failed.\r\n",
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
        "A0004 NO Mailbox doesn't exist.\r\n",
        "A0004 BAD Command Argument Error. 11\r\n",
    ] {
        let run = dialogue(
            examine("Nope"),
            &[AUTH_OK, CAPS_OK, LIST_OK, ("A0004 EXAMINE \"Nope\"", reply)],
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
        "A0005 NO [BADCHARSET] Search failed\r\n",
        "A0005 BAD Command Argument Error. 11\r\n",
    ] {
        let run = dialogue(
            find("<t1@xoauth.test>"),
            &[
                AUTH_OK,
                CAPS_OK,
                LIST_OK,
                (
                    "A0004 EXAMINE \"INBOX\"",
                    "* 0 EXISTS\r\nA0004 OK EXAMINE completed.\r\n",
                ),
                ("A0005 SEARCH", reply),
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
        "A0003 NO [{padding}] Request is throttled. Suggested Backoff Time: 299961 milliseconds"
    );
    let run = dialogue_owned(
        list_only(),
        vec![
            (AUTH_OK.0.into(), AUTH_OK.1.into()),
            (CAPS_OK.0.into(), CAPS_OK.1.into()),
            ("A0003 LIST".into(), format!("{line}\r\n")),
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
    let line = format!("A0004 BAD {TOKEN} User is authenticated but not connected.");
    let run = dialogue_owned(
        examine("INBOX"),
        vec![
            (AUTH_OK.0.into(), AUTH_OK.1.into()),
            (CAPS_OK.0.into(), CAPS_OK.1.into()),
            (LIST_OK.0.into(), LIST_OK.1.into()),
            (
                "A0004 EXAMINE".into(),
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
                "A0002 CAPABILITY",
                "A0002 BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n",
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
            "A0002 BAD User is authenticated but not connected.",
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
                "A0003 LIST",
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
        &[
            AUTH_OK,
            CAPS_OK,
            ("A0003 LIST", "* LIST () \"/\" Inbox\r\n"),
        ],
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
            ("A0002 CAPABILITY", "A0002 BAD Command Error. 12\r\n"),
            LIST_OK,
            ("A0004 LOGOUT", "* BYE\r\nA0004 OK\r\n"),
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
            ("A0004 LOGOUT", "A0004 NO not now\r\n"),
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
