//! Shared helpers: start the mock, run the binary, read its JSON report.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;
use xoauth_mock::{Config, MockServer, TokenSpec};

pub const ALICE: &str = "alice@contoso.example";
/// A token the mock does not know, with a distinctive shape to search output for.
pub const BOB: &str = "bob@contoso.example";
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

    /// A delegated token for `user` (all three Exchange scopes), signed by the mock.
    pub fn token(&self, user: &str) -> String {
        self.server.issue_token(&TokenSpec::user(user))
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
    let env: Vec<(&str, &str)> = token
        .map(|t| ("XOAUTH_TEST_TOKEN", t))
        .into_iter()
        .collect();
    xoauth_env(args, &env, stdin).await
}

/// A keyring service name no other run uses: the default for every xoauth the tests start, so
/// that none can read, write or clear the user's own `xoauth` entries unless a test names a
/// service itself (tests/cache.rs does, to share one between processes).
pub fn private_keyring_service() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("xoauth-test-{}-{n}", std::process::id())
}

/// An empty home for every xoauth the tests start: HOME, XDG_CONFIG_HOME and APPDATA point
/// into it and XOAUTH_CONFIG at a file that does not exist there, so that no run reads the
/// developer's own config file (and its profiles) unless a test sets these itself.
pub fn private_home() -> PathBuf {
    let home = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("xoauth-test-home");
    std::fs::create_dir_all(&home).expect("the tests' home directory");
    home
}

fn command(args: &[String], env: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("xoauth"));
    let home = private_home();
    cmd.args(args)
        .env_remove("XOAUTH_TEST_TOKEN")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("XOAUTH_KEYRING_SERVICE", private_keyring_service())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("APPDATA", home.join("appdata"))
        .env("XOAUTH_CONFIG", home.join("no-config.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// `xoauth args` with extra environment variables.
pub async fn xoauth_env(args: &[String], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut child = command(args, env).spawn().expect("xoauth runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("xoauth finishes within 60 s")
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    check_json_contract(args, &run);
    run
}

/// Whether a run with `args` promises one JSON document on stdout: `--json`, and neither
/// `--print` (refused with it, stdout stays empty), `--nagios` (refused with it, stdout holds
/// the plugin's UNKNOWN line) nor help.
fn promises_json(args: &[String]) -> bool {
    let flags: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .take_while(|a| *a != "--")
        .collect();
    flags.contains(&"--json")
        && !flags
            .iter()
            .any(|a| matches!(*a, "--print" | "--nagios" | "--help" | "-h" | "help"))
}

/// Every run with `--json` must print exactly one document that docs/report.schema.json
/// accepts, and its exit code must be the one the document states.
fn check_json_contract(args: &[String], run: &Run) {
    if !promises_json(args) {
        return;
    }
    // An audit prints JSON lines; a profile may be what asked for the audit.
    let audit = args.iter().any(|a| a == "--mailboxes")
        || (args.iter().any(|a| a == "--profile")
            && serde_json::from_str::<serde_json::Value>(&run.stdout).is_err());
    if audit {
        return check_json_lines(args, run);
    }
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} with --json: stdout is not one JSON document ({e}):\n{}\n{}",
            run.stdout, run.stderr
        )
    });
    crate::schema::assert_valid(&doc, &format!("{args:?}"));
    if let Some(code) = doc.get("exit_code") {
        assert_eq!(
            code.as_i64(),
            Some(run.code.into()),
            "{args:?}: the document's exit_code is not the process's"
        );
    }
}

/// An audit with `--json` prints JSON lines (a cell per line, the summary last), each of which
/// the schema must accept, and the summary's exit code is the process's; or, when it could not
/// run, the one usage-error document.
fn check_json_lines(args: &[String], run: &Run) {
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(&run.stdout) {
        crate::schema::assert_valid_as("usage_error", &doc, &format!("{args:?}"));
        assert_eq!(doc["exit_code"].as_i64(), Some(run.code.into()), "{args:?}");
        return;
    }
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines.len() >= 2, "{args:?}: no JSON lines:\n{}", run.all());
    for (i, line) in lines.iter().enumerate() {
        let doc: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{args:?}: line {} is not JSON ({e}):\n{line}", i + 1));
        let kind = if i + 1 == lines.len() {
            "audit_summary"
        } else {
            "audit_cell"
        };
        crate::schema::assert_valid_as(kind, &doc, &format!("{args:?} line {}", i + 1));
        if kind == "audit_summary" {
            assert_eq!(
                doc["exit_code"].as_i64(),
                Some(run.code.into()),
                "{args:?}: the summary's exit_code is not the process's"
            );
        }
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

/// A running `xoauth` whose stderr is read line by line while it runs (to play the user's part
/// in a device-code or browser sign-in).
pub struct Live {
    args: Vec<String>,
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stdout: tokio::task::JoinHandle<String>,
}

pub fn spawn_xoauth(args: &[String], env: &[(&str, &str)]) -> Live {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};
    let mut child = command(args, env).spawn().expect("xoauth runs");
    drop(child.stdin.take());
    let mut out = child.stdout.take().unwrap();
    let stdout = tokio::spawn(async move {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s).await;
        s
    });
    let err = child.stderr.take().unwrap();
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let all = stderr.clone();
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(err);
        let mut buf = Vec::new();
        // Split on CR too: the device-code countdown rewrites its line.
        while let Ok(n) = reader.read_until(b'\n', &mut buf).await {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf).into_owned();
            all.lock().unwrap().push_str(&text);
            for piece in text.split(['\r', '\n']).filter(|p| !p.is_empty()) {
                let _ = tx.send(piece.to_string());
            }
            buf.clear();
        }
    });
    Live {
        args: args.to_vec(),
        child,
        lines,
        stderr,
        stdout,
    }
}

impl Live {
    /// The first stderr line that `wanted` accepts, within 30 s.
    pub async fn line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Duration::from_secs(30);
        tokio::time::timeout(deadline, async {
            while let Some(line) = self.lines.recv().await {
                if wanted(&line) {
                    return line;
                }
            }
            panic!(
                "xoauth ended without the expected line:\n{}",
                self.stderr.lock().unwrap()
            );
        })
        .await
        .expect("the expected line within 30 s")
    }

    /// The user code of a device-code sign-in, once xoauth shows it.
    pub async fn device_code(&mut self) -> String {
        let line = self.line(|l| l.contains("enter the code")).await;
        line.split("enter the code ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("a user code after 'enter the code'")
            .to_string()
    }

    pub async fn finish(mut self) -> Run {
        let status = tokio::time::timeout(std::time::Duration::from_secs(60), self.child.wait())
            .await
            .expect("xoauth finishes within 60 s")
            .unwrap();
        let stdout = self.stdout.await.unwrap_or_default();
        // Let the stderr reader drain.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let stderr = self.stderr.lock().unwrap().clone();
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        };
        check_json_contract(&self.args, &run);
        run
    }
}

/// The mock's demo apps.
pub use xoauth_mock::{DEMO_DAEMON_CLIENT_ID as DAEMON, DEMO_PUBLIC_CLIENT_ID as PUBLIC};
pub const DAEMON_SECRET: &str = "mock-secret-valid-0001";
pub const EXPIRED_SECRET: &str = "mock-secret-expired-0002";

impl Mock {
    /// `args` plus the flags that point the OAuth module at the mock's identity platform, with
    /// the cache off (cache tests add their own flags).
    pub fn oauth(&self, mut args: Vec<String>, client_id: &str, extra: &[&str]) -> Vec<String> {
        args.extend(strings(&[
            "--client-id",
            client_id,
            "--tenant",
            "contoso.example",
            "--authority",
            &self.server.idp_url(),
        ]));
        if !extra.contains(&"--cache") {
            args.push("--no-cache".into());
        }
        args.extend(
            extra
                .iter()
                .filter(|a| **a != "--cache")
                .map(|a| a.to_string()),
        );
        args
    }
}

/// A fixture file of the mock (certificates and keys for certificate credentials).
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mock-server/fixtures")
        .join(name)
}

/// Whether `text` holds something shaped like a JWT (`eyJ<b64url>.eyJ<b64url>.`), as opposed to
/// a lone base64 JSON challenge, which also starts with `eyJ`.
pub fn contains_jwt(text: &str) -> bool {
    let b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("eyJ").any(|(at, _)| {
        let rest = &text[at..];
        let head = rest.chars().take_while(|&c| b64url(c)).count();
        rest[head..].starts_with(".eyJ")
    })
}

/// No xoauth a test starts can reach the user's keyring entries by accident: each gets a
/// service of its own, and a test's own choice still wins.
#[test]
fn every_xoauth_gets_a_private_keyring_service() {
    let service = |env: &[(&str, &str)]| {
        let cmd = command(&[], env);
        let value = cmd
            .as_std()
            .get_envs()
            .find(|(k, _)| *k == "XOAUTH_KEYRING_SERVICE")
            .and_then(|(_, v)| v)
            .map(|v| v.to_string_lossy().into_owned());
        value.expect("XOAUTH_KEYRING_SERVICE is set")
    };
    let (a, b) = (service(&[]), service(&[]));
    assert_ne!(a, b, "each run has its own service");
    for s in [&a, &b] {
        assert!(s.starts_with("xoauth-test-"), "{s}");
        assert_ne!(s, xoauth::token::cache::SERVICE);
    }
    assert_eq!(service(&[("XOAUTH_KEYRING_SERVICE", "mine")]), "mine");
}

/// No xoauth a test starts can read the developer's config file: each points every place
/// the file is looked for into the tests' empty home, and a test's own choice still wins.
#[test]
fn every_xoauth_gets_a_private_config() {
    let env_of = |env: &[(&str, &str)], name: &str| {
        let cmd = command(&[], env);
        cmd.as_std()
            .get_envs()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v)
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{name} is set"))
    };
    let home = private_home();
    for name in ["HOME", "XDG_CONFIG_HOME", "APPDATA", "XOAUTH_CONFIG"] {
        let value = env_of(&[], name);
        assert!(value.starts_with(&home), "{name}={}", value.display());
    }
    assert!(!env_of(&[], "XOAUTH_CONFIG").exists());
    assert_eq!(env_of(&[("HOME", "/x")], "HOME"), PathBuf::from("/x"));
}

#[test]
fn json_runs_are_recognised() {
    let json = |a: &[&str]| promises_json(&strings(a));
    assert!(json(&["imap", "--json", "--user", "a@b.c"]));
    assert!(json(&["cache", "list", "--json"]));
    assert!(!json(&["imap", "--user", "a@b.c"]));
    assert!(!json(&["token", "--print", "--json"]));
    assert!(!json(&["imap", "--json", "--help"]));
    assert!(!json(&["imap", "--", "--json"]));
}

#[test]
fn jwt_shape_detection() {
    assert!(contains_jwt("x eyJhbGciOi.eyJzdWIiOi.c2ln y"));
    assert!(!contains_jwt("+ eyJzdGF0dXMiOiI0MDAifQ=="));
    assert!(!contains_jwt("nothing here"));
}

/// `check` arguments narrowed to `protocols` (`"imap,pop"`): the ports of the others left out,
/// since `check` refuses a flag for a protocol it does not check.
pub fn only_protocols(args: Vec<String>, protocols: &str) -> Vec<String> {
    let keep: Vec<&str> = protocols.split(',').collect();
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let dropped = ["imap", "pop", "smtp"]
            .iter()
            .any(|p| !keep.contains(p) && a == format!("--{p}-port"));
        if dropped {
            it.next();
        } else {
            out.push(a);
        }
    }
    out.extend(strings(&["--protocols", protocols]));
    out
}

/// A TLS acceptor whose leaf certificate, for `names` and valid over `years` (1 January to
/// 1 January), is signed by a private CA named `ca_name`; and that CA as PEM, for --ca-file.
/// Every test server that must present a chosen certificate builds it here.
pub fn private_ca_acceptor(
    ca_name: &str,
    names: &[&str],
    years: Option<(i32, i32)>,
) -> (tokio_rustls::TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    if let Some((from, until)) = years {
        leaf.distinguished_name
            .push(DnType::CommonName, "mail.contoso.example");
        leaf.not_before = rcgen::date_time_ymd(from, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(until, 1, 1);
    }
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
        ca_cert.pem(),
    )
}
