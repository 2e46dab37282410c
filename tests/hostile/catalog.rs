//! The rest of the catalog, for IMAP, POP3 and SMTP where the case applies: silence, a TLS
//! handshake that never finishes, an overlong line, binary garbage, endless capability lists,
//! a SASL continuation loop, a connection closed mid-reply, BYE at every stage, data sent
//! between the STARTTLS answer and the handshake, and a server that speaks only TLS 1.0/1.1. Timeouts are 2 s, so each case ends within
//! seconds; memory is bounded at 100 MiB resident.

use std::future::Future;
use std::time::Duration;

use super::server::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum P {
    Imap,
    Pop,
    Smtp,
}

const ALL: [P; 3] = [P::Imap, P::Pop, P::Smtp];

impl P {
    fn args(self, server: &Hostile, starttls: bool) -> Vec<String> {
        let (sub, tls_flag) = match self {
            P::Imap => ("imap", if starttls { Some("--starttls") } else { None }),
            P::Pop => ("pop", if starttls { Some("--starttls") } else { None }),
            P::Smtp => (
                "smtp",
                if starttls {
                    None
                } else {
                    Some("--implicit-tls")
                },
            ),
        };
        let mut extra = vec!["--timeout", "2", "--deadline", "10"];
        extra.extend(tls_flag);
        server.args(sub, &extra)
    }

    fn greeting(self) -> &'static str {
        match self {
            P::Imap => "* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] hostile ready\r\n",
            P::Pop => "+OK hostile POP3 ready\r\n",
            P::Smtp => "220 hostile.example ESMTP ready\r\n",
        }
    }

    /// The answer a well-behaved server gives to `line` (IMAP: tagged) before AUTH.
    fn answer(self, line: &str) -> String {
        let tag = line.split(' ').next().unwrap_or_default();
        let verb = match self {
            P::Imap => line.split(' ').nth(1).unwrap_or_default(),
            _ => tag,
        }
        .to_ascii_uppercase();
        match (self, verb.as_str()) {
            (P::Imap, "CAPABILITY") => {
                format!("* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n{tag} OK done\r\n")
            }
            (P::Imap, _) => format!("{tag} OK done\r\n"),
            (P::Pop, "CAPA") => "+OK\r\nSASL XOAUTH2\r\n.\r\n".into(),
            (P::Pop, "AUTH") => "+ \r\n".into(),
            (P::Pop, _) => "+OK\r\n".into(),
            (P::Smtp, "EHLO") => "250-hostile.example\r\n250 AUTH XOAUTH2\r\n".into(),
            (P::Smtp, "AUTH") => "235 2.7.0 ok\r\n".into(),
            (P::Smtp, _) => "250 ok\r\n".into(),
        }
    }
}

/// For POP3, answers an `AUTH` line with `-ERR` (a mechanism not offered), so that the client
/// asks CAPA next; false once the client has gone. Other lines and protocols pass.
async fn pop_refuses_auth(proto: P, peer: &mut Peer, line: &str) -> bool {
    if proto != P::Pop || !line.to_ascii_uppercase().starts_with("AUTH ") {
        return true;
    }
    peer.send("-ERR Unrecognized authentication type\r\n").await && peer.line().await.is_some()
}

/// Starts one implicit-TLS server per protocol, runs the binary against each at once, and
/// checks the common bounds and the exit code `code(p)`; returns the runs for more checks.
async fn each<F, Fut>(
    protocols: &[P],
    tls: bool,
    script: F,
    code: impl Fn(P) -> i32,
) -> Vec<(P, Measured)>
where
    F: Fn(P, Peer) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut runs = Vec::new();
    for &p in protocols {
        let script = script.clone();
        let server = Hostile::start(tls, move |peer| script(p, peer)).await;
        let args = p.args(&server, false);
        runs.push(tokio::spawn(async move {
            let m = measure(&args, Duration::from_secs(30)).await;
            drop(server);
            (p, m)
        }));
    }
    let mut out = Vec::new();
    for r in runs {
        let (p, m) = r.await.unwrap();
        eprintln!(
            "  {p:?}: exit {} in {:.1}s, peak {} KiB",
            m.code,
            m.elapsed.as_secs_f32(),
            m.peak_kib
        );
        assert_contained(&m, code(p), 8.0, 100);
        out.push((p, m));
    }
    out
}

fn kind(m: &Measured) -> String {
    m.json()["failure"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_greeting_that_never_comes() {
    let runs = each(&ALL, true, |_, mut p| async move { p.hold().await }, |_| 4).await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "timeout", "{p:?}: {}", m.stdout);
        assert_eq!(m.json()["failure"]["stage"], "greeting", "{p:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_handshake_that_never_finishes() {
    // A plain TCP server that reads the ClientHello and never answers.
    let runs = each(&ALL, false, |_, mut p| async move { p.hold().await }, |_| 4).await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "timeout", "{p:?}: {}", m.stdout);
        assert_eq!(m.json()["failure"]["stage"], "tls", "{p:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_longer_than_the_cap() {
    let runs = each(
        &ALL,
        true,
        |_, mut p| async move {
            // 1 MiB without a line end, far past the 64 KiB cap.
            p.send(vec![b'A'; 1 << 20]).await;
            p.hold().await;
        },
        |_| 1,
    )
    .await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "server_too_verbose", "{p:?}: {}", m.stdout);
        assert!(m.failure().contains("longer than 65536 bytes"), "{p:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_garbage() {
    let runs = each(
        &ALL,
        true,
        |_, mut p| async move {
            p.send(b"\x00\xff\xfe\x1b[2J\x07\x9b\x80garbage\r\n\x01\x02\r\n".to_vec())
                .await;
            p.hold().await;
        },
        |_| 1,
    )
    .await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "protocol_error", "{p:?}: {}", m.stdout);
        assert!(!m.stdout.contains('\x1b'), "{p:?}: escape sequence printed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_capability_list() {
    let runs = each(
        &ALL,
        true,
        |proto, mut p| async move {
            let greeting = match proto {
                P::Imap => "* OK hostile ready\r\n",
                other => other.greeting(),
            };
            if !p.send(greeting).await {
                return;
            }
            let Some(line) = p.line().await else { return };
            // POP3 asks CAPA only after a refused AUTH (or with --no-pipelining, first).
            if !pop_refuses_auth(proto, &mut p, &line).await {
                return;
            }
            match proto {
                P::Imap => p.endless(|n| format!("* CAPABILITY IMAP4rev1 X-{n}")).await,
                P::Pop => {
                    p.send("+OK\r\n").await;
                    p.endless(|n| format!("X-CAPA-{n}")).await
                }
                P::Smtp => p.endless(|n| format!("250-X-EXT-{n}")).await,
            }
        },
        |_| 1,
    )
    .await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "server_too_verbose", "{p:?}: {}", m.stdout);
        assert!(
            m.failure().contains("more than 10000 lines"),
            "{p:?}: {}",
            m.failure()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sasl_continuation_loop() {
    let runs = each(
        &ALL,
        true,
        |proto, mut p| async move {
            if !p.send(proto.greeting()).await {
                return;
            }
            let mut authenticating = false;
            while let Some(line) = p.line().await {
                authenticating |= line.to_ascii_uppercase().contains("AUTH");
                let answer = match (authenticating, proto) {
                    (true, P::Smtp) => "334 \r\n".to_string(),
                    (true, _) => "+ \r\n".to_string(),
                    (false, _) => proto.answer(&line),
                };
                if !p.send(answer).await {
                    return;
                }
            }
        },
        |_| 1,
    )
    .await;
    for (p, m) in runs {
        assert_eq!(m.json()["failure"]["stage"], "auth", "{p:?}: {}", m.stdout);
        assert!(
            m.elapsed < Duration::from_millis(1900),
            "{p:?}: the loop must be cut by its round cap, not the timeout"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_closed_mid_reply() {
    let runs = each(
        &ALL,
        true,
        |proto, mut p| async move {
            if !p.send(proto.greeting()).await {
                return;
            }
            let Some(line) = p.line().await else { return };
            let answer = proto.answer(&line);
            // Half of the first reply, cut inside a line.
            p.send(&answer.as_bytes()[..answer.len() / 2]).await;
        },
        |_| 4,
    )
    .await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "connection_closed", "{p:?}: {}", m.stdout);
    }
}

/// IMAP `* BYE`, POP3 `-ERR` and SMTP `421` then a hang-up, at the greeting, at the first
/// command and at authentication.
#[tokio::test(flavor = "multi_thread")]
async fn bye_at_every_stage() {
    for stage in 0..3usize {
        let runs = each(
            &ALL,
            true,
            move |proto, mut p| async move {
                let bye = match proto {
                    P::Imap => "* BYE hostile going away\r\n",
                    P::Pop => "-ERR hostile going away\r\n",
                    P::Smtp => "421 4.3.2 hostile going away\r\n",
                };
                if stage == 0 {
                    p.send(bye).await;
                    return;
                }
                p.send(proto.greeting()).await;
                for _ in 1..stage {
                    let Some(line) = p.line().await else { return };
                    p.send(proto.answer(&line)).await;
                }
                if p.line().await.is_some() {
                    p.send(bye).await;
                }
            },
            |_| -1,
        )
        .await;
        for (p, m) in runs {
            let r = m.json();
            let seen = (
                m.code,
                r["failure"]["stage"].as_str(),
                r["failure"]["kind"].as_str(),
            );
            // What each refusal is: a BYE/-ERR/421 greeting is a refused connection; a hang-up
            // with an IMAP BYE is a closed connection; SMTP's 421 to EHLO is no EHLO reply and
            // to AUTH a temporary refusal. IMAP pipelines: its first command is the CAPABILITY
            // sent before the greeting is read, its second AUTHENTICATE with LIST (one command at
            // a time, see below). POP's first command is AUTH (no CAPA first since issue 13): its
            // -ERR and a hang-up are a refused login, as at the response; with --no-pipelining it
            // is CAPA, whose -ERR leaves no SASL mechanism (hostile::pop_pipelining checks both).
            let want = match (stage, p) {
                (0, _) => (1, Some("greeting"), Some("greeting_rejected")),
                (1, P::Imap) => (4, Some("capability"), Some("connection_closed")),
                (2, P::Imap) => (4, Some("auth"), Some("connection_closed")),
                (1, P::Pop) => (1, Some("auth"), Some("auth_rejected")),
                (1, P::Smtp) => (1, Some("capability"), Some("protocol_error")),
                (_, P::Imap) => (4, Some("list"), Some("connection_closed")),
                (_, P::Pop) => (1, Some("auth"), Some("auth_rejected")),
                (_, P::Smtp) => (1, Some("auth"), Some("throttled")),
            };
            assert_eq!(
                seen, want,
                "BYE after {stage} exchanges, {p:?}: {}",
                m.stdout
            );
        }
    }
}

/// IMAP one command at a time (`--no-pipelining`), as before issue 13: the greeting carries the
/// capabilities, so the first command is AUTHENTICATE and the second the CAPABILITY after it.
#[tokio::test(flavor = "multi_thread")]
async fn imap_bye_at_every_stage_without_pipelining() {
    for (stage, want) in [(1usize, "auth"), (2, "list")] {
        let server = Hostile::start(true, move |mut p| async move {
            p.send(P::Imap.greeting()).await;
            for _ in 1..stage {
                let Some(line) = p.line().await else { return };
                p.send(P::Imap.answer(&line)).await;
            }
            if p.line().await.is_some() {
                p.send("* BYE hostile going away\r\n").await;
            }
        })
        .await;
        let mut args = P::Imap.args(&server, false);
        args.push("--no-pipelining".into());
        let m = measure(&args, Duration::from_secs(30)).await;
        drop(server);
        assert_contained(&m, 4, 8.0, 100);
        let r = m.json();
        assert_eq!(
            (r["failure"]["stage"].as_str(), kind(&m).as_str()),
            (Some(want), "connection_closed"),
            "BYE after {stage} exchanges: {}",
            m.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn data_before_the_tls_upgrade_completes() {
    let mut runs = Vec::new();
    for proto in ALL {
        let server = Hostile::start(false, move |mut p| async move {
            let greeting = match proto {
                P::Imap => "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
                other => other.greeting(),
            };
            p.send(greeting).await;
            while let Some(line) = p.line().await {
                let upper = line.to_ascii_uppercase();
                let tag = line.split(' ').next().unwrap_or_default();
                let answer = match proto {
                    P::Imap if upper.contains("STARTTLS") => {
                        format!("{tag} OK begin TLS\r\n* OK injected\r\n")
                    }
                    P::Imap => {
                        format!("* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK done\r\n")
                    }
                    P::Pop if upper == "STLS" => "+OK begin TLS\r\n+OK injected\r\n".into(),
                    P::Pop if upper == "CAPA" => "+OK\r\nSTLS\r\n.\r\n".into(),
                    P::Smtp if upper == "STARTTLS" => "220 go\r\n250 injected\r\n".into(),
                    P::Smtp => "250-hostile.example\r\n250 STARTTLS\r\n".into(),
                    _ => "+OK\r\n".into(),
                };
                p.send(answer).await;
            }
        })
        .await;
        let args = proto.args(&server, true);
        runs.push(tokio::spawn(async move {
            let m = measure(&args, Duration::from_secs(30)).await;
            drop(server);
            (proto, m)
        }));
    }
    for r in runs {
        let (p, m) = r.await.unwrap();
        assert_contained(&m, 4, 8.0, 100);
        assert_eq!(kind(&m), "data_before_tls", "{p:?}: {}", m.stdout);
    }
}

/// The last step of a failed run is the failure's stage, failed: `steps[]` shows where the
/// check stopped, whichever path in the driver returned the failure.
fn assert_last_step_is_the_failure(p: P, m: &Measured) {
    let r = m.json();
    let stage = &r["failure"]["stage"];
    let steps = r["steps"].as_array().expect("steps");
    let last = steps.last().expect("a step");
    assert_eq!(&last["stage"], stage, "{p:?}: {}", m.stdout);
    assert_eq!(last["ok"], false, "{p:?}: {}", m.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capability_reply_that_never_comes_is_the_last_step() {
    let runs = each(
        &ALL,
        true,
        |p, mut peer| async move {
            // IMAP's greeting without a capability code, so the client must ask.
            let greeting = match p {
                P::Imap => "* OK hostile ready\r\n",
                _ => p.greeting(),
            };
            if !peer.send(greeting).await {
                return;
            }
            let Some(line) = peer.line().await else {
                return;
            };
            // POP3 asks CAPA only after a refused AUTH (or with --no-pipelining, first).
            if pop_refuses_auth(p, &mut peer, &line).await {
                peer.hold().await;
            }
        },
        |_| 4,
    )
    .await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "timeout", "{p:?}: {}", m.stdout);
        assert_eq!(m.json()["failure"]["stage"], "capability", "{p:?}");
        assert_last_step_is_the_failure(p, &m);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_oauth_mechanism_offered_is_a_failed_capability_step() {
    let runs = each(
        &ALL,
        true,
        |p, mut peer| async move {
            let greeting = match p {
                P::Imap => "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hostile ready\r\n",
                _ => p.greeting(),
            };
            if !peer.send(greeting).await {
                return;
            }
            while let Some(line) = peer.line().await {
                let reply = match p {
                    P::Pop if line.eq_ignore_ascii_case("CAPA") => {
                        "+OK\r\nSASL PLAIN\r\n.\r\n".into()
                    }
                    // As a real server does: a mechanism it does not offer is refused.
                    P::Pop if line.to_ascii_uppercase().starts_with("AUTH ") => {
                        "-ERR Unrecognized authentication type\r\n".into()
                    }
                    P::Smtp if line.to_ascii_uppercase().starts_with("EHLO") => {
                        "250-hostile.example\r\n250 AUTH PLAIN\r\n".into()
                    }
                    _ => p.answer(&line),
                };
                if !peer.send(reply).await {
                    return;
                }
            }
        },
        |_| 1,
    )
    .await;
    for (p, m) in runs {
        assert_eq!(kind(&m), "mechanism_not_offered", "{p:?}: {}", m.stdout);
        assert_eq!(m.json()["failure"]["stage"], "capability", "{p:?}");
        assert_last_step_is_the_failure(p, &m);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_implicit_tls_greeting_that_never_comes_is_the_last_step() {
    let runs = each(&ALL, true, |_, mut p| async move { p.hold().await }, |_| 4).await;
    for (p, m) in runs {
        assert_eq!(m.json()["failure"]["stage"], "greeting", "{p:?}");
        assert_last_step_is_the_failure(p, &m);
    }
}

/// How a server that speaks only TLS 1.0 or 1.1 answers a ClientHello offering 1.2 and 1.3.
#[derive(Clone, Copy, Debug)]
enum OldTls {
    /// A ServerHello selecting this version (0x0301 TLS 1.0, 0x0302 TLS 1.1).
    ServerHello(u16),
    /// A fatal `protocol_version` alert (70), as some stacks send instead.
    Alert,
}

impl OldTls {
    /// The TLS record, byte for byte (rustls cannot serve these versions).
    fn record(self) -> Vec<u8> {
        match self {
            OldTls::ServerHello(version) => {
                let [major, minor] = version.to_be_bytes();
                let mut body = vec![major, minor];
                body.extend_from_slice(&[0x42; 32]); // random
                body.push(0); // no session id
                body.extend_from_slice(&[0x00, 0x2f]); // TLS_RSA_WITH_AES_128_CBC_SHA
                body.push(0); // no compression
                let mut handshake = vec![0x02, 0, 0, body.len() as u8]; // server_hello
                handshake.extend(body);
                let mut record = vec![0x16, major, minor, 0, handshake.len() as u8];
                record.extend(handshake);
                record
            }
            // alert, TLS 1.0, length 2: fatal (2), protocol_version (70)
            OldTls::Alert => vec![0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70],
        }
    }
}

/// TLS 1.0/1.1 only: IMAP and POP3 over implicit TLS, SMTP after STARTTLS. Each ends at once
/// with exit 4, kind tls_failed, and a cause that says the server offers only TLS 1.0/1.1
/// while xoauth requires 1.2 or later, with the fix on the server's side.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_speaks_only_tls_1_0_or_1_1() {
    for answer in [
        OldTls::ServerHello(0x0301),
        OldTls::ServerHello(0x0302),
        OldTls::Alert,
    ] {
        let mut runs = Vec::new();
        for proto in ALL {
            let server = Hostile::start(false, move |mut p| async move {
                if proto == P::Smtp {
                    p.send(proto.greeting()).await;
                    while let Some(line) = p.line().await {
                        if line.eq_ignore_ascii_case("STARTTLS") {
                            p.send("220 2.0.0 SMTP server ready\r\n").await;
                            break;
                        }
                        p.send("250-hostile.example\r\n250 STARTTLS\r\n").await;
                    }
                }
                if p.record().await.is_some() && p.send(answer.record()).await {
                    p.hold().await;
                }
            })
            .await;
            // IMAP and POP3: implicit TLS; SMTP: STARTTLS (its default).
            let args = proto.args(&server, proto == P::Smtp);
            runs.push(tokio::spawn(async move {
                let m = measure(&args, Duration::from_secs(30)).await;
                drop(server);
                (proto, m)
            }));
        }
        for r in runs {
            let (p, m) = r.await.unwrap();
            assert_contained(&m, 4, 8.0, 100);
            let what = format!("{answer:?} {p:?}: {}", m.stdout);
            assert_eq!(kind(&m), "tls_failed", "{what}");
            let r = m.json();
            crate::schema::assert_valid(&r, &what);
            let stage = if p == P::Smtp { "starttls" } else { "tls" };
            assert_eq!(r["failure"]["stage"], stage, "{what}");
            let cause = r["failure"]["cause"].as_str().unwrap_or_default();
            let speaks = match answer {
                OldTls::ServerHello(0x0301) => {
                    "speaks only TLS 1.0 (its ServerHello chose TLS 1.0)"
                }
                OldTls::ServerHello(_) => "speaks only TLS 1.1 (its ServerHello chose TLS 1.1)",
                OldTls::Alert => "speaks only TLS 1.0 or 1.1 (it refused TLS 1.2 and 1.3",
            };
            assert!(cause.contains(speaks), "{what}");
            assert!(cause.contains("xoauth requires TLS 1.2 or 1.3"), "{what}");
            let fix = r["failure"]["fix"].as_str().unwrap_or_default();
            assert!(fix.contains("enable TLS 1.2"), "{what}");
            assert!(
                m.elapsed < Duration::from_millis(1900),
                "{what}: must end at the answer, not at the 2 s timeout"
            );
        }
    }
}
