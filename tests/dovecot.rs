//! Interop: the real `xoauth` binary against a real, private Dovecot 2.3 that validates the
//! mock identity platform's RS256 JWTs locally (passdb oauth2, `introspection_mode = local`),
//! over IMAPS, IMAP+STARTTLS, POP3S, POP3+STLS and submission+STARTTLS, relaying to an
//! in-process SMTP sink; curl is the reference client where it is installed.
//!
//! Each test starts its own Dovecot (about 100 ms) in a fresh temporary directory: config from
//! `tests/dovecot/dovecot.conf`, a test CA and a leaf for 127.0.0.1 (openssl), the key dict
//! `keys/default/RS256/<kid>` from the mock's signing key, and a Maildir for alice. Without
//! `/usr/sbin/dovecot` the tests print SKIPPED and pass, except in CI (`CI` set), where they
//! panic. Dovecot's privilege separation needs root.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

use crate::util::*;

const DOVECOT: &str = "/usr/sbin/dovecot";
const CONF: &str = include_str!("dovecot/dovecot.conf");
const OAUTH2_CONF: &str = include_str!("dovecot/dovecot-oauth2.conf.ext");

/// INBOX of alice's Maildir: (file name, message). Two seen, one new.
const INBOX: [(&str, &str, &str); 3] = [
    (
        "cur",
        "1700000001.M1P1.interop:2,S",
        "<msg1.alice@contoso.example>",
    ),
    (
        "cur",
        "1700000002.M2P1.interop:2,S",
        "<msg2.alice@contoso.example>",
    ),
    (
        "new",
        "1700000003.M3P1.interop",
        "<msg3.alice@contoso.example>",
    ),
];

/// Folders besides INBOX: (IMAP name, Maildir++ directory with modified UTF-7).
const FOLDERS: [(&str, &str); 6] = [
    ("Sent", ".Sent"),
    ("Archive 2024", ".Archive 2024"),
    ("Entwürfe", ".Entw&APw-rfe"),
    ("日本語", ".&ZeVnLIqe-"),
    ("Projects", ".Projects"),
    ("Projects/Q1 Plans", ".Projects.Q1 Plans"),
];

fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Says loudly that the interop tests did not run: stderr is captured for passing tests, so
/// the line also goes to the terminal when there is one.
fn skipped(why: &str) {
    let line = format!("SKIPPED: {why}; interop tests did not run");
    eprintln!("{line}");
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        let _ = writeln!(tty, "{line}");
    }
}

fn is_root() -> bool {
    // No libc in the dev-dependencies: the effective uid from /proc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// `count` distinct free ports on 127.0.0.1 (bound together, then released).
fn free_ports(count: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a leaf for IP 127.0.0.1 (P-256), written under `tls/`.
fn make_tls(dir: &Path) {
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).unwrap();
    std::fs::write(
        tls.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n\
         [dn]\nCN = xoauth Dovecot interop test CA\n\
         [v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )
    .unwrap();
    std::fs::write(
        tls.join("leaf.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = 127.0.0.1\n",
    )
    .unwrap();
    std::fs::write(
        tls.join("leaf.ext"),
        "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n\
         authorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .current_dir(&tls)
        .args(["req", "-x509", "-config", "ca.cnf", "-days", "2"])
        .args(ec)
        .args(["-keyout", "ca.key", "-out", "ca.pem"]));
    run(Command::new("openssl")
        .current_dir(&tls)
        .args(["req", "-new", "-config", "leaf.cnf"])
        .args(ec)
        .args(["-keyout", "server.key", "-out", "server.csr"]));
    run(Command::new("openssl").current_dir(&tls).args([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "4242",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "server.pem",
    ]));
    let chain = std::fs::read_to_string(tls.join("server.pem")).unwrap()
        + &std::fs::read_to_string(tls.join("ca.pem")).unwrap();
    std::fs::write(tls.join("server-chain.pem"), chain).unwrap();
}

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

/// `(kid, public key PEM)` of the mock's signing key: kid = base64url(SHA-1(RSAPublicKey DER)),
/// as the mock computes it; the PEM is the SubjectPublicKeyInfo Dovecot's key dict wants.
fn signing_key() -> (String, String) {
    use ring::signature::KeyPair as _;
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject as _;
    let pem = std::fs::read(fixture("idp-signing-key.pem")).unwrap();
    let der = PrivatePkcs8KeyDer::from_pem_slice(&pem).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let rsa = pair.public_key().as_ref();
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, rsa);
    let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1);
    // SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { 0, RSAPublicKey } }
    let alg = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0x03];
    der_len(rsa.len() + 1, &mut bits);
    bits.push(0);
    bits.extend_from_slice(rsa);
    let mut spki = vec![0x30];
    der_len(alg.len() + bits.len(), &mut spki);
    spki.extend_from_slice(&alg);
    spki.extend(bits);
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    (kid, out)
}

fn make_maildir(root: &Path) {
    let home = root.join(ALICE);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(home.join(sub)).unwrap();
    }
    for (_, dir) in FOLDERS {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(home.join(dir).join(sub)).unwrap();
        }
        std::fs::write(home.join(dir).join("maildirfolder"), "").unwrap();
    }
    for (i, (sub, name, id)) in INBOX.iter().enumerate() {
        let n = i + 1;
        let msg = format!(
            "From: Carol <carol@contoso.example>\r\nTo: {ALICE}\r\nSubject: Test message {n}\r\n\
             Date: Mon, 1 Jan 2024 10:0{n}:00 +0000\r\nMessage-ID: {id}\r\n\r\nHello {n}\r\n"
        );
        std::fs::write(home.join(sub).join(name), msg).unwrap();
    }
    std::fs::write(
        home.join("subscriptions"),
        FOLDERS.map(|(name, _)| name).join("\n") + "\n",
    )
    .unwrap();
}

/// A minimal SMTP server Dovecot relays submissions to: accepts any MAIL/RCPT/DATA and keeps
/// each message (with an `X-Sink-Envelope` header) for the test to search.
struct Sink {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sink {
    async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(Self::session(stream, store.clone()));
            }
        });
        Sink {
            port,
            messages,
            task,
        }
    }

    async fn session(stream: tokio::net::TcpStream, store: Arc<Mutex<Vec<String>>>) {
        let (read, mut write) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        let say = async |w: &mut tokio::net::tcp::OwnedWriteHalf, s: &str| {
            w.write_all(format!("{s}\r\n").as_bytes()).await.is_ok()
        };
        if !say(&mut write, "220 sink ESMTP").await {
            return;
        }
        let mut envelope = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let up = line.to_ascii_uppercase();
            let reply = if up.starts_with("EHLO") || up.starts_with("LHLO") {
                "250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SMTPUTF8"
            } else if up.starts_with("HELO") {
                "250 sink"
            } else if up.starts_with("MAIL") || up.starts_with("RCPT") {
                envelope.push(line.clone());
                "250 OK"
            } else if up == "DATA" {
                if !say(&mut write, "354 go").await {
                    return;
                }
                let mut data = String::new();
                while let Ok(Some(l)) = lines.next_line().await {
                    if l == "." {
                        break;
                    }
                    data.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(&l),
                    );
                    data.push_str("\r\n");
                }
                let head = format!("X-Sink-Envelope: {}\r\n", envelope.join(" | "));
                store.lock().unwrap().push(head + &data);
                envelope.clear();
                "250 queued"
            } else if up == "RSET" {
                envelope.clear();
                "250 OK"
            } else if up == "NOOP" {
                "250 OK"
            } else if up == "QUIT" {
                let _ = say(&mut write, "221 bye").await;
                return;
            } else {
                "502 5.5.2 not implemented"
            };
            if !say(&mut write, reply).await {
                return;
            }
        }
    }
}

/// A running private Dovecot; dropping it stops Dovecot and the sink and removes the directory.
pub struct Dovecot {
    dir: tempfile::TempDir,
    conf: PathBuf,
    pub ca_file: PathBuf,
    pub imap: u16,
    pub imaps: u16,
    pub pop3: u16,
    pub pop3s: u16,
    pub submission: u16,
    sink: Sink,
    /// How long `dovecot -c` took until every listener accepted.
    pub started_in: Duration,
}

impl Dovecot {
    /// Starts Dovecot trusting `mock`'s tokens, or returns `None` (after a loud SKIPPED line)
    /// when Dovecot is not installed or we are not root. In CI both are errors.
    pub async fn start(mock: &Mock) -> Option<Dovecot> {
        if !Path::new(DOVECOT).exists() {
            assert!(
                !ci(),
                "CI must run the Dovecot interop tests: {DOVECOT} is missing"
            );
            skipped(
                "Dovecot is not installed (apt-get install dovecot-core dovecot-imapd \
                 dovecot-pop3d dovecot-submissiond)",
            );
            return None;
        }
        if !is_root() {
            assert!(
                !ci(),
                "CI must run the Dovecot interop tests as root: Dovecot's privilege separation \
                 (login processes as dovenull, mail as nobody) needs it"
            );
            skipped("the Dovecot interop tests need root (Dovecot's privilege separation)");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("xoauth-dovecot-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        // Dovecot's unprivileged processes (dovecot, dovenull, nobody) must traverse it.
        run(Command::new("chmod").arg("755").arg(root));
        for sub in ["run", "state", "log", "keys/default/RS256", "mail"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        make_tls(root);
        let (kid, public_pem) = signing_key();
        std::fs::write(root.join("keys/default/RS256").join(&kid), public_pem).unwrap();
        make_maildir(&root.join("mail"));
        run(Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(root.join("mail")));

        let sink = Sink::start().await;
        let ports = free_ports(5);
        let (imap, imaps, pop3, pop3s, submission) =
            (ports[0], ports[1], ports[2], ports[3], ports[4]);
        let name = root.file_name().unwrap().to_str().unwrap().to_string();
        let dir_str = root.to_str().unwrap();
        let conf = CONF
            .replace("@DIR@", dir_str)
            .replace("@NAME@", &name)
            .replace("@IMAP@", &imap.to_string())
            .replace("@IMAPS@", &imaps.to_string())
            .replace("@POP3@", &pop3.to_string())
            .replace("@POP3S@", &pop3s.to_string())
            .replace("@SUBMISSION@", &submission.to_string())
            .replace("@SINK@", &sink.port.to_string());
        let oauth2 = OAUTH2_CONF.replace("@DIR@", dir_str).replace(
            "@ISSUER@",
            &format!("https://sts.windows.net/{}/", mock.server.tenant_id()),
        );
        std::fs::write(root.join("dovecot-oauth2.conf.ext"), oauth2).unwrap();
        let conf_path = root.join("dovecot.conf");
        std::fs::write(&conf_path, conf).unwrap();

        let started = Instant::now();
        // The master daemonizes: no pipes it could inherit and keep open.
        let err = std::fs::File::create(root.join("log/start.err")).unwrap();
        let status = Command::new(DOVECOT)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .status()
            .expect("dovecot runs");
        let ca_file = root.join("tls/ca.pem");
        let dovecot = Dovecot {
            dir,
            conf: conf_path,
            ca_file,
            imap,
            imaps,
            pop3,
            pop3s,
            submission,
            sink,
            started_in: Duration::ZERO,
        };
        assert!(status.success(), "dovecot -c failed:\n{}", dovecot.logs());
        let mut dovecot = dovecot;
        for port in [imap, imaps, pop3, pop3s, submission] {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            while TcpStream::connect(addr).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "Dovecot did not accept on {addr} within 10 s:\n{}",
                    dovecot.logs()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        dovecot.started_in = started.elapsed();
        eprintln!("dovecot up in {:?}", dovecot.started_in);
        Some(dovecot)
    }

    /// Dovecot's log and the start command's stderr, for failure messages.
    pub fn logs(&self) -> String {
        let read = |p: &str| std::fs::read_to_string(self.dir.path().join(p)).unwrap_or_default();
        format!("{}{}", read("log/start.err"), read("log/dovecot.log"))
    }

    /// Messages the sink received, each with an `X-Sink-Envelope:` first line.
    pub fn relayed(&self) -> Vec<String> {
        self.sink.messages.lock().unwrap().clone()
    }

    /// `sub --provider custom --host 127.0.0.1 --port P --ca-file CA --user alice`, plus `extra`.
    pub fn args(&self, sub: &str, port: u16, extra: &[&str]) -> Vec<String> {
        let mut v = strings(&[
            sub,
            "--provider",
            "custom",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--ca-file",
            self.ca_file.to_str().unwrap(),
            "--user",
            ALICE,
        ]);
        v.extend(strings(extra));
        v
    }

    /// `check` with IMAPS, POP3S and submission+STARTTLS.
    pub fn check_args(&self, extra: &[&str]) -> Vec<String> {
        let mut v = strings(&[
            "check",
            "--provider",
            "custom",
            "--host",
            "127.0.0.1",
            "--imap-port",
            &self.imaps.to_string(),
            "--pop-port",
            &self.pop3s.to_string(),
            "--smtp-port",
            &self.submission.to_string(),
            "--ca-file",
            self.ca_file.to_str().unwrap(),
            "--user",
            ALICE,
        ]);
        v.extend(strings(extra));
        v
    }

    fn master_pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("run/master.pid"))
            .ok()
            .map(|s| s.trim().to_string())
    }
}

impl Drop for Dovecot {
    /// SIGTERM to the master from the pid file (what `doveadm stop` sends), then wait until it
    /// has exited. Not `doveadm stop` first: it polls `kill(pid, 0)`, which also succeeds while
    /// the exited master is a zombie waiting for PID 1 to reap it (1.5 s more per test here).
    fn drop(&mut self) {
        self.sink.task.abort();
        let Some(pid) = self.master_pid() else {
            let _ = Command::new("doveadm")
                .arg("-c")
                .arg(&self.conf)
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            return;
        };
        let _ = Command::new("kill")
            .arg(&pid)
            .stderr(Stdio::null())
            .status();
        // The master stops its children first (its log process drains for about 1 s), so the
        // directory goes only after every Dovecot process has.
        let stat = PathBuf::from("/proc").join(&pid).join("stat");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match std::fs::read_to_string(&stat) {
                Ok(s) if !s.contains(") Z ") => std::thread::sleep(Duration::from_millis(10)),
                _ => return,
            }
        }
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
}

/// Starts the mock and Dovecot; `None` when the tests are skipped.
async fn setup() -> Option<(Mock, Dovecot)> {
    let mock = Mock::start().await;
    let dovecot = Dovecot::start(&mock).await?;
    Some((mock, dovecot))
}

fn folder_names(r: &serde_json::Value) -> Vec<String> {
    r["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

/// The client line right after the server's `+ `/`334 ` challenge in a `-v --json` transcript.
/// Pipelined, the server may have answered before the acknowledgement went out (it took a
/// line sent ahead as the SASL answer), so then it is the next client line.
fn acknowledgement(r: &serde_json::Value, challenge_prefix: &str, pipelined: bool) -> String {
    let t = r["transcript"].as_array().unwrap();
    let at = t
        .iter()
        .position(|e| {
            e["direction"] == "server"
                && e["text"].as_str().unwrap().starts_with(challenge_prefix)
                && e["text"].as_str().unwrap().len() > challenge_prefix.len()
        })
        .unwrap_or_else(|| panic!("no {challenge_prefix:?} challenge in {t:#?}"));
    let next = if pipelined {
        t[at + 1..]
            .iter()
            .find(|e| e["direction"] == "client")
            .unwrap_or_else(|| panic!("no acknowledgement in {t:#?}"))
    } else {
        &t[at + 1]
    };
    assert_eq!(next["direction"], "client", "{t:#?}");
    next["text"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_imaps_lists_decoded_folders_and_examines_inbox() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let args = with_token(
        dovecot.args("imap", dovecot.imaps, &["--examine", "INBOX", "--json"]),
        &[],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
    let r = run.json();
    assert_eq!(r["outcome"], "pass");
    assert_eq!(r["mechanism"], "XOAUTH2");
    let names = folder_names(&r);
    for (wanted, _) in FOLDERS {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} missing from {names:?}"
        );
    }
    assert!(names.iter().any(|n| n == "INBOX"), "{names:?}");
    let entwuerfe = r["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Entwürfe")
        .unwrap();
    assert_eq!(entwuerfe["wire_name"], "Entw&APw-rfe");
    assert_eq!(r["examined"]["folder"], "INBOX");
    assert_eq!(r["examined"]["messages"], INBOX.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_imap_starttls_with_both_mechanisms() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let token = mock.token(ALICE);
    for (mechanism, name) in [("xoauth2", "XOAUTH2"), ("oauthbearer", "OAUTHBEARER")] {
        let args = with_token(
            dovecot.args(
                "imap",
                dovecot.imap,
                &["--starttls", "--mechanism", mechanism, "--json"],
            ),
            &[],
        );
        let run = xoauth(&args, Some(&token), None).await;
        assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
        let r = run.json();
        assert_eq!(r["mechanism"], name);
        assert_eq!(r["target"]["security"], "starttls");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_pop3s_and_stls_stat_counts_the_maildir() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let token = mock.token(ALICE);
    for (port, extra, mechanism) in [
        (dovecot.pop3s, None, "xoauth2"),
        (dovecot.pop3s, None, "oauthbearer"),
        (dovecot.pop3, Some("--starttls"), "xoauth2"),
    ] {
        let mut flags = vec!["--mechanism", mechanism, "--json"];
        flags.extend(extra);
        let args = with_token(dovecot.args("pop", port, &flags), &[]);
        let run = xoauth(&args, Some(&token), None).await;
        assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
        let r = run.json();
        assert_eq!(r["stat"]["messages"], INBOX.len(), "{r:#}");
        assert!(r["stat"]["octets"].as_u64().unwrap() > 0);
        assert_eq!(r["mechanism"], mechanism.to_uppercase());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_submission_auth_with_both_mechanisms() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let token = mock.token(ALICE);
    for mechanism in ["xoauth2", "oauthbearer"] {
        let args = with_token(
            dovecot.args(
                "smtp",
                dovecot.submission,
                &["--mechanism", mechanism, "--json", "-v"],
            ),
            &[],
        );
        let run = xoauth(&args, Some(&token), None).await;
        assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
        let r = run.json();
        assert_eq!(r["target"]["security"], "starttls");
        assert_eq!(r["mechanism"], mechanism.to_uppercase());
        assert!(r["submission"].is_null());
        // A real token makes `AUTH <mech> <response>` longer than Dovecot's 1 KiB command line
        // ("500 5.5.2 Line too long"), so the response follows a bare 334 on its own line.
        let t = r["transcript"].as_array().unwrap();
        let auth = format!("AUTH {}", mechanism.to_uppercase());
        let at = t
            .iter()
            .position(|e| e["direction"] == "client" && e["text"] == auth.as_str())
            .unwrap_or_else(|| panic!("no bare {auth:?} in {t:#?}"));
        assert_eq!(t[at + 1]["text"].as_str().unwrap().trim_end(), "334");
        assert_eq!(t[at + 2]["text"], "<redacted>");
    }
    assert!(dovecot.relayed().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_submission_send_reaches_the_relay() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let args = with_token(
        dovecot.args(
            "smtp",
            dovecot.submission,
            &["--send", "--to", ALICE, "--json"],
        ),
        &[],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
    let r = run.json();
    let id = r["submission"]["message_id"].as_str().unwrap();
    assert!(
        r["submission"]["reply"]
            .as_str()
            .unwrap()
            .starts_with("250"),
        "{r:#}"
    );
    let relayed = dovecot.relayed();
    let message = relayed
        .iter()
        .find(|m| m.contains(&format!("Message-ID: {id}")) || m.contains(id))
        .unwrap_or_else(|| panic!("{id} not relayed: {relayed:#?}"));
    let envelope = message.lines().next().unwrap();
    assert!(envelope.contains(&format!("<{ALICE}>")), "{envelope}");
}

/// Runs `sub` with `token` once per mechanism, one command at a time (`--no-pipelining`) and
/// pipelined, and expects the same rejection both ways: exit 1, auth_rejected at the auth
/// stage, Dovecot's error challenge decoded, and the acknowledgement the mechanism requires
/// sent after it (XOAUTH2: an empty line; OAUTHBEARER: `AQ==`). Pipelining never hides the
/// authentication failure.
async fn expect_rejected(dovecot: &Dovecot, sub: &str, port: u16, token: &str, who: &str) {
    let prefix = if sub == "smtp" { "334 " } else { "+ " };
    for (mechanism, ack) in [("xoauth2", ""), ("oauthbearer", "AQ==")] {
        for mode in [&["--no-pipelining"][..], &[]] {
            let mut extra = vec!["--mechanism", mechanism, "--json", "-v"];
            extra.extend(mode);
            let args = with_token(dovecot.args(sub, port, &extra), &[]);
            let run = xoauth(&args, Some(token), None).await;
            let what = format!("{sub} {mechanism} {who} {mode:?}");
            assert_eq!(run.code, 1, "{what}\n{}\n{}", run.all(), dovecot.logs());
            let r = run.json();
            let f = &r["failure"];
            assert_eq!(f["kind"], "auth_rejected", "{what}: {f:#}");
            assert_eq!(f["stage"], "auth", "{what}");
            // Dovecot 2.3: XOAUTH2 {"status":"401","schemes":"bearer","scope":"mail"},
            // OAUTHBEARER {"status":"invalid_token"}.
            let status = if mechanism == "xoauth2" {
                "401"
            } else {
                "invalid_token"
            };
            assert_eq!(f["challenge"]["json"]["status"], status, "{what}: {f:#}");
            assert_eq!(acknowledgement(&r, prefix, mode.is_empty()), ack, "{what}");
            assert!(!contains_jwt(&run.all()), "{what}: a token leaked");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_imap_and_pop_reject_bad_and_foreign_tokens() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let bob = mock.token(BOB);
    expect_rejected(&dovecot, "imap", dovecot.imaps, BAD_TOKEN, "bad token").await;
    expect_rejected(&dovecot, "imap", dovecot.imaps, &bob, "bob's token").await;
    expect_rejected(&dovecot, "pop", dovecot.pop3s, &bob, "bob's token").await;
}

/// A short bad token goes inline on the AUTH line, a real-size one (bob's) after a bare 334:
/// both paths must end in the error challenge and its acknowledgement.
#[tokio::test(flavor = "multi_thread")]
async fn dovecot_submission_rejects_bad_and_foreign_tokens() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let bob = mock.token(BOB);
    expect_rejected(&dovecot, "smtp", dovecot.submission, BAD_TOKEN, "bad token").await;
    expect_rejected(&dovecot, "smtp", dovecot.submission, &bob, "bob's token").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_check_passes_for_all_three_protocols() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let run = xoauth(
        &with_token(dovecot.check_args(&["--json"]), &[]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
    let r = run.json();
    assert_eq!(r["outcome"], "pass");
    let protocols: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protocols, ["imap", "pop", "smtp"]);

    let run = xoauth(
        &with_token(dovecot.check_args(&["--json"]), &[]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    for check in run.json()["checks"].as_array().unwrap() {
        assert_eq!(check["failure"]["kind"], "auth_rejected", "{check:#}");
    }
}

/// curl (OAUTHBEARER when offered, 7.88+) and xoauth must agree, pass and fail, for the same
/// server, user and token.
#[tokio::test(flavor = "multi_thread")]
async fn dovecot_curl_and_xoauth_agree() {
    let curl_found = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !curl_found {
        assert!(
            !ci(),
            "CI must have curl, the reference client of the Dovecot tests"
        );
        skipped("curl is not installed (the reference client)");
        return;
    }
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let good = mock.token(ALICE);
    for (scheme, port, sub) in [
        ("imaps", dovecot.imaps, "imap"),
        ("pop3s", dovecot.pop3s, "pop"),
    ] {
        for (token, curl_code, xoauth_code) in [(good.as_str(), 0, 0), (BAD_TOKEN, 67, 1)] {
            let out = tokio::process::Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "20",
                    "--oauth2-bearer",
                    token,
                    "--cacert",
                ])
                .arg(&dovecot.ca_file)
                .arg(format!("{scheme}://127.0.0.1:{port}/"))
                .args(["-u", &format!("{ALICE}:")])
                .output()
                .await
                .unwrap();
            let listing = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(curl_code),
                "curl {scheme}: {}{listing}",
                String::from_utf8_lossy(&out.stderr)
            );
            if curl_code == 0 && scheme == "imaps" {
                assert!(listing.contains("INBOX"), "{listing}");
            }
            if curl_code == 0 && scheme == "pop3s" {
                assert_eq!(listing.lines().count(), INBOX.len(), "{listing}");
            }
            let args = with_token(
                dovecot.args(sub, port, &["--mechanism", "oauthbearer", "--json"]),
                &[],
            );
            let run = xoauth(&args, Some(token), None).await;
            assert_eq!(run.code, xoauth_code, "xoauth {sub}: {}", run.all());
        }
    }
}

/// Issue 13 against a real server: a bad or foreign token over POP3S is the same failure (exit
/// code, kind, stage, Dovecot's reply and decoded challenge) with and without pipelining, and
/// pipelined the AUTH line follows the greeting (no CAPA). A good token passes with AUTH, STAT
/// and a QUIT whose reply is not read, over POP3S and POP3+STLS.
#[tokio::test(flavor = "multi_thread")]
async fn dovecot_pop_failures_are_the_same_with_and_without_pipelining() {
    let Some((mock, dovecot)) = setup().await else {
        return;
    };
    let clients = |r: &serde_json::Value| -> Vec<String> {
        r["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["direction"] == "client")
            .map(|e| e["text"].as_str().unwrap().to_string())
            .collect()
    };
    let bob = mock.token(BOB);
    for (token, who) in [(BAD_TOKEN, "bad token"), (bob.as_str(), "bob's token")] {
        for mechanism in ["xoauth2", "oauthbearer"] {
            let what = format!("{who} {mechanism}");
            let run = |extra: &'static str| {
                let args = with_token(
                    dovecot.args(
                        "pop",
                        dovecot.pop3s,
                        &["--mechanism", mechanism, "--json", extra],
                    ),
                    &[],
                );
                async move { xoauth(&args, Some(token), None).await }
            };
            let sequential = run("--no-pipelining").await;
            let pipelined = run("-v").await;
            let verdict = |run: &Run| {
                let r = run.json();
                let f = &r["failure"];
                (
                    run.code,
                    f["kind"].clone(),
                    f["stage"].clone(),
                    f["server_reply"].clone(),
                    f["challenge"]["json"].clone(),
                )
            };
            let want = verdict(&sequential);
            assert_eq!(
                want.0,
                1,
                "{what}\n{}\n{}",
                sequential.all(),
                dovecot.logs()
            );
            assert_eq!(want.1, "auth_rejected", "{what}");
            assert_eq!(want.2, "auth", "{what}");
            assert_eq!(verdict(&pipelined), want, "{what}\n{}", pipelined.stdout);
            let sent = clients(&pipelined.json());
            assert_eq!(
                sent[0],
                format!("AUTH {}", mechanism.to_uppercase()),
                "{what}"
            );
            assert!(!sent.iter().any(|c| c == "CAPA"), "{what}: {sent:?}");
            assert!(!contains_jwt(&pipelined.all()), "{what}: a token leaked");
        }
    }
    let token = mock.token(ALICE);
    for (port, extra, first) in [
        (dovecot.pop3s, None, "AUTH XOAUTH2"),
        (dovecot.pop3, Some("--starttls"), "STLS"),
    ] {
        let mut flags = vec!["--json", "-v"];
        flags.extend(extra);
        let run = xoauth(
            &with_token(dovecot.args("pop", port, &flags), &[]),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(run.code, 0, "{}\n{}", run.all(), dovecot.logs());
        let r = run.json();
        let sent = clients(&r);
        assert_eq!(sent[0], first, "{sent:?}");
        assert_eq!(
            sent[sent.len() - 4..],
            ["AUTH XOAUTH2", "<redacted>", "STAT", "QUIT"],
            "{sent:?}"
        );
        let last = r["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["direction"] == "client" || e["direction"] == "server");
        assert_eq!(last.unwrap()["text"], "QUIT", "QUIT's reply is not read");
        assert_eq!(r["stat"]["messages"], INBOX.len());
    }
}
