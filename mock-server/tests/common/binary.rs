//! The real `xoauth-mock` binary as a child process: started with `--env-out` and
//! `--ca-out` in a fresh directory, its addresses read back from the env file, signalled
//! with `kill`, and its resident memory read from `/proc` (Linux).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A running `xoauth-mock`; killed (SIGKILL) on drop if still running.
pub struct Binary {
    child: Child,
    dir: PathBuf,
    vars: HashMap<String, String>,
    ca: CertificateDer<'static>,
}

impl Binary {
    /// Starts the binary with `args` and waits (at most 10 s) until every listener is up.
    pub fn start(name: &str, args: &[&str]) -> Binary {
        let dir = std::env::temp_dir().join(format!("xoauth-mock-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let env = dir.join("mock.env");
        let ca = dir.join("ca.pem");
        let mut child = Command::new(env!("CARGO_BIN_EXE_xoauth-mock"))
            .arg("--env-out")
            .arg(&env)
            .arg("--ca-out")
            .arg(&ca)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("xoauth-mock starts");
        let started = Instant::now();
        while !env.exists() {
            if let Some(status) = child.try_wait().expect("wait") {
                panic!("xoauth-mock exited early: {status}");
            }
            assert!(started.elapsed() < Duration::from_secs(10), "mock too slow");
            std::thread::sleep(Duration::from_millis(20));
        }
        let vars = std::fs::read_to_string(&env)
            .expect("env file")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(n, v)| (n.to_owned(), v.trim_matches('\'').to_owned()))
            .collect();
        let ca = CertificateDer::from_pem_file(&ca).expect("CA PEM");
        Binary {
            child,
            dir,
            vars,
            ca,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A listener's address from its `MOCK_*_PORT` variable, e.g. `addr("IMAPS")`.
    pub fn addr(&self, listener: &str) -> SocketAddr {
        let port = &self.vars[&format!("MOCK_{listener}_PORT")];
        format!("127.0.0.1:{port}").parse().expect("address")
    }

    /// The identity platform's address (`MOCK_IDP` is a URL).
    pub fn idp_addr(&self) -> SocketAddr {
        let url = &self.vars["MOCK_IDP"];
        url.trim_start_matches("https://")
            .parse()
            .expect("idp address")
    }

    /// TLS to `addr`, trusting only this mock's CA.
    pub async fn tls(&self, addr: SocketAddr) -> TlsStream<TcpStream> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.clone()).expect("trust anchor");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = TcpStream::connect(addr).await.expect("connect");
        TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
            .await
            .expect("TLS handshake with the mock CA")
    }

    /// Sends `signal` (e.g. `"TERM"`) with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// The exit status, waiting at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory in KiB (`VmRSS` of `/proc/PID/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS line")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
