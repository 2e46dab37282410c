//! End-to-end POP3 dialogues against the in-process mock, over real TCP and TLS, with a raw
//! tokio-rustls client that trusts only the mock's CA. Each test reads like C:/S: lines.

mod common;

use common::{Client, alice, carol, start, xoauth2};
use xoauth_mock::{Config, MockServer};

const FAILED: &str = "-ERR Authentication failure: unknown user name or bad password.";
const SIGNING_OFF: &str = "+OK Microsoft Exchange Server POP3 server signing off.";

async fn greeting(client: &mut Client) {
    let line = client.line().await;
    let backend =
        common::backend_name(&line, "+OK The Microsoft Exchange POP3 service is ready. [");
    assert_eq!(backend, "MOCK01.outlook.office365.com");
}

/// Connects to the implicit-TLS listener and checks the greeting.
async fn pop3s(server: &MockServer) -> Client {
    let mut client = Client::tls(server, server.pop3s_addr()).await;
    greeting(&mut client).await;
    client
}

/// AUTH XOAUTH2 in two steps, as Exchange requires.
async fn auth(c: &mut Client, user: &str, token: &str, expected: &str) {
    c.c("AUTH XOAUTH2").await;
    c.s("+").await;
    c.c(&xoauth2(user, token)).await;
    c.s(expected).await;
}

#[tokio::test]
async fn stls_capa_and_two_step_auth() {
    let server = start(Config::demo()).await;
    let mut plain = Client::plain(server.pop3_starttls_addr()).await;
    greeting(&mut plain).await;
    plain.c("CAPA").await;
    assert_eq!(
        plain.until_dot().await,
        ["+OK", "TOP", "UIDL", "STLS", "USER", "."]
    );
    plain.c("AUTH XOAUTH2").await;
    plain.s("-ERR Command is not valid in this state.").await;
    plain.c("STLS").await;
    plain.s("+OK Begin TLS negotiation.").await;

    let mut c = plain.starttls(&server).await;
    c.c("CAPA").await;
    assert_eq!(
        c.until_dot().await,
        ["+OK", "TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER", "."]
    );
    c.c("STLS").await;
    c.s("-ERR Command is not valid in this state.").await;
    auth(
        &mut c,
        "alice@contoso.example",
        &alice(&server),
        "+OK User successfully authenticated.",
    )
    .await;
    c.c("STAT").await;
    let stat = c.line().await;
    assert!(stat.starts_with("+OK 3 "), "{stat}");
    c.c("QUIT").await;
    c.s(SIGNING_OFF).await;
    c.closed().await;
    assert_eq!(
        server.command_log(),
        [
            "POP3 CAPA",
            "POP3 AUTH XOAUTH2",
            "POP3 STLS",
            "POP3 CAPA",
            "POP3 STLS",
            "POP3 AUTH XOAUTH2",
            "POP3 STAT",
            "POP3 QUIT",
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn stls_disabled_is_not_offered() {
    let mut config = Config::demo();
    config.server.starttls = false;
    let server = start(config).await;
    let mut c = Client::plain(server.pop3_starttls_addr()).await;
    greeting(&mut c).await;
    c.c("CAPA").await;
    assert_eq!(c.until_dot().await, ["+OK", "TOP", "UIDL", "USER", "."]);
    c.c("STLS").await;
    c.s("-ERR Protocol error. 14").await;
    server.shutdown().await;
}

#[tokio::test]
async fn auth_failures_are_exchange_style() {
    let server = start(Config::demo()).await;
    let mut c = pop3s(&server).await;
    c.c("STAT").await;
    c.s("-ERR Command is not valid in this state.").await;
    // Exchange refuses an initial response on the AUTH line.
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    c.s("-ERR Protocol error. 14").await;
    // Bad token; no FullAccess on payroll; POP disabled for carol.
    auth(&mut c, "alice@contoso.example", "expired-token", FAILED).await;
    auth(&mut c, "payroll@contoso.example", &alice(&server), FAILED).await;
    auth(&mut c, "carol@contoso.example", &carol(&server), FAILED).await;
    // The session is still usable.
    auth(
        &mut c,
        "sales@contoso.example",
        &alice(&server),
        "+OK User successfully authenticated.",
    )
    .await;
    c.c("STAT").await;
    let stat = c.line().await;
    assert!(stat.starts_with("+OK 5 "), "{stat}");
    let log = server.command_log();
    assert!(log.iter().all(|l| !l.contains(&alice(&server))));
    assert_eq!(log.iter().filter(|l| *l == "POP3 AUTH XOAUTH2").count(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn retr_list_uidl_top() {
    let server = start(Config::demo()).await;
    let mut c = pop3s(&server).await;
    auth(
        &mut c,
        "alice@contoso.example",
        &alice(&server),
        "+OK User successfully authenticated.",
    )
    .await;
    let ids = server.message_ids("alice@contoso.example", "Inbox");
    let raw = server
        .message("alice@contoso.example", &ids[0])
        .expect("seeded");
    c.c("LIST").await;
    let list = c.until_dot().await;
    assert_eq!(list.len(), 5);
    assert_eq!(list[1], format!("1 {}", raw.len()));
    c.c("UIDL").await;
    assert_eq!(c.until_dot().await, ["+OK", "1 1", "2 2", "3 3", "."]);
    c.c("RETR 1").await;
    let mut lines = c.until_dot().await;
    assert_eq!(lines.remove(0), "+OK");
    assert_eq!(lines.pop().as_deref(), Some("."));
    assert!(lines.contains(&"..This line starts with a dot.".to_owned()));
    // Un-stuffed, the lines are the stored message.
    let back: String = lines
        .iter()
        .map(|l| format!("{}\r\n", l.strip_prefix('.').unwrap_or(l)))
        .collect();
    assert_eq!(back.as_bytes(), &raw[..]);
    c.c("TOP 1 0").await;
    let top = c.until_dot().await;
    assert!(top.contains(&format!("Message-ID: {}", ids[0])));
    assert_eq!(top[top.len() - 2], "");
    c.c("RETR 9").await;
    c.s("-ERR The specified message is out of range.").await;
    c.c("QUIT").await;
    c.s(SIGNING_OFF).await;
    server.shutdown().await;
}

#[tokio::test]
async fn dele_is_applied_at_quit_only() {
    let server = start(Config::demo()).await;
    let before = server.message_ids("alice@contoso.example", "Inbox");
    assert_eq!(before.len(), 3);

    // DELE then drop the connection: nothing changes (RFC 1939 §6).
    let mut c = pop3s(&server).await;
    auth(
        &mut c,
        "alice@contoso.example",
        &alice(&server),
        "+OK User successfully authenticated.",
    )
    .await;
    c.c("DELE 1").await;
    c.s("+OK").await;
    drop(c);

    // DELE, RSET, DELE another, QUIT: only that one is gone.
    let mut c = pop3s(&server).await;
    auth(
        &mut c,
        "alice@contoso.example",
        &alice(&server),
        "+OK User successfully authenticated.",
    )
    .await;
    c.c("DELE 1").await;
    c.s("+OK").await;
    c.c("RSET").await;
    c.s("+OK").await;
    c.c("DELE 2").await;
    c.s("+OK").await;
    c.c("STAT").await;
    assert!(c.line().await.starts_with("+OK 2 "));
    assert_eq!(server.message_ids("alice@contoso.example", "Inbox"), before);
    c.c("QUIT").await;
    c.s(SIGNING_OFF).await;
    c.closed().await;
    assert_eq!(
        server.message_ids("alice@contoso.example", "Inbox"),
        [before[0].clone(), before[2].clone()]
    );

    let mut c = pop3s(&server).await;
    auth(
        &mut c,
        "alice@contoso.example",
        &alice(&server),
        "+OK User successfully authenticated.",
    )
    .await;
    c.c("STAT").await;
    assert!(c.line().await.starts_with("+OK 2 "));
    c.c("QUIT").await;
    c.s(SIGNING_OFF).await;
    let log = server.command_log();
    assert!(log.contains(&"POP3 DELE".to_owned()) && log.contains(&"POP3 STAT".to_owned()));
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_line_is_refused_and_closed() {
    let server = start(Config::demo()).await;
    let mut c = pop3s(&server).await;
    c.send_raw(&vec![b'A'; 70 * 1024]).await;
    c.s("-ERR Command too long.").await;
    c.closed().await;
    server.shutdown().await;
}
