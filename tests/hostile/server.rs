//! A scripted hostile server on 127.0.0.1:0 (plain TCP or implicit TLS, with an in-place TLS
//! upgrade for STARTTLS scripts) and a runner that measures the real binary against it: exit
//! code, elapsed time and peak memory.
//!
//! Peak memory is the child's `VmHWM` (the kernel's resident high-water mark) read from
//! `/proc/<pid>/status` every 20 ms while it runs: no extra package (`/usr/bin/time`) is
//! needed, and because the mark only grows, the last reading before exit is the peak to within
//! 20 ms of growth. A child still running at the runner's limit is killed and reported as such.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::util::*;

/// The token every hostile test sends; it must never appear in the output.
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.hostile-secret-7d3e1f.c2lnbmF0dXJl";

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One accepted connection as a script sees it.
pub struct Peer {
    stream: Option<Box<dyn Io>>,
    acceptor: tokio_rustls::TlsAcceptor,
    buf: Vec<u8>,
}

impl Peer {
    fn io(&mut self) -> &mut Box<dyn Io> {
        self.stream.as_mut().expect("stream present")
    }

    /// Sends `text` as it is; false once the client has gone.
    pub async fn send(&mut self, text: impl AsRef<[u8]>) -> bool {
        let io = self.io();
        io.write_all(text.as_ref()).await.is_ok() && io.flush().await.is_ok()
    }

    /// The client's next line without CRLF; `None` once it has gone (or after 64 KiB).
    pub async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                return Some(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > 64 * 1024 {
                return None;
            }
            let mut chunk = [0u8; 4096];
            let n = self.io().read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The client's next line's first word (an IMAP tag), and the line.
    pub async fn tagged(&mut self) -> Option<(String, String)> {
        let line = self.line().await?;
        let tag = line.split(' ').next().unwrap_or_default().to_string();
        Some((tag, line))
    }

    /// Upgrades this connection to TLS in place (after a STARTTLS/STLS answer).
    pub async fn tls(&mut self) -> bool {
        let plain = self.stream.take().expect("stream present");
        match self.acceptor.accept(plain).await {
            Ok(tls) => {
                self.stream = Some(Box::new(tls));
                true
            }
            Err(_) => false,
        }
    }

    /// Sends `text` one byte per `every` until it is sent or the client goes.
    pub async fn drip(&mut self, text: &[u8], every: Duration) {
        for b in text {
            tokio::time::sleep(every).await;
            if !self.send([*b]).await {
                return;
            }
        }
    }

    /// Sends `line()` (with CRLF) for ever, as fast as the client reads, until it goes.
    pub async fn endless(&mut self, mut line: impl FnMut(u64) -> String) {
        let mut batch = String::new();
        for n in 0u64.. {
            batch.push_str(&line(n));
            batch.push_str("\r\n");
            if batch.len() >= 16 * 1024 {
                if !self.send(&batch).await {
                    return;
                }
                batch.clear();
            }
        }
    }

    /// The client's next TLS record (5-byte header and body, e.g. its ClientHello); `None`
    /// once it has gone.
    pub async fn record(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.buf.len() >= 5 {
                let len = 5 + usize::from(u16::from_be_bytes([self.buf[3], self.buf[4]]));
                if self.buf.len() >= len {
                    return Some(self.buf.drain(..len).collect());
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.io().read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Keeps the connection open, reading and discarding, until the client goes.
    pub async fn hold(&mut self) {
        let mut chunk = [0u8; 1024];
        while matches!(self.io().read(&mut chunk).await, Ok(n) if n > 0) {}
    }
}

type Script = Arc<dyn Fn(Peer) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A listening hostile server. `tls` makes it speak implicit TLS from the first byte.
pub struct Hostile {
    pub port: u16,
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Hostile {
    pub async fn start<F, Fut>(tls: bool, script: F) -> Hostile
    where
        F: Fn(Peer) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: Script = Arc::new(move |p| Box::pin(script(p)));
        let (acceptor, ca_pem) = private_ca_acceptor("Hostile Test CA", &["127.0.0.1"], None);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let script = script.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let mut peer = Peer {
                        stream: Some(Box::new(tcp)),
                        acceptor,
                        buf: Vec::new(),
                    };
                    if tls && !peer.tls().await {
                        return;
                    }
                    script(peer).await;
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("hostile-ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        Hostile {
            port,
            ca_file,
            _dir: dir,
        }
    }

    /// `sub --host 127.0.0.1 --port P --ca-file F --user alice --json` with the token from
    /// the environment, then `extra`.
    pub fn args(&self, sub: &str, extra: &[&str]) -> Vec<String> {
        let mut v = strings(&[
            sub,
            "--provider",
            "custom",
            "--host",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
            "--ca-file",
            self.ca_file.to_str().unwrap(),
            "--user",
            ALICE,
            "--json",
        ]);
        v.extend(strings(extra));
        with_token(v, &[])
    }
}

/// What one run against a hostile server measured.
pub struct Measured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident memory in KiB.
    pub peak_kib: u64,
}

impl Measured {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The failure's message, for asserting on.
    pub fn failure(&self) -> String {
        self.json()["failure"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Runs `xoauth args` with [`TOKEN`], killing it after `limit` (a test failure).
pub async fn measure(args: &[String], limit: Duration) -> Measured {
    let mut child = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("xoauth"))
        .args(args)
        .env("XOAUTH_TEST_TOKEN", TOKEN)
        .env("XOAUTH_KEYRING_SERVICE", private_keyring_service())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("xoauth runs");
    let pid = child.id().expect("pid");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = tokio::spawn(async move {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s).await;
        s
    });
    let err = tokio::spawn(async move {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s).await;
        s
    });
    let started = Instant::now();
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = vm_hwm(pid) {
            peak_kib = peak_kib.max(kib);
        }
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill().await;
            panic!(
                "xoauth {args:?} still running after {limit:?} (peak {peak_kib} KiB): it must \
                 end by itself"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed();
    let m = Measured {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.await.unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.await.unwrap()).into_owned(),
        elapsed,
        peak_kib,
    };
    eprintln!(
        "hostile {:?}: exit {} in {:.1}s, peak {} KiB",
        args.first(),
        m.code,
        m.elapsed.as_secs_f32(),
        m.peak_kib
    );
    m
}

/// `VmHWM` of a running process in KiB.
/// `None` until the child has exec'd xoauth: between fork and exec `/proc/<pid>` is a copy of
/// the test process itself, whose high-water mark (the whole test binary's) is not xoauth's.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let name = status.lines().find(|l| l.starts_with("Name:"))?;
    if name.split_whitespace().nth(1) != Some("xoauth") {
        return None;
    }
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The common end of every hostile case: the exit code, a bounded time and memory, no panic,
/// no token in the output.
/// `code` -1 accepts 1 or 4 (a refusal or a network failure), for cases whose exit the test
/// asserts itself.
pub fn assert_contained(m: &Measured, code: i32, max_secs: f32, max_mib: u64) {
    if code == -1 {
        assert!(matches!(m.code, 1 | 4), "{}", m.all());
    } else {
        assert_eq!(m.code, code, "{}", m.all());
    }
    assert!(
        m.elapsed.as_secs_f32() <= max_secs,
        "took {:?} (limit {max_secs}s)\n{}",
        m.elapsed,
        m.all()
    );
    assert!(
        m.peak_kib <= max_mib * 1024,
        "peak memory {} KiB (limit {max_mib} MiB)\n{}",
        m.peak_kib,
        m.all()
    );
    assert!(!m.all().contains("panicked"), "{}", m.all());
    assert!(!m.all().contains(TOKEN), "the token leaked:\n{}", m.all());
    assert!(!m.all().contains("hostile-secret"), "{}", m.all());
}
