//! Known-answer dialogues for the session state machine, C:/S: as on the wire.

use std::sync::LazyLock;

use super::*;
use crate::command_log::CommandLog;
use crate::config::Config;
use crate::idp::mint::TokenSpec;
use crate::idp::test_token;

static ALICE: LazyLock<String> =
    LazyLock::new(|| test_token(&TokenSpec::user("alice@contoso.example")));

fn session_with(config: &Config, tls: bool) -> Session {
    let ctx = Arc::new(Context::new(config, CommandLog::default()));
    Session::new(ctx, tls, config.server.starttls)
}

fn tls_session() -> Session {
    session_with(&Config::demo(), true)
}

/// Feeds one client line (CRLF added) and returns the server's bytes.
fn c(session: &mut Session, line: &str) -> (String, Next) {
    let step = session.on_message(format!("{line}\r\n").as_bytes());
    (step.out, step.next)
}

fn s(session: &mut Session, line: &str, expected: &str) {
    let (out, _) = c(session, line);
    assert_eq!(out, expected, "C: {line}");
}

fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

#[test]
fn greeting_is_exchange_style() {
    let g = tls_session().greeting();
    assert!(g.starts_with("* OK The Microsoft Exchange IMAP4 service is ready. ["));
    assert!(g.ends_with("]\r\n"));
}

#[test]
fn sasl_ir_success_then_list() {
    let mut s1 = tls_session();
    s(
        &mut s1,
        &format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", &ALICE)
        ),
        "A1 OK AUTHENTICATE completed.\r\n",
    );
    let (out, next) = c(&mut s1, "A2 LIST \"\" \"*\"");
    assert_eq!(next, Next::Read);
    assert!(
        out.starts_with("* LIST (\\HasNoChildren) \"/\" Inbox\r\n"),
        "{out}"
    );
    assert!(out.contains("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n"));
    assert!(out.contains("* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\r\n"));
    assert!(out.contains("* LIST (\\HasNoChildren) \"/\" \"&AMQ-rger &- Co\"\r\n"));
    assert!(out.ends_with("A2 OK LIST completed.\r\n"));
    s(
        &mut s1,
        "A3 AUTHENTICATE XOAUTH2 AAAA",
        "A3 BAD Command received in Invalid state.\r\n",
    );
}

#[test]
fn two_step_and_cancel() {
    let mut s1 = tls_session();
    s(&mut s1, "A1 AUTHENTICATE XOAUTH2", "+\r\n");
    s(&mut s1, "*", "A1 BAD AUTHENTICATE cancelled.\r\n");
    s(&mut s1, "A2 AUTHENTICATE XOAUTH2", "+\r\n");
    s(&mut s1, "not base64!", "A2 NO AUTHENTICATE failed.\r\n");
    s(&mut s1, "A3 AUTHENTICATE XOAUTH2", "+\r\n");
    s(
        &mut s1,
        &xoauth2("alice@contoso.example", &ALICE),
        "A3 OK AUTHENTICATE completed.\r\n",
    );
}

#[test]
fn failures_are_exchange_style() {
    let mut s1 = tls_session();
    let bad = xoauth2("alice@contoso.example", "expired");
    s(
        &mut s1,
        &format!("A1 AUTHENTICATE XOAUTH2 {bad}"),
        "A1 NO AUTHENTICATE failed.\r\n",
    );
    s(
        &mut s1,
        "A2 AUTHENTICATE XOAUTH2 %%%",
        "A2 NO AUTHENTICATE failed.\r\n",
    );
    let junk = STANDARD.encode("hello");
    s(
        &mut s1,
        &format!("A3 AUTHENTICATE XOAUTH2 {junk}"),
        "A3 NO AUTHENTICATE failed.\r\n",
    );
    s(
        &mut s1,
        "A4 AUTHENTICATE OAUTHBEARER AAAA",
        "A4 NO AUTHENTICATE failed.\r\n",
    );
    s(
        &mut s1,
        "A5 AUTHENTICATE CRAM-MD5",
        "A5 NO AUTHENTICATE failed.\r\n",
    );
    s(&mut s1, "A6 LOGIN alice secret", "A6 NO LOGIN failed.\r\n");
    s(&mut s1, "A7 AUTHENTICATE PLAIN", "+\r\n");
    s(
        &mut s1,
        "AGFsaWNlAHNlY3JldA==",
        "A7 NO AUTHENTICATE failed.\r\n",
    );
    s(
        &mut s1,
        "A8 LIST \"\" *",
        "A8 BAD Command received in Invalid state.\r\n",
    );
    s(&mut s1, "A9 STARTTLS", "A9 BAD Command Error. 12\r\n");
}

#[test]
fn not_connected_gets_bad_and_bye() {
    let mut s1 = tls_session();
    s(
        &mut s1,
        &format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("payroll@contoso.example", &ALICE)
        ),
        "A1 OK AUTHENTICATE completed.\r\n",
    );
    s(&mut s1, "A2 NOOP", "A2 OK NOOP completed.\r\n");
    let (out, next) = c(&mut s1, "A3 SELECT INBOX");
    assert_eq!(
        out,
        "A3 BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n"
    );
    assert_eq!(next, Next::Close);
}

#[test]
fn shared_mailbox_with_full_access() {
    let mut s1 = tls_session();
    s(
        &mut s1,
        &format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("sales@contoso.example", &ALICE)
        ),
        "A1 OK AUTHENTICATE completed.\r\n",
    );
    s(
        &mut s1,
        "A2 LIST \"\" \"*\"",
        "* LIST (\\HasNoChildren) \"/\" Inbox\r\n\
         * LIST (\\HasChildren) \"/\" Angebote\r\n\
         * LIST (\\HasNoChildren) \"/\" Angebote/2026\r\n\
         A2 OK LIST completed.\r\n",
    );
    s(
        &mut s1,
        "A3 LIST \"\" \"%\"",
        "* LIST (\\HasNoChildren) \"/\" Inbox\r\n\
         * LIST (\\HasChildren) \"/\" Angebote\r\n\
         A3 OK LIST completed.\r\n",
    );
    s(
        &mut s1,
        "A4 LIST \"\" \"\"",
        "* LIST (\\Noselect) \"/\" \"\"\r\nA4 OK LIST completed.\r\n",
    );
    s(
        &mut s1,
        "A5 EXAMINE INBOX",
        "* 5 EXISTS\r\n* 0 RECENT\r\n\
         * FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)\r\n\
         * OK [PERMANENTFLAGS ()] Permanent flags\r\n\
         * OK [UIDVALIDITY 14] UIDVALIDITY value\r\n\
         * OK [UIDNEXT 6] The next unique identifier value\r\n\
         A5 OK [READ-ONLY] EXAMINE completed.\r\n",
    );
    s(&mut s1, "A6 CLOSE", "A6 OK CLOSE completed.\r\n");
    s(
        &mut s1,
        "A7 CLOSE",
        "A7 BAD Command received in Invalid state.\r\n",
    );
}

#[test]
fn mailbox_commands_for_alice() {
    let mut s1 = tls_session();
    c(
        &mut s1,
        &format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", &ALICE)
        ),
    );
    s(
        &mut s1,
        "A2 NAMESPACE",
        "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nA2 OK NAMESPACE completed.\r\n",
    );
    s(
        &mut s1,
        "A3 ID (\"name\" \"x\")",
        "* ID NIL\r\nA3 OK ID completed.\r\n",
    );
    let (out, _) = c(&mut s1, "A4 SELECT \"Sent Items\"");
    assert!(out.starts_with("* 1 EXISTS\r\n"), "{out}");
    assert!(
        out.ends_with("A4 OK [READ-WRITE] SELECT completed.\r\n"),
        "{out}"
    );
    let (out, _) = c(&mut s1, "A5 EXAMINE &ZeVnLIqe-");
    assert!(
        out.ends_with("A5 OK [READ-ONLY] EXAMINE completed.\r\n"),
        "{out}"
    );
    let (out, _) = c(&mut s1, "A6 EXAMINE \"&AMQ-rger &- Co\"");
    assert!(
        out.ends_with("A6 OK [READ-ONLY] EXAMINE completed.\r\n"),
        "{out}"
    );
    s(
        &mut s1,
        "A7 EXAMINE Nowhere",
        "A7 NO Mailbox doesn't exist.\r\n",
    );
    s(
        &mut s1,
        "A8 UNSELECT",
        "A8 BAD Command received in Invalid state.\r\n",
    );
    s(
        &mut s1,
        "A9 STATUS Inbox (MESSAGES UIDNEXT UNSEEN)",
        "* STATUS Inbox (MESSAGES 3 UIDNEXT 4 UNSEEN 0)\r\nA9 OK STATUS completed.\r\n",
    );
    s(
        &mut s1,
        "B1 IDLE",
        "+ IDLE accepted, awaiting DONE command.\r\n",
    );
    s(&mut s1, "DONE", "B1 OK IDLE completed.\r\n");
    s(
        &mut s1,
        "B2 FETCH 1 FLAGS",
        "B2 NO Command not implemented by xoauth-mock.\r\n",
    );
    let (out, next) = c(&mut s1, "B3 LOGOUT");
    assert_eq!(
        out,
        "* BYE Microsoft Exchange Server IMAP4 server signing off.\r\nB3 OK LOGOUT completed.\r\n"
    );
    assert_eq!(next, Next::Close);
}

#[test]
fn plaintext_listener_rules() {
    let mut s1 = session_with(&Config::demo(), false);
    s(
        &mut s1,
        "A1 CAPABILITY",
        "* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+\r\n\
         A1 OK CAPABILITY completed.\r\n",
    );
    s(
        &mut s1,
        &format!(
            "A2 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", &ALICE)
        ),
        "A2 BAD Command received in Invalid state.\r\n",
    );
    s(
        &mut s1,
        "A3 LOGIN a b",
        "A3 BAD Command received in Invalid state.\r\n",
    );
    let (out, next) = c(&mut s1, "A4 STARTTLS");
    assert_eq!(out, "A4 OK Begin TLS negotiation now.\r\n");
    assert_eq!(next, Next::StartTls);
    s1.tls_established();
    s(&mut s1, "A5 STARTTLS", "A5 BAD Command Error. 12\r\n");
    let (out, _) = c(&mut s1, "A6 CAPABILITY");
    assert!(out.starts_with("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR"));

    let mut config = Config::demo();
    config.server.starttls = false;
    let mut s2 = session_with(&config, false);
    s(&mut s2, "A1 STARTTLS", "A1 BAD Command Error. 12\r\n");
}

#[test]
fn malformed_input_gets_bad() {
    let mut s1 = tls_session();
    s(&mut s1, "A1 FROBNICATE", "A1 BAD Command Error. 12\r\n");
    s(&mut s1, "", "* BAD Command Error. 12\r\n");
    s(&mut s1, "(((", "* BAD Command Error. 12\r\n");
    s(&mut s1, "A2 SELECT", "A2 BAD Command Error. 12\r\n");
    let (out, _) = c(&mut s1, "\u{1}\u{2}\u{ff} \0");
    assert_eq!(out, "* BAD Command Error. 12\r\n");
    let step = s1.on_message(b"A3 NOOP\r\nA4 NOOP\r\n");
    assert_eq!(step.out, "A3 BAD Command Error. 12\r\n");
    let step = s1.on_message(b"\xff\xfe\r\n");
    assert_eq!(step.out, "* BAD Command Error. 12\r\n");
}

#[test]
fn gmail_challenge_mode() {
    let mut config = Config::demo();
    config.server.xoauth2_error_challenge = true;
    let mut s1 = session_with(&config, true);
    s(
        &mut s1,
        &format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", "bad")
        ),
        "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n",
    );
    s(
        &mut s1,
        "",
        "A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n",
    );
}

#[test]
fn oauthbearer_mode() {
    let mut config = Config::demo();
    config.server.oauthbearer = true;
    let mut s1 = session_with(&config, true);
    let (out, _) = c(&mut s1, "A0 CAPABILITY");
    assert!(
        out.contains("AUTH=XOAUTH2 AUTH=OAUTHBEARER SASL-IR"),
        "{out}"
    );
    let bad = STANDARD.encode(
        "n,a=alice@contoso.example,\x01host=localhost\x01port=993\x01auth=Bearer bad\x01\x01",
    );
    let (out, _) = c(&mut s1, &format!("A1 AUTHENTICATE OAUTHBEARER {bad}"));
    let challenge = out
        .strip_prefix("+ ")
        .and_then(|b| b.strip_suffix("\r\n"))
        .expect("a challenge line");
    let json = STANDARD.decode(challenge).expect("base64");
    assert_eq!(json, sasl::OAUTHBEARER_ERROR_JSON.as_bytes());
    s(&mut s1, "AQ==", "A1 NO AUTHENTICATE failed.\r\n");
    let good = STANDARD.encode(format!(
        "n,a=sales@contoso.example,\x01auth=Bearer {}\x01\x01",
        *ALICE
    ));
    s(&mut s1, "A2 AUTHENTICATE OAUTHBEARER", "+\r\n");
    s(&mut s1, &good, "A2 OK AUTHENTICATE completed.\r\n");
    let (out, _) = c(&mut s1, "A3 LIST \"\" Angebote/*");
    assert_eq!(
        out,
        "* LIST (\\HasNoChildren) \"/\" Angebote/2026\r\nA3 OK LIST completed.\r\n"
    );
}

#[test]
fn command_log_has_names_only() {
    let config = Config::demo();
    let log = CommandLog::default();
    let ctx = Arc::new(Context::new(&config, log.clone()));
    let mut s1 = Session::new(ctx, false, true);
    c(&mut s1, "A1 CAPABILITY");
    c(&mut s1, "A2 STARTTLS");
    s1.tls_established();
    let secret = xoauth2("alice@contoso.example", &ALICE);
    c(&mut s1, &format!("A3 AUTHENTICATE XOAUTH2 {secret}"));
    c(&mut s1, "A4 LIST \"\" *");
    c(&mut s1, "A5 UID FETCH 1 FLAGS");
    c(&mut s1, "A6 BLAH secret-argument");
    c(&mut s1, "A7 AUTHENTICATE XOAUTH2 ###");
    assert_eq!(
        log.snapshot(),
        [
            "IMAP CAPABILITY",
            "IMAP STARTTLS",
            "IMAP AUTHENTICATE XOAUTH2",
            "IMAP LIST",
            "IMAP UID FETCH",
            "IMAP BLAH (malformed)",
            "IMAP AUTHENTICATE XOAUTH2",
        ]
    );
}

#[test]
fn random_input_never_panics() {
    // Deterministic xorshift; mixes raw noise with IMAP-looking fragments in every state.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: [&[u8]; 14] = [
        b"A1 ",
        b"AUTHENTICATE ",
        b"XOAUTH2 ",
        b"OAUTHBEARER ",
        b"LIST ",
        b"\"\" ",
        b"* ",
        b"{3}\r\nabc",
        b"SELECT ",
        b"&AMQ-",
        b"\x01",
        b"=",
        b"*",
        b"STATUS Inbox (MESSAGES)",
    ];
    let mut config = Config::demo();
    config.server.oauthbearer = true;
    for round in 0..2_000 {
        config.server.xoauth2_error_challenge = round % 2 == 0;
        let mut s1 = session_with(&config, round % 3 != 0);
        if round % 5 == 0 {
            c(
                &mut s1,
                &format!(
                    "A AUTHENTICATE XOAUTH2 {}",
                    xoauth2("alice@contoso.example", &ALICE)
                ),
            );
        }
        for _ in 0..8 {
            let mut msg = Vec::new();
            for _ in 0..(next() % 6) {
                let r = next();
                if r % 3 == 0 {
                    msg.extend((0..(r % 12)).map(|_| (next() & 0xff) as u8));
                } else {
                    msg.extend_from_slice(pieces[(r % pieces.len() as u64) as usize]);
                }
            }
            msg.extend_from_slice(b"\r\n");
            let step = s1.on_message(&msg);
            assert!(step.out.is_empty() || step.out.ends_with("\r\n"));
        }
    }
}

#[test]
fn search_reads_the_store() {
    let config = Config::demo();
    let ctx = Arc::new(Context::new(&config, CommandLog::default()));
    let mut s1 = Session::new(Arc::clone(&ctx), true, false);
    c(
        &mut s1,
        &format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", &ALICE)
        ),
    );
    s(
        &mut s1,
        "A2 SEARCH ALL",
        "A2 BAD Command received in Invalid state.\r\n",
    );
    // RFC 3501: INBOX in any case is the Inbox.
    let (out, _) = c(&mut s1, "A3 EXAMINE inbox");
    assert!(out.starts_with("* 3 EXISTS\r\n"), "{out}");
    s(
        &mut s1,
        "A4 SEARCH ALL",
        "* SEARCH 1 2 3\r\nA4 OK SEARCH completed.\r\n",
    );
    s(
        &mut s1,
        "A5 SEARCH HEADER Message-ID \"<seed-2-inbox@mock.contoso.example>\"",
        "* SEARCH 2\r\nA5 OK SEARCH completed.\r\n",
    );
    s(
        &mut s1,
        "A6 SEARCH header message-id <SEED-3-INBOX@mock.contoso.example>",
        "* SEARCH 3\r\nA6 OK SEARCH completed.\r\n",
    );
    s(
        &mut s1,
        "A7 SEARCH HEADER Message-ID nope",
        "* SEARCH\r\nA7 OK SEARCH completed.\r\n",
    );
    s(
        &mut s1,
        "A8 SEARCH UNSEEN",
        "A8 NO Command not implemented by xoauth-mock.\r\n",
    );

    // Mail delivered meanwhile is counted and found.
    let raw = b"Message-ID: <new@x>\r\n\r\nhi\r\n".to_vec();
    assert_eq!(
        ctx.store
            .deliver(&["alice@contoso.example"], &raw, "<new@x>"),
        Ok(1)
    );
    s(
        &mut s1,
        "A9 UID SEARCH HEADER Message-ID <new@x>",
        "* SEARCH 4\r\nA9 OK SEARCH completed.\r\n",
    );
    s(
        &mut s1,
        "B1 STATUS INBOX (MESSAGES UIDNEXT)",
        "* STATUS Inbox (MESSAGES 4 UIDNEXT 5)\r\nB1 OK STATUS completed.\r\n",
    );
    let (out, _) = c(&mut s1, "B2 SELECT INBOX");
    assert!(out.starts_with("* 4 EXISTS\r\n"), "{out}");
    assert!(out.contains("* OK [UIDNEXT 5] "), "{out}");
}

#[test]
fn imap_disabled_is_authenticated_but_not_connected() {
    let mut config = Config::demo();
    config.mailboxes[0].imap_enabled = false;
    let mut s1 = session_with(&config, true);
    s(
        &mut s1,
        &format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", &ALICE)
        ),
        "A1 OK AUTHENTICATE completed.\r\n",
    );
    let (out, next) = c(&mut s1, "A2 LIST \"\" *");
    assert_eq!(
        out,
        "A2 BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n"
    );
    assert_eq!(next, Next::Close);
}
