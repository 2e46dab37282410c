//! A submission server that refuses part of the envelope, run with and without pipelining
//! (issue 13, RFC 2920 §3.1): the first refusal is the reported cause in both, and a `354`
//! that follows a refusal never carries the message (a single dot when no recipient was
//! accepted; else the connection is closed, which cancels the transaction).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::server::*;
use crate::util::ALICE;

const NOBODY: &str = "nobody@contoso.example";

#[derive(Clone, Copy)]
struct Script {
    mail: &'static str,
    /// One reply per RCPT TO, in order.
    rcpt: &'static [&'static str],
    data: &'static str,
}

type Log = Arc<Mutex<Vec<String>>>;

/// Plays `script` and logs what the client sent: commands as they are, message lines as
/// `data: …`, and `(closed)` when the client went without QUIT.
async fn serve(mut p: Peer, script: Script, log: Log) {
    let push = |l: String| log.lock().unwrap().push(l);
    if !p.send("220 envelope.example ESMTP ready\r\n").await {
        return;
    }
    let mut rcpt = script.rcpt.iter();
    loop {
        let Some(line) = p.line().await else {
            push("(closed)".into());
            return;
        };
        push(line.clone());
        let verb = line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-envelope.example\r\n250-PIPELINING\r\n250 AUTH XOAUTH2\r\n",
            "AUTH" => "235 2.7.0 ok\r\n",
            "MAIL" => script.mail,
            "RCPT" => rcpt.next().copied().unwrap_or("503 5.5.1 too many\r\n"),
            "DATA" => script.data,
            "QUIT" => {
                p.send("221 2.0.0 bye\r\n").await;
                return;
            }
            _ => "500 5.5.2 what\r\n",
        };
        if !p.send(answer).await {
            return;
        }
        if verb == "DATA" && answer.starts_with("354") {
            loop {
                let Some(line) = p.line().await else {
                    push("(closed)".into());
                    return;
                };
                if line == "." {
                    push(".".into());
                    break;
                }
                push(format!("data: {line}"));
            }
            if !p.send("250 2.0.0 queued\r\n").await {
                return;
            }
        }
    }
}

/// Runs the check with `--send --to …` against a fresh server playing `script`.
async fn run(script: Script, to: &[&str], pipelining: bool) -> (Measured, Vec<String>) {
    let log: Log = Arc::default();
    let server = {
        let log = log.clone();
        Hostile::start(true, move |p| serve(p, script, log.clone())).await
    };
    let mut extra = vec!["--implicit-tls", "--timeout", "2", "-v", "--send"];
    for t in to {
        extra.extend(["--to", t]);
    }
    if !pipelining {
        extra.push("--no-pipelining");
    }
    let m = measure(&server.args("smtp", &extra), Duration::from_secs(20)).await;
    assert_contained(&m, 1, 8.0, 100);
    // The server's task logs `(closed)` once it sees the client go.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < deadline
        && !log.lock().unwrap().iter().any(|l| l == "(closed)")
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log = log.lock().unwrap().clone();
    (m, log)
}

fn outcome(m: &Measured) -> (i32, serde_json::Value, serde_json::Value, serde_json::Value) {
    let f = &m.json()["failure"];
    (
        m.code,
        f["kind"].clone(),
        f["stage"].clone(),
        f["server_reply"].clone(),
    )
}

/// The commands after AUTH, as the server read them.
fn after_auth(log: &[String]) -> Vec<String> {
    let at = log
        .iter()
        .position(|l| l.starts_with("AUTH "))
        .expect("AUTH sent");
    log[at + 1..].to_vec()
}

/// Exchange's SendAs refusal at MAIL FROM; a broken server then opens the data phase anyway.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_sender_is_the_cause_and_a_late_354_gets_only_a_dot() {
    let script = Script {
        mail: "550 5.7.60 SMTP; Client does not have permissions to send as this sender\r\n",
        rcpt: &["503 5.5.1 Need mail command\r\n"],
        data: "354 go ahead anyway\r\n",
    };
    let (piped, piped_log) = run(script, &[ALICE], true).await;
    let (seq, seq_log) = run(script, &[ALICE], false).await;
    assert_eq!(
        outcome(&piped),
        outcome(&seq),
        "{}\n{}",
        piped.all(),
        seq.all()
    );
    let f = &piped.json()["failure"];
    assert_eq!(f["kind"], "send_as_denied", "{f:#}");
    assert_eq!(f["stage"], "send");
    assert!(
        f["server_reply"][0].as_str().unwrap().contains("5.7.60"),
        "{f:#}"
    );
    // Pipelined: the whole envelope, then a single dot and no message line.
    assert_eq!(
        after_auth(&piped_log),
        [
            format!("MAIL FROM:<{ALICE}>"),
            format!("RCPT TO:<{ALICE}>"),
            "DATA".to_string(),
            ".".to_string(),
            "(closed)".to_string(),
        ],
        "{piped_log:#?}"
    );
    // Sequential: nothing after the refused MAIL FROM.
    assert_eq!(
        after_auth(&seq_log),
        [format!("MAIL FROM:<{ALICE}>"), "(closed)".to_string()],
        "{seq_log:#?}"
    );
}

/// One recipient refused, the other accepted, DATA answered 354: a dot would deliver an empty
/// message to the accepted one, so the connection is closed without ending the data.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_recipient_is_the_cause_and_nothing_is_delivered() {
    let script = Script {
        mail: "250 2.1.0 Sender OK\r\n",
        rcpt: &["250 2.1.5 Recipient OK\r\n", "550 5.1.1 User unknown\r\n"],
        data: "354 Start mail input\r\n",
    };
    let (piped, piped_log) = run(script, &[ALICE, NOBODY], true).await;
    let (seq, seq_log) = run(script, &[ALICE, NOBODY], false).await;
    assert_eq!(
        outcome(&piped),
        outcome(&seq),
        "{}\n{}",
        piped.all(),
        seq.all()
    );
    let f = &piped.json()["failure"];
    assert_eq!(f["kind"], "send_rejected", "{f:#}");
    assert_eq!(f["stage"], "send");
    assert!(f["message"].as_str().unwrap().contains("RCPT TO"), "{f:#}");
    assert_eq!(f["server_reply"][0], "550 5.1.1 User unknown");
    assert_eq!(
        after_auth(&piped_log),
        [
            format!("MAIL FROM:<{ALICE}>"),
            format!("RCPT TO:<{ALICE}>"),
            format!("RCPT TO:<{NOBODY}>"),
            "DATA".to_string(),
            "(closed)".to_string(),
        ],
        "no dot, no message line: {piped_log:#?}"
    );
    assert_eq!(
        after_auth(&seq_log),
        [
            format!("MAIL FROM:<{ALICE}>"),
            format!("RCPT TO:<{ALICE}>"),
            format!("RCPT TO:<{NOBODY}>"),
            "(closed)".to_string(),
        ],
        "{seq_log:#?}"
    );
}

/// `530 5.7.57` at MAIL FROM (the session is not authenticated after all), then the
/// consequences: the 530 is the cause in both modes, not the 503s that follow it.
#[tokio::test(flavor = "multi_thread")]
async fn not_authenticated_at_mail_from_is_the_cause_not_what_follows() {
    let script = Script {
        mail: "530 5.7.57 Client not authenticated to send mail.\r\n",
        rcpt: &["503 5.5.1 Need mail command\r\n"],
        data: "503 5.5.1 Need rcpt command\r\n",
    };
    let (piped, piped_log) = run(script, &[ALICE], true).await;
    let (seq, _) = run(script, &[ALICE], false).await;
    assert_eq!(
        outcome(&piped),
        outcome(&seq),
        "{}\n{}",
        piped.all(),
        seq.all()
    );
    let f = &piped.json()["failure"];
    assert_eq!(f["stage"], "send", "{f:#}");
    assert_eq!(
        f["server_reply"][0],
        "530 5.7.57 Client not authenticated to send mail."
    );
    assert_eq!(
        after_auth(&piped_log),
        [
            format!("MAIL FROM:<{ALICE}>"),
            format!("RCPT TO:<{ALICE}>"),
            "DATA".to_string(),
            "(closed)".to_string(),
        ],
        "{piped_log:#?}"
    );
}
