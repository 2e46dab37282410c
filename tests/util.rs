//! Shared helpers: start the mock, run the binary, read its JSON report.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;
use xoauth_mock::{Config, MockServer};

pub const ALICE: &str = "alice@contoso.example";
pub const ALICE_TOKEN: &str = "mock-access-token-alice-0001";
/// A token the mock does not know, with a distinctive shape to search output for.
pub const BAD_TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.bogus-token-4f2a9c.c2lnbmF0dXJl";

/// A running mock with its CA written to a file for `--ca-file`.
pub struct Mock {
    pub server: MockServer,
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mock {
    pub async fn start() -> Mock {
        Self::with(|_| {}).await
    }

    /// Starts the demo tenant after `tweak` has changed its configuration.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> Mock {
        let mut config = Config::demo();
        tweak(&mut config);
        let server = MockServer::start(config).await.expect("mock starts");
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("mock-ca.pem");
        std::fs::write(&ca_file, server.ca_pem()).unwrap();
        Mock {
            server,
            ca_file,
            _dir: dir,
        }
    }

    /// `imap --host 127.0.0.1 --port P --ca-file F --user alice` for the implicit-TLS listener.
    pub fn imap_args(&self) -> Vec<String> {
        let addr = self.server.imaps_addr();
        strings(&[
            "imap",
            "--host",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
            "--ca-file",
            self.ca_file.to_str().unwrap(),
            "--user",
            ALICE,
        ])
    }

    fn args(&self, sub: &str, addr: std::net::SocketAddr, extra: &[&str]) -> Vec<String> {
        let mut v = strings(&[
            sub,
            "--host",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
            "--ca-file",
            self.ca_file.to_str().unwrap(),
            "--user",
            ALICE,
        ]);
        v.extend(strings(extra));
        v
    }

    /// `pop` against the implicit-TLS POP3 listener.
    pub fn pop_args(&self) -> Vec<String> {
        self.args("pop", self.server.pop3s_addr(), &[])
    }

    /// `pop --starttls` against the plaintext POP3 listener.
    pub fn pop_stls_args(&self) -> Vec<String> {
        self.args("pop", self.server.pop3_starttls_addr(), &["--starttls"])
    }

    /// `smtp` against the submission listener (STARTTLS).
    pub fn smtp_args(&self) -> Vec<String> {
        self.args("smtp", self.server.smtp_submission_addr(), &[])
    }

    /// `check` with every protocol pointed at the mock.
    pub fn check_args(&self, starttls: bool) -> Vec<String> {
        let (imap, pop) = if starttls {
            (
                self.server.imap_starttls_addr(),
                self.server.pop3_starttls_addr(),
            )
        } else {
            (self.server.imaps_addr(), self.server.pop3s_addr())
        };
        let smtp = self.server.smtp_submission_addr();
        let mut v = strings(&[
            "check",
            "--host",
            "127.0.0.1",
            "--imap-port",
            &imap.port().to_string(),
            "--pop-port",
            &pop.port().to_string(),
            "--smtp-port",
            &smtp.port().to_string(),
            "--ca-file",
            self.ca_file.to_str().unwrap(),
            "--user",
            ALICE,
        ]);
        if starttls {
            v.push("--starttls".into());
        }
        v
    }

    /// The same for the plaintext listener, with `--starttls`.
    pub fn imap_starttls_args(&self) -> Vec<String> {
        let addr = self.server.imap_starttls_addr();
        strings(&[
            "imap",
            "--starttls",
            "--host",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
            "--ca-file",
            self.ca_file.to_str().unwrap(),
            "--user",
            ALICE,
        ])
    }
}

pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// What a run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Both streams, for searching.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `xoauth args` with `XOAUTH_TEST_TOKEN=token` in its environment (when given) and
/// `stdin` on standard input (empty otherwise), without blocking the runtime the mock uses.
pub async fn xoauth(args: &[String], token: Option<&str>, stdin: Option<&str>) -> Run {
    let mut cmd = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("xoauth"));
    cmd.args(args)
        .env_remove("XOAUTH_TEST_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        cmd.env("XOAUTH_TEST_TOKEN", t);
    }
    let mut child = cmd.spawn().expect("xoauth runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("xoauth finishes within 60 s")
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `args` plus `--access-token-env XOAUTH_TEST_TOKEN` and `extra`.
pub fn with_token(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(strings(&["--access-token-env", "XOAUTH_TEST_TOKEN"]));
    args.extend(strings(extra));
    args
}

/// The stage names of a JSON report's steps.
pub fn stages(report: &serde_json::Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap().to_string())
        .collect()
}

/// `args` with the `--user` value replaced.
pub fn as_user(mut args: Vec<String>, user: &str) -> Vec<String> {
    if let Some(i) = args.iter().position(|a| a == "--user") {
        args[i + 1] = user.to_string();
    }
    args
}
