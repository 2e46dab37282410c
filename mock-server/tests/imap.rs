//! End-to-end IMAP dialogues against the in-process mock, over real TCP and TLS, with a raw
//! tokio-rustls client that trusts only the mock's CA. Each test reads like C:/S: lines.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use xoauth_mock::{Config, MockError, MockServer};

const ALICE_TOKEN: &str = "mock-access-token-alice-0001";
const BOB_TOKEN: &str = "mock-access-token-bob-0002";
const TIMEOUT: Duration = Duration::from_secs(5);

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A line-oriented raw IMAP client.
struct Client {
    io: BufReader<Pin<Box<dyn Io>>>,
}

impl Client {
    fn new(io: impl Io + 'static) -> Client {
        Client {
            io: BufReader::new(Box::pin(io)),
        }
    }

    /// C: `line`
    async fn c(&mut self, line: &str) {
        let bytes = format!("{line}\r\n");
        self.send_raw(bytes.as_bytes()).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        let io = self.io.get_mut();
        io.write_all(bytes).await.expect("write");
        io.flush().await.expect("flush");
    }

    /// S: one line, with its CRLF checked and stripped.
    async fn line(&mut self) -> String {
        let mut line = String::new();
        let n = tokio::time::timeout(TIMEOUT, self.io.read_line(&mut line))
            .await
            .expect("server answered in time")
            .expect("read");
        assert!(n > 0, "server closed the connection, expected a line");
        line.strip_suffix("\r\n")
            .unwrap_or_else(|| panic!("line not CRLF-terminated: {line:?}"))
            .to_owned()
    }

    /// S: exactly `expected`.
    async fn s(&mut self, expected: &str) {
        assert_eq!(self.line().await, expected);
    }

    /// S: lines up to and including the one starting with `tag `.
    async fn until_tagged(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// The server closes the connection (EOF) without sending more.
    async fn closed(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(TIMEOUT, self.io.read_to_end(&mut rest))
            .await
            .expect("server closed in time");
        // A TLS peer may see a reset instead of close_notify; both mean closed.
        if read.is_ok() {
            assert!(
                rest.is_empty(),
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(&rest)
            );
        }
    }
}

fn connector(server: &MockServer) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(server.ca_der())
        .expect("mock CA is a valid trust anchor");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn tls_over(server: &MockServer, tcp: TcpStream, name: &str) -> Client {
    let name = ServerName::try_from(name.to_owned()).expect("server name");
    let tls = connector(server)
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the mock CA");
    Client::new(tls)
}

/// Connects to the implicit-TLS listener and checks the greeting.
async fn imaps(server: &MockServer) -> Client {
    let tcp = TcpStream::connect(server.imaps_addr())
        .await
        .expect("connect");
    let mut client = tls_over(server, tcp, "localhost").await;
    greeting(&mut client).await;
    client
}

async fn greeting(client: &mut Client) {
    let line = client.line().await;
    let b64 = line
        .strip_prefix("* OK The Microsoft Exchange IMAP4 service is ready. [")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not an Exchange greeting: {line}"));
    let utf16le = STANDARD.decode(b64).expect("greeting carries base64");
    let units: Vec<u16> = utf16le
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let backend = String::from_utf16(&units).expect("UTF-16LE backend name");
    assert_eq!(backend, "MOCK01.outlook.office365.com");
}

async fn start(config: Config) -> MockServer {
    MockServer::start(config).await.expect("mock starts")
}

fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

#[tokio::test]
async fn greeting_and_capability() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c("A0 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A0 OK CAPABILITY completed.").await;
    c.c("A1 NOOP").await;
    c.s("A1 OK NOOP completed.").await;
    c.c("A2 LOGOUT").await;
    c.s("* BYE Microsoft Exchange Server IMAP4 server signing off.")
        .await;
    c.s("A2 OK LOGOUT completed.").await;
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn sasl_ir_success_then_post_auth_capability() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", ALICE_TOKEN)
    ))
    .await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A2 OK CAPABILITY completed.").await;
    c.c("A3 LIST \"\" \"*\"").await;
    assert_eq!(
        c.until_tagged("A3").await,
        [
            "* LIST (\\HasNoChildren) \"/\" Inbox",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"",
            "* LIST (\\HasNoChildren \\Trash) \"/\" \"Deleted Items\"",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk Email\"",
            "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe",
            "* LIST (\\HasNoChildren) \"/\" \"&AMQ-rger &- Co\"",
            "* LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-",
            "A3 OK LIST completed.",
        ]
    );
    c.c("A4 EXAMINE INBOX").await;
    assert_eq!(
        c.until_tagged("A4").await,
        [
            "* 3 EXISTS",
            "* 0 RECENT",
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)",
            "* OK [PERMANENTFLAGS ()] Permanent flags",
            "* OK [UIDVALIDITY 14] UIDVALIDITY value",
            "* OK [UIDNEXT 4] The next unique identifier value",
            "A4 OK [READ-ONLY] EXAMINE completed.",
        ]
    );
    let log = server.command_log();
    assert_eq!(
        log,
        [
            "IMAP AUTHENTICATE XOAUTH2",
            "IMAP CAPABILITY",
            "IMAP LIST",
            "IMAP EXAMINE"
        ]
    );
    assert!(log.iter().all(|l| !l.contains(ALICE_TOKEN)));
    server.shutdown().await;
}

#[tokio::test]
async fn two_step_success_with_bare_plus() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c("A1 AUTHENTICATE XOAUTH2").await;
    c.s("+").await;
    c.c(&xoauth2("bob@contoso.example", BOB_TOKEN)).await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 NAMESPACE").await;
    c.s("* NAMESPACE ((\"\" \"/\")) NIL NIL").await;
    c.s("A2 OK NAMESPACE completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn bad_token_is_refused_exchange_style() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", "expired-token")
    ))
    .await;
    c.s("A1 NO AUTHENTICATE failed.").await;
    c.c("A2 AUTHENTICATE XOAUTH2 not!base64").await;
    c.s("A2 NO AUTHENTICATE failed.").await;
    c.c("A3 LOGIN alice password").await;
    c.s("A3 NO LOGIN failed.").await;
    // Still not authenticated.
    c.c("A4 LIST \"\" *").await;
    c.s("A4 BAD Command received in Invalid state.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn shared_mailbox_with_full_access_lists() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("sales@contoso.example", ALICE_TOKEN)
    ))
    .await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 LIST \"\" \"*\"").await;
    c.s("* LIST (\\HasNoChildren) \"/\" Inbox").await;
    c.s("* LIST (\\HasChildren) \"/\" Angebote").await;
    c.s("* LIST (\\HasNoChildren) \"/\" Angebote/2026").await;
    c.s("A2 OK LIST completed.").await;
    c.c("A3 SELECT Inbox").await;
    let lines = c.until_tagged("A3").await;
    assert_eq!(lines[0], "* 5 EXISTS");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("A3 OK [READ-WRITE] SELECT completed.")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn mailbox_without_permission_is_authenticated_but_not_connected() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("payroll@contoso.example", ALICE_TOKEN)
    ))
    .await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 LIST \"\" \"*\"").await;
    c.s("A2 BAD User is authenticated but not connected.").await;
    c.s("* BYE Connection closed. 14").await;
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn starttls_path() {
    let server = start(Config::demo()).await;
    let tcp = TcpStream::connect(server.imap_starttls_addr())
        .await
        .expect("connect");
    let mut plain = Client::new(tcp);
    greeting(&mut plain).await;
    plain.c("A0 CAPABILITY").await;
    plain.s("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    plain.s("A0 OK CAPABILITY completed.").await;
    plain
        .c(&format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", ALICE_TOKEN)
        ))
        .await;
    plain.s("A1 BAD Command received in Invalid state.").await;
    plain.c("A2 STARTTLS").await;
    plain.s("A2 OK Begin TLS negotiation now.").await;

    // The server sent nothing after the OK, so the reader holds no buffered bytes.
    assert!(plain.io.buffer().is_empty());
    let mut c = tls_over_boxed(&server, plain.io.into_inner()).await;
    c.c("A3 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A3 OK CAPABILITY completed.").await;
    c.c("A4 STARTTLS").await;
    c.s("A4 BAD Command Error. 12").await;
    c.c(&format!(
        "A5 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", ALICE_TOKEN)
    ))
    .await;
    c.s("A5 OK AUTHENTICATE completed.").await;
    assert_eq!(
        server.command_log(),
        [
            "IMAP CAPABILITY",
            "IMAP AUTHENTICATE XOAUTH2",
            "IMAP STARTTLS",
            "IMAP CAPABILITY",
            "IMAP STARTTLS",
            "IMAP AUTHENTICATE XOAUTH2",
        ]
    );
    server.shutdown().await;
}

async fn tls_over_boxed(server: &MockServer, io: Pin<Box<dyn Io>>) -> Client {
    let name = ServerName::try_from("localhost").expect("server name");
    let tls = connector(server)
        .connect(name, io)
        .await
        .expect("TLS handshake after STARTTLS");
    Client::new(tls)
}

#[tokio::test]
async fn starttls_disabled_is_not_offered() {
    let mut config = Config::demo();
    config.server.starttls = false;
    let server = start(config).await;
    let tcp = TcpStream::connect(server.imap_starttls_addr())
        .await
        .expect("connect");
    let mut c = Client::new(tcp);
    greeting(&mut c).await;
    c.c("A0 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A0 OK CAPABILITY completed.").await;
    c.c("A1 STARTTLS").await;
    c.s("A1 BAD Command Error. 12").await;
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_commands_get_bad() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c("A1 FROBNICATE now").await;
    c.s("A1 BAD Command Error. 12").await;
    c.c("))) garbage").await;
    c.s("* BAD Command Error. 12").await;
    c.send_raw(b"\x00\xff\xfe\r\n").await;
    c.s("* BAD Command Error. 12").await;
    c.c("A2 SELECT").await;
    c.s("A2 BAD Command Error. 12").await;
    // A synchronizing literal is accepted with a continuation request.
    c.c("A3 EXAMINE {5}").await;
    c.s("+ Ready for additional command text.").await;
    c.c("INBOX").await;
    c.s("A3 BAD Command received in Invalid state.").await;
    // The session still works.
    c.c("A4 NOOP").await;
    c.s("A4 OK NOOP completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_command_is_refused_and_closed() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    let huge = vec![b'A'; 70 * 1024];
    c.send_raw(&huge).await;
    c.s("* BYE Command too long.").await;
    c.closed().await;

    let mut c = imaps(&server).await;
    c.c("A1 LOGIN {1000000}").await;
    c.s("* BYE Command too long.").await;
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn gmail_style_error_challenge() {
    let mut config = Config::demo();
    config.server.xoauth2_error_challenge = true;
    let server = start(config).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", "bad")
    ))
    .await;
    c.s("+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==").await;
    c.c("").await;
    c.s("A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")
        .await;
    // A good token still works afterwards.
    c.c(&format!(
        "A2 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", ALICE_TOKEN)
    ))
    .await;
    c.s("A2 OK AUTHENTICATE completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn oauthbearer_error_challenge_and_success() {
    let mut config = Config::demo();
    config.server.oauthbearer = true;
    let server = start(config).await;
    let mut c = imaps(&server).await;
    c.c("A0 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A0 OK CAPABILITY completed.").await;

    let port = server.imaps_addr().port();
    let bad = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01host=localhost\x01port={port}\x01auth=Bearer bad\x01\x01"
    ));
    c.c(&format!("A1 AUTHENTICATE OAUTHBEARER {bad}")).await;
    let challenge = c.line().await;
    let json = STANDARD
        .decode(challenge.strip_prefix("+ ").expect("challenge"))
        .expect("base64 challenge");
    assert_eq!(
        String::from_utf8(json).expect("UTF-8"),
        r#"{"status":"invalid_token","scope":"https://outlook.office.com/IMAP.AccessAsUser.All","openid-configuration":"https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"}"#
    );
    c.c("AQ==").await;
    c.s("A1 NO AUTHENTICATE failed.").await;

    let good = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01host=localhost\x01port={port}\x01auth=Bearer {ALICE_TOKEN}\x01\x01"
    ));
    c.c(&format!("A2 AUTHENTICATE OAUTHBEARER {good}")).await;
    c.s("A2 OK AUTHENTICATE completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn oauthbearer_is_refused_when_not_advertised() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    let msg = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01auth=Bearer {ALICE_TOKEN}\x01\x01"
    ));
    c.c(&format!("A1 AUTHENTICATE OAUTHBEARER {msg}")).await;
    c.s("A1 NO AUTHENTICATE failed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn idle_timeout_closes_the_connection() {
    let mut config = Config::demo();
    config.server.idle_timeout_secs = 1;
    let server = start(config).await;
    let mut c = imaps(&server).await;
    let started = std::time::Instant::now();
    c.s("* BYE Connection is closed. 13").await;
    assert!(started.elapsed() < Duration::from_secs(3));
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn serves_many_connections_concurrently() {
    let server = Arc::new(start(Config::demo()).await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let server = Arc::clone(&server);
        tasks.push(tokio::spawn(async move {
            let mut c = imaps(&server).await;
            c.c(&format!("T{i} NOOP")).await;
            c.s(&format!("T{i} OK NOOP completed.")).await;
            c.c(&format!("U{i} LOGOUT")).await;
            c.until_tagged(&format!("U{i}")).await;
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
    let log = server.command_log();
    assert_eq!(log.iter().filter(|l| *l == "IMAP NOOP").count(), 20);
}

#[tokio::test]
async fn shutdown_ends_open_sessions_and_listeners() {
    let server = start(Config::demo()).await;
    let addr = server.imaps_addr();
    let mut c = imaps(&server).await;
    server.shutdown().await;
    c.closed().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener still accepting"
    );
}

#[tokio::test]
async fn invalid_config_is_refused_at_start() {
    let mut config = Config::demo();
    config.tokens[0].principal = "ghost@contoso.example".to_owned();
    match MockServer::start(config).await {
        Err(MockError::Config(e)) => assert!(e.to_string().contains("ghost@contoso.example")),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn ca_pem_matches_ca_der() {
    let server = start(Config::demo()).await;
    let pem = server.ca_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).expect("PEM body is base64");
    assert_eq!(der, server.ca_der().as_ref());
    server.shutdown().await;
}
