//! POP3 servers that offer the other OAuth mechanism, none, or refuse the AUTH line or STLS:
//! the check without CAPA first (issue 13) asks CAPA only after such a refusal, and ends with
//! the diagnosis the sequential check (`--no-pipelining`) gives.

use std::time::Duration;

use serde_json::Value;

use super::server::*;

/// A scripted POP3 server over implicit TLS. `offered`: the CAPA `SASL` line's mechanisms, or
/// `None` for a server without CAPA. A mechanism not offered is refused at the AUTH line; an
/// offered one is accepted with `+`, and its response with `auth_reply`.
async fn pop3(mut p: Peer, offered: Option<&'static [&'static str]>, auth_reply: &'static str) {
    if !p.send("+OK scripted POP3 ready\r\n").await {
        return;
    }
    let mut responding = false;
    while let Some(line) = p.line().await {
        let upper = line.to_ascii_uppercase();
        let reply = if std::mem::take(&mut responding) {
            auth_reply.to_string()
        } else if upper == "CAPA" {
            match offered {
                Some(m) => format!("+OK\r\nTOP\r\nUSER\r\nSASL {}\r\n.\r\n", m.join(" ")),
                None => "-ERR unknown command\r\n".into(),
            }
        } else if let Some(mechanism) = upper.strip_prefix("AUTH ") {
            if offered.unwrap_or_default().contains(&mechanism) {
                responding = true;
                "+ \r\n".into()
            } else {
                "-ERR Unrecognized authentication type\r\n".into()
            }
        } else if upper == "STAT" {
            "+OK 2 320\r\n".into()
        } else if upper == "QUIT" {
            p.send("+OK bye\r\n").await;
            return;
        } else {
            "-ERR unknown command\r\n".into()
        };
        if !p.send(reply).await {
            return;
        }
    }
}

/// Runs `pop` against `server` with `extra`, sequential and pipelined (with `-v`).
async fn both(server: &Hostile, extra: &[&str], code: i32) -> (Value, Value) {
    let mut sequential = extra.to_vec();
    sequential.push("--no-pipelining");
    let mut pipelined = extra.to_vec();
    pipelined.push("-v");
    let limit = Duration::from_secs(30);
    let s = measure(&server.args("pop", &sequential), limit).await;
    let p = measure(&server.args("pop", &pipelined), limit).await;
    assert_contained(&s, code, 8.0, 100);
    assert_contained(&p, code, 8.0, 100);
    (s.json(), p.json())
}

/// The failure as far as pipelining must not change it.
fn verdict(r: &Value) -> Value {
    let f = &r["failure"];
    serde_json::json!([
        r["exit_code"],
        f["kind"],
        f["stage"],
        f["message"],
        f["cause"],
        f["fix"],
        f["server_reply"],
        r["mechanism"],
    ])
}

/// The client's lines in a `-v --json` transcript.
fn sent(r: &Value) -> Vec<String> {
    r["transcript"]
        .as_array()
        .expect("a transcript with -v")
        .iter()
        .filter(|e| e["direction"] == "client")
        .map(|e| e["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pop_server_without_an_oauth_mechanism_is_diagnosed_the_same_in_both_modes() {
    for offered in [Some(&["PLAIN"][..]), Some(&[][..]), None] {
        let server = Hostile::start(true, move |p| pop3(p, offered, "+OK\r\n")).await;
        let (s, p) = both(&server, &[], 1).await;
        let what = format!("{offered:?}: {p:#}");
        assert_eq!(s["failure"]["kind"], "mechanism_not_offered", "{what}");
        assert_eq!(s["failure"]["stage"], "capability", "{what}");
        assert_eq!(verdict(&p), verdict(&s), "{what}");
        assert_eq!(p["capabilities"], s["capabilities"], "{what}");
        let message = p["failure"]["message"].as_str().unwrap();
        match offered {
            Some(["PLAIN"]) => assert!(message.contains("it offers: PLAIN"), "{what}"),
            _ => assert!(message.contains("no SASL mechanism at all"), "{what}"),
        }
        assert_eq!(sent(&p), ["AUTH XOAUTH2", "CAPA"], "{what}");
        let last = p["steps"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (&last["stage"], &last["ok"]),
            (&"capability".into(), &false.into())
        );
    }
}

/// Only OAUTHBEARER offered: `auto` tries XOAUTH2, is refused, reads CAPA and authenticates
/// with OAUTHBEARER (one CAPA, as the sequential check); `--mechanism xoauth2` is told that
/// OAUTHBEARER is there and which flag uses it.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_other_oauth_mechanism_is_found_and_named_in_both_modes() {
    let server = Hostile::start(true, |p| pop3(p, Some(&["OAUTHBEARER"]), "+OK in\r\n")).await;
    let (s, p) = both(&server, &[], 0).await;
    assert_eq!(s["mechanism"], "OAUTHBEARER", "{s:#}");
    assert_eq!(p["mechanism"], "OAUTHBEARER", "{p:#}");
    assert_eq!(p["stat"], s["stat"]);
    assert_eq!(p["capabilities"], s["capabilities"]);
    assert_eq!(
        sent(&p),
        [
            "AUTH XOAUTH2",
            "CAPA",
            "AUTH OAUTHBEARER",
            "<redacted>",
            "STAT",
            "QUIT"
        ],
        "{p:#}"
    );
    let stages = |r: &Value| -> Vec<String> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stage"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        stages(&p),
        [
            "connect",
            "tls",
            "greeting",
            "capability",
            "auth",
            "stat",
            "quit"
        ]
    );

    let (s, p) = both(&server, &["--mechanism", "xoauth2"], 1).await;
    assert_eq!(s["failure"]["kind"], "mechanism_not_offered", "{s:#}");
    assert_eq!(verdict(&p), verdict(&s), "{p:#}");
    let fix = p["failure"]["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("--mechanism auto"), "{p:#}");
}

/// The mechanism is offered but the AUTH line itself is refused (a throttled server): CAPA
/// shows the refusal was not about the mechanism, so it is the login's refusal, classified from
/// the server's words as the sequential check classifies it.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_auth_line_for_an_offered_mechanism_is_the_same_refusal_in_both_modes() {
    let server = Hostile::start(true, |mut p| async move {
        if !p.send("+OK scripted POP3 ready\r\n").await {
            return;
        }
        while let Some(line) = p.line().await {
            let reply = if line.eq_ignore_ascii_case("CAPA") {
                "+OK\r\nSASL PLAIN XOAUTH2\r\n.\r\n"
            } else {
                "-ERR Request is throttled. Suggested Backoff Time: 299961 milliseconds\r\n"
            };
            if !p.send(reply).await {
                return;
            }
        }
    })
    .await;
    let (s, p) = both(&server, &[], 1).await;
    assert_eq!(s["failure"]["kind"], "throttled", "{s:#}");
    assert_eq!(s["failure"]["stage"], "auth", "{s:#}");
    assert_eq!(verdict(&p), verdict(&s), "{p:#}");
    assert_eq!(sent(&p), ["AUTH XOAUTH2", "CAPA"], "{p:#}");
}

/// `-ERR` and a hang-up at the first command. Sequential, that command is CAPA: no CAPA, so no
/// SASL mechanism. Pipelined, it is AUTH, and the CAPA that would explain the refusal finds
/// the connection closed: the refusal is reported as a refused login, as when a server hangs
/// up after refusing the response, with a warning that CAPA went unanswered.
#[tokio::test(flavor = "multi_thread")]
async fn a_hang_up_after_refusing_the_first_command() {
    let server = Hostile::start(true, |mut p| async move {
        if p.send("+OK scripted POP3 ready\r\n").await && p.line().await.is_some() {
            p.send("-ERR going away\r\n").await;
        }
    })
    .await;
    let (s, p) = both(&server, &[], 1).await;
    let f = |r: &Value| (r["failure"]["stage"].clone(), r["failure"]["kind"].clone());
    assert_eq!(
        f(&s),
        ("capability".into(), "mechanism_not_offered".into()),
        "{s:#}"
    );
    assert_eq!(f(&p), ("auth".into(), "auth_rejected".into()), "{p:#}");
    assert_eq!(p["failure"]["server_reply"][0], "-ERR going away");
    let warnings = p["warnings"].to_string();
    assert!(warnings.contains("CAPA after the refused AUTH"), "{p:#}");
}

/// Port 110: STLS advertised but refused. Pipelined, STLS goes first and CAPA only tells the
/// refusal from a missing STLS: the same failure as the sequential check's, never a plaintext
/// AUTH.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_stls_is_the_same_refusal_in_both_modes() {
    let server = Hostile::start(false, |mut p| async move {
        if !p.send("+OK scripted POP3 ready\r\n").await {
            return;
        }
        while let Some(line) = p.line().await {
            let reply = match line.to_ascii_uppercase().as_str() {
                "CAPA" => "+OK\r\nUSER\r\nSTLS\r\n.\r\n",
                "STLS" => "-ERR TLS is not available right now\r\n",
                _ => "-ERR unexpected\r\n",
            };
            if !p.send(reply).await {
                return;
            }
        }
    })
    .await;
    let (s, p) = both(&server, &["--starttls"], -1).await;
    assert_eq!(s["failure"]["kind"], "starttls_refused", "{s:#}");
    assert_eq!(s["failure"]["stage"], "starttls", "{s:#}");
    assert_eq!(verdict(&p), verdict(&s), "{p:#}");
    assert_eq!(sent(&p), ["STLS", "CAPA"], "{p:#}");
    let stages: Vec<&str> = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["connect", "greeting", "capability", "starttls"],
        "{p:#}"
    );
}
