//! Interop: SMTP round trips (issue 13) against Dovecot's submission service. Dovecot refuses
//! a long AUTH line, so a real token still follows a bare 334 with pipelining; the envelope
//! goes as one group (Dovecot advertises PIPELINING); QUIT is not waited for; and a rejected
//! token fails the same way with and without `--no-pipelining`.

use crate::dovecot::Dovecot;
use crate::util::*;

fn wire(r: &serde_json::Value) -> Vec<String> {
    r["transcript"]
        .as_array()
        .unwrap_or_else(|| panic!("no transcript in {r:#}"))
        .iter()
        .map(|e| {
            let who = match e["direction"].as_str().unwrap() {
                "client" => "C",
                "server" => "S",
                _ => "--",
            };
            format!("{who}: {}", e["text"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_submission_pipelined_send_and_unawaited_quit() {
    let mock = Mock::start().await;
    let Some(dovecot) = Dovecot::start(&mock).await else {
        return;
    };
    let token = mock.token(ALICE);
    let args = with_token(
        dovecot.args(
            "smtp",
            dovecot.submission,
            &["--send", "--to", ALICE, "--json", "-v"],
        ),
        &[],
    );
    let run = xoauth(&args, Some(&token), None).await;
    assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
    let r = run.json();
    let w = wire(&r);
    // Dovecot 2.3 answers a long AUTH line "500 5.5.2 Line too long": two-step it stays.
    let auth = w
        .iter()
        .position(|l| l == "C: AUTH XOAUTH2")
        .unwrap_or_else(|| panic!("{w:#?}"));
    assert!(w[auth + 1].starts_with("S: 334"), "{w:#?}");
    let mail = w
        .iter()
        .position(|l| l.starts_with("C: MAIL FROM:"))
        .unwrap_or_else(|| panic!("{w:#?}"));
    assert_eq!(w[mail + 1], format!("C: RCPT TO:<{ALICE}>"), "{w:#?}");
    assert_eq!(w[mail + 2], "C: DATA", "{w:#?}");
    let quit = w.iter().position(|l| l == "C: QUIT").unwrap();
    assert!(
        w[quit + 1..].iter().all(|l| !l.starts_with("S: ")),
        "{w:#?}"
    );
    let id = r["submission"]["message_id"].as_str().unwrap();
    assert!(
        dovecot.relayed().iter().any(|m| m.contains(id)),
        "{id} not relayed"
    );
    assert!(!contains_jwt(&run.all()));
}

/// The "done when" against Dovecot: a bad token (short: on the AUTH line in both
/// modes) and bob's real one (after a bare 334), each mechanism, with and without
/// pipelining: the same exit code, kind, stage and decoded error challenge.
#[tokio::test(flavor = "multi_thread")]
async fn dovecot_submission_failures_are_the_same_with_and_without_pipelining() {
    let mock = Mock::start().await;
    let Some(dovecot) = Dovecot::start(&mock).await else {
        return;
    };
    let bob = mock.token(BOB);
    for (who, token) in [("bad token", BAD_TOKEN), ("bob's token", bob.as_str())] {
        for mechanism in ["xoauth2", "oauthbearer"] {
            for send in [false, true] {
                let mut seen = Vec::new();
                for pipelining in [true, false] {
                    let mut extra = vec!["--mechanism", mechanism, "--json", "-v"];
                    if send {
                        extra.extend(["--send", "--to", ALICE]);
                    }
                    if !pipelining {
                        extra.push("--no-pipelining");
                    }
                    let args = with_token(dovecot.args("smtp", dovecot.submission, &extra), &[]);
                    let run = xoauth(&args, Some(token), None).await;
                    let what = format!("{who} {mechanism} send={send} pipelining={pipelining}");
                    assert_eq!(run.code, 1, "{what}\n{}\n{}", run.all(), dovecot.logs());
                    let f = run.json()["failure"].clone();
                    assert_eq!(f["kind"], "auth_rejected", "{what}: {f:#}");
                    assert_eq!(f["stage"], "auth", "{what}: {f:#}");
                    assert!(!contains_jwt(&run.all()), "{what}: a token leaked");
                    seen.push((
                        run.code,
                        f["kind"].clone(),
                        f["stage"].clone(),
                        f["challenge"]["json"].clone(),
                    ));
                }
                assert_eq!(seen[0], seen[1], "{who} {mechanism} send={send}");
            }
        }
    }
    assert!(dovecot.relayed().is_empty());
}
