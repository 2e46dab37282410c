//! Known-answer dialogues for the POP3 state machine, C:/S: as on the wire.

use std::sync::LazyLock;

use super::*;
use crate::command_log::CommandLog;
use crate::config::Config;
use crate::idp::mint::TokenSpec;
use crate::idp::test_token;

static ALICE: LazyLock<String> =
    LazyLock::new(|| test_token(&TokenSpec::user("alice@contoso.example")));
static CAROL: LazyLock<String> =
    LazyLock::new(|| test_token(&TokenSpec::user("carol@contoso.example")));
const FAILED: &str = "-ERR Authentication failure: unknown user name or bad password.\r\n";

fn session_with(config: &Config, tls: bool) -> (Session, Arc<Context>) {
    let ctx = Arc::new(Context::new(config, CommandLog::default()));
    (
        Session::new(Arc::clone(&ctx), tls, config.server.starttls),
        ctx,
    )
}

fn tls_session() -> Session {
    session_with(&Config::demo(), true).0
}

fn c(session: &mut Session, line: &str) -> (String, Next) {
    let step = session.on_line(line.as_bytes());
    (String::from_utf8_lossy(&step.out).into_owned(), step.next)
}

fn s(session: &mut Session, line: &str, expected: &str) {
    assert_eq!(c(session, line).0, expected, "C: {line}");
}

fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

fn signed_in(user: &str, token: &str) -> (Session, Arc<Context>) {
    let (mut s1, ctx) = session_with(&Config::demo(), true);
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(
        &mut s1,
        &xoauth2(user, token),
        "+OK User successfully authenticated.\r\n",
    );
    (s1, ctx)
}

#[test]
fn greeting_and_capa() {
    let mut s1 = tls_session();
    let g = String::from_utf8(s1.greeting()).expect("ASCII");
    assert!(g.starts_with("+OK The Microsoft Exchange POP3 service is ready. ["));
    assert!(g.ends_with("]\r\n"));
    s(
        &mut s1,
        "CAPA",
        "+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n",
    );
    let (mut plain, _) = session_with(&Config::demo(), false);
    s(
        &mut plain,
        "CAPA",
        "+OK\r\nTOP\r\nUIDL\r\nSTLS\r\nUSER\r\n.\r\n",
    );
    s(
        &mut plain,
        "AUTH XOAUTH2",
        "-ERR Command is not valid in this state.\r\n",
    );
    s(
        &mut plain,
        "USER alice",
        "-ERR Command is not valid in this state.\r\n",
    );
    let (out, next) = c(&mut plain, "STLS");
    assert_eq!(out, "+OK Begin TLS negotiation.\r\n");
    assert_eq!(next, Next::StartTls);
    plain.tls_established();
    s(
        &mut plain,
        "STLS",
        "-ERR Command is not valid in this state.\r\n",
    );
    s(
        &mut plain,
        "CAPA",
        "+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n",
    );
    s(&mut s1, "STLS", "-ERR Protocol error. 14\r\n");

    let mut config = Config::demo();
    config.server.starttls = false;
    config.server.oauthbearer = true;
    let (mut plain, _) = session_with(&config, false);
    s(&mut plain, "CAPA", "+OK\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n");
    s(&mut plain, "STLS", "-ERR Protocol error. 14\r\n");
    let (mut tls, _) = session_with(&config, true);
    let (out, _) = c(&mut tls, "CAPA");
    assert!(out.contains("SASL PLAIN XOAUTH2 OAUTHBEARER\r\n"), "{out}");
}

#[test]
fn auth_paths() {
    let mut s1 = tls_session();
    s(
        &mut s1,
        "STAT",
        "-ERR Command is not valid in this state.\r\n",
    );
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("alice@contoso.example", &ALICE)),
        "-ERR Protocol error. 14\r\n",
    );
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(
        &mut s1,
        &xoauth2("alice@contoso.example", "expired"),
        FAILED,
    );
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(&mut s1, "not base64!", FAILED);
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(&mut s1, "*", "-ERR Authentication cancelled.\r\n");
    // No FullAccess on payroll; POP disabled for carol.
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(&mut s1, &xoauth2("payroll@contoso.example", &ALICE), FAILED);
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(&mut s1, &xoauth2("carol@contoso.example", &CAROL), FAILED);
    s(&mut s1, "AUTH CRAM-MD5", "-ERR Protocol error. 14\r\n");
    s(&mut s1, "AUTH OAUTHBEARER", "-ERR Protocol error. 14\r\n");
    s(&mut s1, "AUTH PLAIN", "+\r\n");
    s(&mut s1, "AGFsaWNlAHB3", FAILED);
    s(&mut s1, "USER alice", "+OK\r\n");
    s(&mut s1, "PASS secret", FAILED);
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(
        &mut s1,
        &xoauth2("sales@contoso.example", &ALICE),
        "+OK User successfully authenticated.\r\n",
    );
    s(&mut s1, "STAT", "+OK 5 1955\r\n");
    s(
        &mut s1,
        "AUTH XOAUTH2",
        "-ERR Command is not valid in this state.\r\n",
    );
}

#[test]
fn gmail_and_oauthbearer_challenges() {
    let mut config = Config::demo();
    config.server.xoauth2_error_challenge = true;
    config.server.oauthbearer = true;
    let (mut s1, _) = session_with(&config, true);
    s(&mut s1, "AUTH XOAUTH2", "+\r\n");
    s(
        &mut s1,
        &xoauth2("alice@contoso.example", "bad"),
        "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n",
    );
    s(&mut s1, "", "-ERR [AUTH] Invalid credentials.\r\n");
    let bad = STANDARD.encode("n,a=alice@contoso.example,\x01auth=Bearer bad\x01\x01");
    let (out, _) = c(&mut s1, &format!("AUTH OAUTHBEARER {bad}"));
    let json = STANDARD
        .decode(
            out.strip_prefix("+ ")
                .and_then(|o| o.strip_suffix("\r\n"))
                .expect("challenge"),
        )
        .expect("base64");
    assert_eq!(json, sasl::OAUTHBEARER_ERROR_JSON.as_bytes());
    s(&mut s1, "AQ==", FAILED);
    let good = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01auth=Bearer {}\x01\x01",
        *ALICE
    ));
    s(
        &mut s1,
        &format!("AUTH OAUTHBEARER {good}"),
        "+OK User successfully authenticated.\r\n",
    );
}

#[test]
fn transaction_commands() {
    let (mut s1, ctx) = signed_in("alice@contoso.example", &ALICE);
    let sizes: Vec<usize> = ctx
        .store
        .messages("alice@contoso.example", "Inbox")
        .iter()
        .map(|m| m.raw.len())
        .collect();
    let total: usize = sizes.iter().sum();
    s(&mut s1, "STAT", &format!("+OK 3 {total}\r\n"));
    s(
        &mut s1,
        "LIST",
        &format!(
            "+OK\r\n1 {}\r\n2 {}\r\n3 {}\r\n.\r\n",
            sizes[0], sizes[1], sizes[2]
        ),
    );
    s(&mut s1, "LIST 2", &format!("+OK 2 {}\r\n", sizes[1]));
    s(&mut s1, "UIDL", "+OK\r\n1 1\r\n2 2\r\n3 3\r\n.\r\n");
    s(
        &mut s1,
        "UIDL 4",
        "-ERR The specified message is out of range.\r\n",
    );
    s(
        &mut s1,
        "LIST 0",
        "-ERR The specified message is out of range.\r\n",
    );
    s(&mut s1, "NOOP", "+OK\r\n");

    let (out, _) = c(&mut s1, "RETR 1");
    assert!(out.starts_with("+OK\r\nFrom: Contoso Mock"), "{out}");
    assert!(out.contains("\r\nMessage-ID: <seed-1-inbox@mock.contoso.example>\r\n"));
    assert!(
        out.ends_with("\r\n..This line starts with a dot.\r\n.\r\n"),
        "{out}"
    );
    let (out, _) = c(&mut s1, "TOP 2 0");
    assert!(
        out.ends_with("Content-Transfer-Encoding: 8bit\r\n\r\n.\r\n"),
        "{out}"
    );
    let (out, _) = c(&mut s1, "TOP 2 1");
    assert!(
        out.ends_with(
            "\r\n\r\nSynthetic message 2 in folder \"Inbox\" of alice@contoso.example.\r\n.\r\n"
        ),
        "{out}"
    );

    s(&mut s1, "DELE 1", "+OK\r\n");
    s(
        &mut s1,
        "DELE 1",
        "-ERR The specified message has been deleted.\r\n",
    );
    s(
        &mut s1,
        "RETR 1",
        "-ERR The specified message has been deleted.\r\n",
    );
    s(
        &mut s1,
        "STAT",
        &format!("+OK 2 {}\r\n", sizes[1] + sizes[2]),
    );
    s(&mut s1, "UIDL", "+OK\r\n2 2\r\n3 3\r\n.\r\n");
    s(&mut s1, "RSET", "+OK\r\n");
    s(&mut s1, "STAT", &format!("+OK 3 {total}\r\n"));
    s(&mut s1, "DELE 3", "+OK\r\n");
    s(&mut s1, "RETR", "-ERR Protocol error. 14\r\n");
    s(&mut s1, "XTND XLST", "-ERR Protocol error. 14\r\n");
    // Nothing changes before QUIT.
    assert_eq!(
        ctx.store.counts("alice@contoso.example", "Inbox"),
        Some((3, 4))
    );
    let (out, next) = c(&mut s1, "QUIT");
    assert_eq!(
        out,
        "+OK Microsoft Exchange Server POP3 server signing off.\r\n"
    );
    assert_eq!(next, Next::Close);
    let ids: Vec<String> = ctx
        .store
        .messages("alice@contoso.example", "Inbox")
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(
        ids,
        [
            "<seed-1-inbox@mock.contoso.example>",
            "<seed-2-inbox@mock.contoso.example>"
        ]
    );
}

#[test]
fn command_log_has_names_only() {
    let config = Config::demo();
    let log = CommandLog::default();
    let ctx = Arc::new(Context::new(&config, log.clone()));
    let mut s1 = Session::new(ctx, true, false);
    c(&mut s1, "CAPA");
    c(&mut s1, "AUTH XOAUTH2");
    c(&mut s1, &xoauth2("alice@contoso.example", &ALICE));
    c(&mut s1, "STAT");
    c(&mut s1, "RETR 1");
    c(&mut s1, "DELE 1");
    c(&mut s1, "FROB secret-argument");
    c(&mut s1, "\u{1}");
    c(&mut s1, "QUIT");
    assert_eq!(
        log.snapshot(),
        [
            "POP3 CAPA",
            "POP3 AUTH XOAUTH2",
            "POP3 STAT",
            "POP3 RETR",
            "POP3 DELE",
            "POP3 FROB (unknown)",
            "POP3 (malformed)",
            "POP3 QUIT",
        ]
    );
}

#[test]
fn too_long_and_idle() {
    let mut s1 = tls_session();
    let step = s1.on_too_long();
    assert_eq!(step.out, b"-ERR Command too long.\r\n");
    assert_eq!(step.next, Next::Close);
    assert_eq!(s1.on_idle_timeout(), b"-ERR Connection is closed. 13\r\n");
}

#[test]
fn random_input_never_panics() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: [&[u8]; 12] = [
        b"AUTH ",
        b"XOAUTH2",
        b"RETR ",
        b"TOP ",
        b"DELE ",
        b"LIST",
        b"1",
        b"0",
        b" ",
        b"4294967295",
        b"*",
        b"STAT",
    ];
    for round in 0..1_000 {
        let (mut s1, _) = if round % 2 == 0 {
            signed_in("alice@contoso.example", &ALICE)
        } else {
            session_with(&Config::demo(), round % 3 == 0)
        };
        for _ in 0..8 {
            let mut line = Vec::new();
            for _ in 0..(next() % 5) {
                let r = next();
                if r % 4 == 0 {
                    line.extend((0..(r % 8)).map(|_| (next() & 0xff) as u8));
                } else {
                    line.extend_from_slice(pieces[(r % pieces.len() as u64) as usize]);
                }
            }
            let step = s1.on_line(&line);
            assert!(step.out.is_empty() || step.out.ends_with(b"\r\n"));
        }
    }
}
