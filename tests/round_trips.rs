//! Round trips per stage (`steps[].round_trips`, shown with `-v`) and TLS session resumption
//! across the connections of one run, against the mock (issue 13).

use crate::util::*;

/// A protocol's steps in order, each with its round trips.
type Stages = &'static [(&'static str, u32)];

/// The round trips of a passing check against the mock, stage by stage, as xoauth makes them
/// today (benches/RESULTS.md, "Where the round trips go"). TCP and TLS handshakes count 1
/// each; a plaintext greeting counts 1 (it answers the TCP handshake's final ACK).
///
/// THE table to update when a round-trip cut of issue 13 lands: each row is a protocol's
/// steps in order with their round trips, and the total the whole check takes.
const EXPECTED_ROUND_TRIPS: &[(&str, Stages, u32)] = &[
    (
        "imap",
        &[
            ("connect", 1),
            ("tls", 1),
            ("greeting", 1),
            ("capability", 0), // sent before the greeting is read: answered with it
            ("auth", 1),       // AUTHENTICATE with SASL-IR, LIST and EXAMINE pipelined after it
            ("list", 0),       // answered in the same flight as the authentication
            ("logout", 0),     // sent, not waited for
        ],
        4,
    ),
    (
        "pop",
        &[
            ("connect", 1),
            ("tls", 1),
            ("greeting", 1),
            ("auth", 2), // AUTH XOAUTH2, `+`, then the response (no CAPA first)
            ("stat", 1),
            ("quit", 0), // sent, not waited for
        ],
        6,
    ),
    (
        "smtp",
        &[
            ("connect", 1),
            ("greeting", 1),
            ("capability", 1), // EHLO
            ("starttls", 2),   // STARTTLS, then the TLS handshake
            ("capability", 1), // EHLO again
            ("auth", 1),       // AUTH XOAUTH2 with the initial response
            ("quit", 0),       // sent, not waited for
        ],
        7,
    ),
];

/// `(stage, round_trips)` of a JSON report's steps; every step after the token has a count.
fn counted(report: &serde_json::Value) -> Vec<(String, u32)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stage"] != "token")
        .map(|s| {
            let n = s["round_trips"]
                .as_u64()
                .unwrap_or_else(|| panic!("a step without round_trips: {s}"));
            (s["stage"].as_str().unwrap().to_string(), n as u32)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_stage_shows_its_round_trips_and_they_add_up_to_the_known_total() {
    let mock = Mock::start().await;
    for (protocol, steps, total) in EXPECTED_ROUND_TRIPS {
        assert_eq!(
            steps.iter().map(|(_, n)| n).sum::<u32>(),
            *total,
            "the table's {protocol} row adds up"
        );
        let args = match *protocol {
            "imap" => mock.imap_args(),
            "pop" => mock.pop_args(),
            _ => mock.smtp_args(),
        };
        let json = xoauth(
            &with_token(args.clone(), &["-v", "--json"]),
            Some(&mock.token(ALICE)),
            None,
        )
        .await;
        assert_eq!(json.code, 0, "{}", json.all());
        let got = counted(&json.json());
        let want: Vec<(String, u32)> = steps.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        assert_eq!(got, want, "{protocol}: steps and their round trips");
        assert_eq!(got.iter().map(|(_, n)| n).sum::<u32>(), *total);

        // The human report says the same with -v, and keeps its lines as they were without.
        let human = xoauth(
            &with_token(args.clone(), &["-v"]),
            Some(&mock.token(ALICE)),
            None,
        )
        .await;
        assert_eq!(human.code, 0, "{}", human.all());
        assert!(
            human.stdout.contains(&format!("round trips: {total} ")),
            "{protocol}: {}",
            human.stdout
        );
        let connect = human
            .stdout
            .lines()
            .find(|l| l.contains(" connect "))
            .unwrap();
        assert!(connect.contains(" ms, 1 RTT  127.0.0.1:"), "{connect}");
        let quiet = xoauth(&with_token(args, &[]), Some(&mock.token(ALICE)), None).await;
        assert_eq!(quiet.code, 0, "{}", quiet.all());
        assert!(!quiet.stdout.contains(" RTT"), "{}", quiet.stdout);
        assert!(!quiet.stdout.contains("round trips"), "{}", quiet.stdout);
    }
}

/// The `tls` facts of each check of a `check --json` document.
fn resumed(doc: &serde_json::Value) -> Vec<(String, bool)> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let tls = &c["tls"];
            // A resumed session still names the certificate verified when it was established.
            assert_eq!(tls["verified"], true, "{tls}");
            assert!(tls["certificate"]["subject"].is_string(), "{tls}");
            (
                c["protocol"].as_str().unwrap().to_string(),
                tls["resumed"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_resumes_the_first_tls_session_for_the_other_protocols() {
    let mock = Mock::start().await;
    for starttls in [false, true] {
        let run = xoauth(
            &with_token(mock.check_args(starttls), &["--json"]),
            Some(&mock.token(ALICE)),
            None,
        )
        .await;
        assert_eq!(run.code, 0, "{}", run.all());
        let doc = run.json();
        assert_eq!(
            resumed(&doc),
            [
                ("imap".to_string(), false),
                ("pop".to_string(), true),
                ("smtp".to_string(), true)
            ],
            "STARTTLS {starttls}: a full handshake first, then resumed ones"
        );
        // The step that carried the handshake says so.
        let details: Vec<&str> = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["steps"].as_array().unwrap())
            .filter(|s| s["stage"] == "tls" || s["stage"] == "starttls")
            .map(|s| s["detail"].as_str().unwrap())
            .collect();
        assert_eq!(details.len(), 3, "{details:?}");
        assert!(!details[0].contains("(resumed)"), "{}", details[0]);
        assert!(details[1].contains("(resumed)"), "{}", details[1]);
        assert!(details[2].contains("(resumed)"), "{}", details[2]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audit_resumes_tls_for_all_but_the_first_concurrent_handshakes() {
    const N: usize = 12;
    const CONCURRENCY: usize = 4;
    let mock = Mock::with(|c| c.generate.mailboxes = N).await;
    let mut config = xoauth_mock::Config::demo();
    config.generate.mailboxes = N;
    let addresses = config.generated_addresses().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("mailboxes.txt");
    std::fs::write(&list, addresses.join("\n")).unwrap();

    let mut args = mock.check_args(false);
    let i = args.iter().position(|a| a == "--user").unwrap();
    args.drain(i..i + 2);
    args.extend(strings(&[
        "--mailboxes",
        list.to_str().unwrap(),
        "--concurrency",
        &CONCURRENCY.to_string(),
        "--json",
    ]));
    let args = mock.oauth(args, DAEMON, &["--client-secret-env", "S"]);
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert!(!run.stdout.is_empty(), "{}", run.all());
    let cells: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {}", run.all())))
        .filter(|c: &serde_json::Value| c.get("report").is_some())
        .collect();
    assert_eq!(cells.len(), 3 * N, "{}", run.all());
    let handshakes: Vec<bool> = cells
        .iter()
        .filter_map(|c| c["report"]["tls"]["resumed"].as_bool())
        .collect();
    assert_eq!(handshakes.len(), 3 * N, "every cell reached TLS");
    assert!(!handshakes[0], "the first handshake is a full one");
    let full = handshakes.iter().filter(|r| !**r).count();
    assert!(
        full <= CONCURRENCY,
        "only the handshakes that started before any session existed are full: {handshakes:?}"
    );
}
