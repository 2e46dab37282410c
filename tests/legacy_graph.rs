//! `xoauth legacy-auth --graph` against the mock's Graph: a token from xoauth's own client
//! credentials flow, every page followed, one 429 waited out, and Graph's refusals explained.

use crate::util::*;

/// A Graph token for the demo daemon app (AuditLog.Read.All), by `xoauth token --print`.
async fn graph_token(mock: &Mock) -> String {
    let mut args = strings(&["token", "--ca-file", mock.ca_file.to_str().unwrap()]);
    args = mock.oauth(
        args,
        DAEMON,
        &[
            "--client-secret-env",
            "S",
            "--scope",
            "https://graph.microsoft.com/.default",
            "--print",
        ],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.stdout.trim().to_string()
}

fn graph_args(mock: &Mock, extra: &[&str]) -> Vec<String> {
    let url = mock.server.idp_url();
    let mut args = strings(&[
        "legacy-auth",
        "--graph",
        "--graph-url",
        &url,
        "--ca-file",
        mock.ca_file.to_str().unwrap(),
        "--access-token-env",
        "T",
    ]);
    args.extend(strings(extra));
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_is_read_and_a_429_is_waited_out() {
    // 2,500 sign-ins: three pages of 1,000; the first request for page two gets 429.
    let mock = Mock::with(|c| c.idp.graph_sign_ins = 2500).await;
    let token = graph_token(&mock).await;
    let run = xoauth_env(&graph_args(&mock, &["--json"]), &[("T", &token)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["records"], 2500, "{r}");
    assert_eq!(r["format"], "graph_json", "{r}");
    let imap = r["legacy_protocols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["client_app"] == "IMAP4")
        .unwrap();
    assert!(imap["sign_ins"].as_u64().unwrap() > 0, "{imap}");
    assert!(
        run.stderr.contains("read 3 page(s)") && run.stderr.contains("1 throttled"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_s_refusals_are_explained() {
    // No Entra ID P1/P2: the licence error, and what to do instead.
    let mock = Mock::with(|c| c.idp.graph_licensed = false).await;
    let token = graph_token(&mock).await;
    let run = xoauth_env(&graph_args(&mock, &[]), &[("T", &token)], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("P1 or P2") && run.stderr.contains("--file"),
        "{}",
        run.stderr
    );
    // An Exchange token is not a Graph token: 401, with the scope to ask for.
    let mock = Mock::start().await;
    let run = xoauth_env(&graph_args(&mock, &[]), &[("T", &mock.token(ALICE))], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("HTTP 401") && run.stderr.contains("graph.microsoft.com/.default"),
        "{}",
        run.stderr
    );
    // The token never goes over plain http to a non-loopback host, nor to a non-URL.
    for bad in ["http://graph.example", "not-a-url"] {
        let args = strings(&[
            "legacy-auth",
            "--graph",
            "--graph-url",
            bad,
            "--access-token-env",
            "T",
        ]);
        let run = xoauth_env(&args, &[("T", "t")], None).await;
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains("--graph-url"), "{}", run.stderr);
    }
    // No token flag at all: a usage error before any request.
    let args = strings(&["legacy-auth", "--graph"]);
    let run = xoauth(&args, None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
}

/// A next link to another host is not followed: the token goes only to the Graph host given.
#[tokio::test(flavor = "multi_thread")]
async fn a_next_link_to_another_host_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = vec![0u8; 16 * 1024];
            let _ = socket.read(&mut request).await;
            let body = r#"{"value":[],"@odata.nextLink":"http://attacker.example/beta/auditLogs/signIns?$skiptoken=1"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    let args = strings(&[
        "legacy-auth",
        "--graph",
        "--graph-url",
        &base,
        "--access-token-env",
        "T",
    ]);
    let run = xoauth_env(&args, &[("T", "a-token-for-graph-only")], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("http://attacker.example") && run.stderr.contains("not following"),
        "{}",
        run.stderr
    );
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
}
