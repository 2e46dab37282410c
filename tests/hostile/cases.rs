//! The catalog of hostile servers, per protocol where the case applies.

use std::time::Duration;

use super::server::*;
use crate::util::{ALICE, strings};

const GREETING_IMAP: &str = "* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR] hostile ready\r\n";
const SEC: Duration = Duration::from_secs(1);

/// An IMAP server that authenticates anyone, then hands `on_list` the LIST command's tag.
async fn imap_until_list<F, Fut>(mut p: Peer, on_list: F)
where
    F: FnOnce(Peer, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if !p.send(GREETING_IMAP).await {
        return;
    }
    while let Some((tag, line)) = p.tagged().await {
        let verb = line
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "LIST" => return on_list(p, tag).await,
            "CAPABILITY" => {
                p.send(format!("* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n"))
                    .await;
            }
            _ => {
                p.send(format!("{tag} OK done\r\n")).await;
            }
        }
    }
}

// ---- The measured defects: a drip of one byte a second, an endless LIST ----

#[tokio::test(flavor = "multi_thread")]
async fn imap_a_greeting_dripped_one_byte_a_second_ends_at_the_timeout() {
    let server = Hostile::start(true, |mut p| async move {
        p.drip(GREETING_IMAP.as_bytes(), SEC).await;
        p.hold().await;
    })
    .await;
    let m = measure(&server.args("imap", &["--timeout", "2"]), 30 * SEC).await;
    assert_contained(&m, 4, 6.0, 100);
    let r = m.json();
    assert_eq!(r["failure"]["kind"], "timeout", "{}", m.stdout);
    assert_eq!(r["failure"]["stage"], "greeting", "{}", m.stdout);
    assert!(
        m.failure().contains("bytes within 2s during greeting"),
        "{}",
        m.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_a_greeting_dripped_one_byte_a_second_ends_at_the_timeout() {
    let server = Hostile::start(true, |mut p| async move {
        p.drip(b"+OK hostile POP3 server ready\r\n", SEC).await;
        p.hold().await;
    })
    .await;
    let m = measure(&server.args("pop", &["--timeout", "2"]), 30 * SEC).await;
    assert_contained(&m, 4, 6.0, 100);
    assert_eq!(m.json()["failure"]["stage"], "greeting", "{}", m.stdout);
    assert!(m.failure().contains("during greeting"), "{}", m.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_a_multiline_banner_dripped_line_by_line_ends_at_the_timeout() {
    // Each line comes well inside the timeout; the reply as a whole never ends.
    let server = Hostile::start(true, |mut p| async move {
        for n in 0..600 {
            if !p.send(format!("220-hostile banner line {n}\r\n")).await {
                return;
            }
            tokio::time::sleep(SEC).await;
        }
    })
    .await;
    let m = measure(
        &server.args("smtp", &["--implicit-tls", "--timeout", "2"]),
        30 * SEC,
    )
    .await;
    assert_contained(&m, 4, 6.0, 100);
    assert_eq!(m.json()["failure"]["kind"], "timeout", "{}", m.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn imap_an_endless_list_stops_at_the_cap_with_the_first_folders() {
    let server = Hostile::start(true, |p| {
        imap_until_list(p, |mut p, _tag| async move {
            p.endless(|n| format!("* LIST (\\HasNoChildren) \"/\" \"Folder {n}\""))
                .await;
        })
    })
    .await;
    let m = measure(&server.args("imap", &["--timeout", "25"]), 60 * SEC).await;
    assert_contained(&m, 0, 20.0, 150);
    let r = m.json();
    assert_eq!(
        r["folders"].as_array().map(Vec::len),
        Some(10_000),
        "{}",
        m.stderr
    );
    assert_eq!(r["folders"][0]["name"], "Folder 0");
    let warnings = r["warnings"].to_string();
    assert!(
        warnings
            .contains("the server listed more than 10000 folders; stopped after the first 10000"),
        "{warnings}"
    );
}

// ---- The overall deadline ----

/// Each answer comes 1.5 s after the question, inside the 2 s timeout; the check as a whole
/// (greeting, AUTHENTICATE, CAPABILITY, LIST, LOGOUT: 7.5 s) overruns the 3 s deadline.
#[tokio::test(flavor = "multi_thread")]
async fn imap_a_server_just_inside_the_timeout_at_every_stage_meets_the_deadline() {
    let pause = Duration::from_millis(1500);
    let server = Hostile::start(true, move |mut p| async move {
        tokio::time::sleep(pause).await;
        if !p.send(GREETING_IMAP).await {
            return;
        }
        while let Some((tag, _)) = p.tagged().await {
            tokio::time::sleep(pause).await;
            if !p.send(format!("{tag} OK done\r\n")).await {
                return;
            }
        }
    })
    .await;
    let args = server.args("imap", &["--timeout", "2", "--deadline", "3"]);
    let m = measure(&args, 30 * SEC).await;
    assert_contained(&m, 4, 5.5, 100);
    assert_eq!(m.json()["failure"]["kind"], "timeout", "{}", m.stdout);
    let message = m.failure();
    assert!(
        message.contains("did not finish within its overall deadline of 3s (--deadline)"),
        "{message}"
    );
    assert!(
        message.contains("bytes received from the server"),
        "{message}"
    );
    eprintln!("{message}");
}

#[tokio::test]
async fn the_deadline_is_validated_like_the_timeout() {
    for bad in ["0", "-1", "nan", "inf", "soon", "86401"] {
        let flag = format!("--deadline={bad}");
        let args = strings(&["imap", "--user", ALICE, &flag]);
        let run = crate::util::xoauth(&args, None, None).await;
        assert_eq!(run.code, 2, "--deadline {bad}: {}", run.all());
        assert!(run.stderr.contains("--deadline"), "{}", run.stderr);
    }
}

// ---- Found by fuzzing ----

/// `fuzz/` (target `imap_responses`) found that imap-proto 0.17, the parser async-imap runs
/// on every reply from AUTHENTICATE on, panics on a status line whose response code is
/// followed by a non-ASCII byte instead of a space (it slices the text at byte 1). A server
/// that answers so, at AUTHENTICATE or at LIST, ends the check with a protocol error naming
/// the reply, never a crash.
#[tokio::test(flavor = "multi_thread")]
async fn imap_a_reply_that_crashes_the_imap_parser_is_a_failure_not_a_crash() {
    for at in ["AUTHENTICATE", "LIST"] {
        let server = Hostile::start(true, move |mut p| async move {
            if !p.send(GREETING_IMAP).await {
                return;
            }
            while let Some((tag, line)) = p.tagged().await {
                let verb = line.split(' ').nth(1).unwrap_or_default();
                if verb.eq_ignore_ascii_case(at) {
                    let mut reply =
                        format!("{tag} OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2]").into_bytes();
                    reply.extend_from_slice(b"\x9fdo\xeeYE bye\r\n");
                    p.send(reply).await;
                    p.hold().await;
                    return;
                }
                p.send(format!("{tag} OK done\r\n")).await;
            }
        })
        .await;
        let m = measure(&server.args("imap", &["--timeout", "2"]), 30 * SEC).await;
        assert_contained(&m, 1, 6.0, 100);
        let r = m.json();
        assert_eq!(r["failure"]["kind"], "protocol_error", "{at}: {}", m.stdout);
        assert!(
            m.failure().contains("could not be read"),
            "{at}: {}",
            m.stdout
        );
    }
}
