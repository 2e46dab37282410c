//! `xoauth-mock`: run the Exchange Online stand-in from a shell.
//!
//! Prints `scenario NAME: description` when serving a failure scenario (`--scenario`), one
//! line per listener (`imaps listening on 127.0.0.1:40123`, and
//! `idp listening on https://127.0.0.1:40129` for the identity platform), optionally writes
//! the CA certificate and, for scripts, the same addresses as shell variables (`--env-out`),
//! then serves until SIGINT (Ctrl-C) or SIGTERM: it stops accepting, ends every open
//! session, closes its listeners and exits 0.
//!
//! Exit codes: 0 = stopped by SIGINT/SIGTERM, 1 = could not start (bad config, port in
//! use, ...), 2 = bad command line.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use xoauth_mock::{Addrs, Config, MailboxKind, MockServer, SCENARIOS, Scenario, generate};

/// A local stand-in for Exchange Online's IMAP, POP3 and SMTP submission services and the
/// Microsoft identity platform, for testing OAuth (XOAUTH2 / OAUTHBEARER) clients offline.
///
/// It generates a throw-away CA at start; make your client trust it (see --ca-out).
/// Without --config it serves the built-in demo tenant (contoso.example, tenant id
/// 8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5b) with a public client
/// 11111111-2222-3333-4444-555555555555 (authorization code + PKCE, device code) and a
/// daemon app 66666666-7777-8888-9999-000000000000 (secret "mock-secret-valid-0001" or
/// the certificate mock-server/fixtures/app.pem). Get tokens from the printed idp URL, e.g.
/// POST {idp}/contoso.example/oauth2/v2.0/token; the mail services accept only tokens
/// that URL issued.
///
/// Limits (also [server] keys of the config): each connection ends after
/// --idle-timeout seconds without a complete command (default 1800) and after
/// --session-timeout seconds in all (default 3600); at most --max-connections
/// (default 1000, all listeners together) are served at once, and beyond that a new
/// connection gets "* BYE", "-ERR", "421 4.3.2" or HTTP 503 and is closed.
/// SIGINT (Ctrl-C) or SIGTERM stop the mock cleanly (exit code 0).
///
/// Large tenants (for bulk audits): --generate-mailboxes N adds N shared mailboxes named by
/// their outcome for the daemon app and the delegate alice (repeating every ten:
/// allowed-0001, denied-0002 (no FullAccess), imap-disabled-0003, pop-disabled-0004,
/// smtp-disabled-0005, no-sendas-0006 (FullAccess, no SendAs: SMTP AUTH refused), then
/// four more allowed); --mailboxes-out and --expected-out write the list to audit and the
/// expected cell of every protocol. --throttle-first K makes every service throttle the
/// first K sign-ins to each mailbox (IMAP "BAD Request is throttled. Suggested Backoff
/// Time: <ms> milliseconds", POP "-ERR Request is throttled. ...", SMTP "432 4.3.2 ...
/// sender thread limit exceeded"), so a client's retry after the backoff succeeds.
#[derive(Debug, Parser)]
#[command(name = "xoauth-mock", version, about, long_about)]
struct Cli {
    /// Scenario file (TOML: [server], [tenant], [idp], [[mailbox]], [[app]], [faults],
    /// [generate]); default: built-in demo tenant.
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    config: Option<PathBuf>,

    /// A failure scenario: a scenario file (TOML overlay on the demo tenant), or the name of
    /// a bundled one (see --list-scenarios), e.g. `wrong-audience`.
    #[arg(long, value_name = "FILE|NAME")]
    scenario: Option<String>,

    /// Print the bundled scenarios (name and description) and exit.
    #[arg(long)]
    list_scenarios: bool,

    /// Port for implicit-TLS IMAP (like 993); 0 picks a free port.
    #[arg(long, value_name = "P", default_value_t = 0)]
    imaps_port: u16,

    /// Port for plaintext IMAP offering STARTTLS (like 143); 0 picks a free port.
    #[arg(long, value_name = "P", default_value_t = 0)]
    imap_port: u16,

    /// Port for implicit-TLS POP3 (like 995); 0 picks a free port.
    #[arg(long, value_name = "P", default_value_t = 0)]
    pop3s_port: u16,

    /// Port for plaintext POP3 offering STLS (like 110); 0 picks a free port.
    #[arg(long, value_name = "P", default_value_t = 0)]
    pop3_port: u16,

    /// Port for SMTP submission with STARTTLS (like 587); 0 picks a free port.
    #[arg(long, value_name = "P", default_value_t = 0)]
    smtp_port: u16,

    /// Port for implicit-TLS SMTP submission (like 465); 0 picks a free port.
    #[arg(long, value_name = "P", default_value_t = 0)]
    smtps_port: u16,

    /// Port for the identity platform (HTTPS, like login.microsoftonline.com:443); 0 picks
    /// a free port.
    #[arg(long, value_name = "P", default_value_t = 0)]
    idp_port: u16,

    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,

    /// Write the CA certificate (PEM) here, for the client to trust.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,

    /// Once every listener is up (and the CA written), write their addresses here as shell
    /// variables (MOCK_HOST, MOCK_IMAPS_PORT, ..., MOCK_IDP, MOCK_CA) for `. FILE`. The file
    /// appears whole (written aside, then renamed), so a script may wait for it to exist.
    #[arg(long, value_name = "FILE")]
    env_out: Option<PathBuf>,

    /// Seconds a client may take for each command (HTTPS: for a request head, at most 30)
    /// before the mock says goodbye and closes; overrides [server] idle_timeout_secs.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: Option<u64>,

    /// Seconds a connection may last in all, however busy (HTTPS: at most 300); overrides
    /// [server] session_timeout_secs.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    session_timeout: Option<u64>,

    /// Connections served at once, all listeners together; more are refused politely and
    /// closed. Overrides [server] max_connections.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,

    /// Add N shared mailboxes with a fixed mix of outcomes (5 in 10 allowed, 1 in 10 each
    /// denied, IMAP disabled, POP disabled, SMTP AUTH disabled, no SendAs); overrides
    /// [generate] mailboxes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    generate_mailboxes: Option<u64>,

    /// Write the generated mailbox addresses (or, without generation, every configured
    /// one) here, one per line after a `#` header: the input of `xoauth check --mailboxes`.
    #[arg(long, value_name = "FILE")]
    mailboxes_out: Option<PathBuf>,

    /// Write the expected audit grid for those addresses here as CSV
    /// (address,imap,pop,smtp; each cell `pass` or the failure kind xoauth reports).
    #[arg(long, value_name = "FILE")]
    expected_out: Option<PathBuf>,

    /// Whose audit --expected-out describes: an app's client id or a user's address
    /// (default: the app the generated mailboxes grant access to).
    #[arg(long, value_name = "ID|ADDRESS", requires = "expected_out")]
    expected_for: Option<String>,

    /// Throttle the first K sign-ins to each mailbox on every protocol (counted per
    /// protocol and mailbox); overrides [faults] throttle_first.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    throttle_first: Option<u32>,

    /// The suggested backoff the throttling replies carry, in milliseconds (default 50);
    /// overrides [faults] throttle_backoff_ms.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    throttle_backoff_ms: Option<u64>,

    /// Authenticated SMTP sessions one mailbox may have at once, like Exchange Online's 3;
    /// one more gets "432 4.3.2 ... sender thread limit exceeded" at AUTH. Overrides [server]
    /// smtp_sessions_per_mailbox (default: no cap).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    smtp_sessions_per_mailbox: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xoauth-mock: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.list_scenarios {
        // Written, not println!: a closed pipe (`| head`) must not panic.
        let mut out = std::io::stdout().lock();
        for name in SCENARIOS {
            if let Some(s) = Scenario::bundled(name)
                && writeln!(out, "{name}: {}", s.description).is_err()
            {
                break;
            }
        }
        return Ok(());
    }
    let scenario = cli.scenario.as_deref().map(load_scenario).transpose()?;
    let mut config = match (&cli.config, &scenario) {
        (_, Some(scenario)) => scenario.config.clone(),
        (Some(path), None) => Config::from_file(path)?,
        (None, None) => Config::demo(),
    };
    if let Some(secs) = cli.idle_timeout {
        config.server.idle_timeout_secs = secs;
    }
    if let Some(secs) = cli.session_timeout {
        config.server.session_timeout_secs = secs;
    }
    if let Some(n) = cli.max_connections {
        config.server.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = cli.generate_mailboxes {
        config.generate.mailboxes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = cli.smtp_sessions_per_mailbox {
        config.server.smtp_sessions_per_mailbox = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(k) = cli.throttle_first {
        config.faults.throttle_first = k;
    }
    if let Some(ms) = cli.throttle_backoff_ms {
        config.faults.throttle_backoff_ms = ms;
    }
    if let Some(scenario) = &scenario {
        println!("scenario {}: {}", scenario.name, scenario.description);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(serve(cli, config))
}

/// `--scenario`: an existing file, else a bundled name.
fn load_scenario(arg: &str) -> anyhow::Result<Scenario> {
    let path = std::path::Path::new(arg);
    if path.exists() || arg.contains('/') || arg.ends_with(".toml") {
        return Ok(Scenario::from_file(path)?);
    }
    Scenario::bundled(arg).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown scenario {arg:?}: give a scenario file or one of {}",
            SCENARIOS.join(", ")
        )
    })
}

async fn serve(cli: Cli, config: Config) -> anyhow::Result<()> {
    // A file left by an earlier run must not pass for this one's while it starts (or fails).
    if let Some(path) = &cli.env_out {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot replace {}", path.display()));
            }
            _ => {}
        }
    }
    let addrs = Addrs {
        imaps: SocketAddr::new(cli.bind, cli.imaps_port),
        imap_starttls: SocketAddr::new(cli.bind, cli.imap_port),
        pop3s: SocketAddr::new(cli.bind, cli.pop3s_port),
        pop3_starttls: SocketAddr::new(cli.bind, cli.pop3_port),
        smtp_submission: SocketAddr::new(cli.bind, cli.smtp_port),
        smtps: SocketAddr::new(cli.bind, cli.smtps_port),
        idp: SocketAddr::new(cli.bind, cli.idp_port),
    };
    let tenant = Tenant::new(config, cli.expected_for.as_deref())?;
    let server = MockServer::start_on(tenant.config.clone(), addrs).await?;
    // Write the CA before announcing the listeners: whoever waits for those lines can
    // rely on the file being there.
    if let Some(path) = &cli.ca_out {
        std::fs::write(path, server.ca_pem())
            .with_context(|| format!("cannot write the CA certificate to {}", path.display()))?;
    }
    if let Some(path) = &cli.mailboxes_out {
        write_whole(path, &tenant.mailbox_list())
            .with_context(|| format!("cannot write the mailbox list to {}", path.display()))?;
    }
    if let Some(path) = &cli.expected_out {
        write_whole(path, &tenant.expected_csv())
            .with_context(|| format!("cannot write the expected grid to {}", path.display()))?;
    }
    if let Some(path) = &cli.env_out {
        let ca = cli.ca_out.as_deref().map(std::path::absolute).transpose()?;
        write_whole(path, &env_file(&server, ca.as_deref()))
            .with_context(|| format!("cannot write the addresses to {}", path.display()))?;
    }
    println!("imaps listening on {}", server.imaps_addr());
    println!("imap listening on {}", server.imap_starttls_addr());
    println!("pop3s listening on {}", server.pop3s_addr());
    println!("pop3 listening on {}", server.pop3_starttls_addr());
    println!("smtp listening on {}", server.smtp_submission_addr());
    println!("smtps listening on {}", server.smtps_addr());
    println!("idp listening on {}", server.idp_url());
    if let Some(path) = &cli.ca_out {
        println!("ca written to {}", path.display());
    }
    if let Some(path) = &cli.env_out {
        println!("addresses written to {}", path.display());
    }
    if let Some(path) = &cli.mailboxes_out {
        println!(
            "{} mailboxes written to {}",
            tenant.addresses.len(),
            path.display()
        );
    }
    if let Some(path) = &cli.expected_out {
        println!("expected grid written to {}", path.display());
    }
    stop_requested().await?;
    server.shutdown().await;
    Ok(())
}

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM (what CI runners and `kill` send).
async fn stop_requested() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot wait for SIGTERM")?;
        tokio::select! {
            ctrl_c = tokio::signal::ctrl_c() => ctrl_c.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    Ok(())
}

/// The `--env-out` file: one `NAME=value` line per listener, in sh syntax.
fn env_file(server: &MockServer, ca: Option<&std::path::Path>) -> String {
    // A wildcard bind is reached on loopback.
    let host = match server.imaps_addr().ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let mut vars = vec![
        ("MOCK_HOST", host.to_string()),
        ("MOCK_IMAPS_PORT", server.imaps_addr().port().to_string()),
        (
            "MOCK_IMAP_PORT",
            server.imap_starttls_addr().port().to_string(),
        ),
        ("MOCK_POP3S_PORT", server.pop3s_addr().port().to_string()),
        (
            "MOCK_POP3_PORT",
            server.pop3_starttls_addr().port().to_string(),
        ),
        (
            "MOCK_SMTP_PORT",
            server.smtp_submission_addr().port().to_string(),
        ),
        ("MOCK_SMTPS_PORT", server.smtps_addr().port().to_string()),
        ("MOCK_IDP", server.idp_url()),
    ];
    if let Some(ca) = ca {
        vars.push(("MOCK_CA", ca.to_string_lossy().into_owned()));
    }
    vars.iter()
        .map(|(name, value)| format!("{name}={}\n", sh_quote(value)))
        .collect()
}

/// `value` as one sh word: bare when it is plainly safe, else single-quoted.
fn sh_quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// Writes `text` beside `path` and renames it into place, so readers never see half of it.
fn write_whole(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".{}.tmp", std::process::id()));
    let aside = PathBuf::from(aside);
    let written = std::fs::write(&aside, text).and_then(|()| std::fs::rename(&aside, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    Ok(written?)
}

/// The served tenant with what `--mailboxes-out` and `--expected-out` say about it.
struct Tenant {
    /// With `[generate]` carried out.
    config: Config,
    /// The generated addresses, or every configured one when nothing is generated.
    addresses: Vec<String>,
    /// Whose audit the expected grid describes.
    principal: Option<String>,
    generated: bool,
}

impl Tenant {
    fn new(config: Config, expected_for: Option<&str>) -> anyhow::Result<Tenant> {
        let generated = config.generate.mailboxes > 0;
        let mut addresses = config.generated_addresses()?;
        let principal = match expected_for {
            Some(p) => Some(p.to_owned()),
            None => generate::generate_app(&config)?.or(generate::generate_delegate(&config)?),
        };
        let config = config.with_generated()?;
        if !generated {
            // HVE accounts are senders, not mailboxes: an audit of mailboxes leaves them out.
            addresses = (config.mailboxes.iter())
                .filter(|m| m.kind != MailboxKind::Hve)
                .map(|m| m.address.clone())
                .collect();
        }
        Ok(Tenant {
            config,
            addresses,
            principal,
            generated,
        })
    }

    fn mailbox_list(&self) -> String {
        let what = if self.generated {
            "generated"
        } else {
            "configured"
        };
        let header = format!(
            "xoauth-mock: {} {what} mailboxes of tenant {}, one address per line\n\
             input for: xoauth check --mailboxes FILE",
            self.addresses.len(),
            self.config.idp.tenant_id
        );
        generate::mailbox_list(&self.addresses, &header)
    }

    fn expected_csv(&self) -> String {
        // No app and no user at all: nobody can open anything, which `expected` says for
        // an empty principal.
        let principal = self.principal.as_deref().unwrap_or_default();
        generate::expected_csv(&generate::expected(
            &self.config,
            principal,
            &self.addresses,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["xoauth-mock", "--imaps-port", "993", "--ca-out", "x.pem"])
            .expect("valid flags");
        assert_eq!(cli.imaps_port, 993);
        assert_eq!(cli.imap_port, 0);
        assert_eq!(cli.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(Cli::try_parse_from(["xoauth-mock", "--imap-port", "70000"]).is_err());
        let cli = Cli::try_parse_from([
            "xoauth-mock",
            "--pop3s-port",
            "995",
            "--pop3-port",
            "110",
            "--smtp-port",
            "587",
            "--smtps-port",
            "465",
            "--idp-port",
            "8443",
        ])
        .expect("valid flags");
        assert_eq!(
            (cli.pop3s_port, cli.pop3_port, cli.smtp_port, cli.smtps_port),
            (995, 110, 587, 465)
        );
        assert_eq!(cli.idp_port, 8443);
        let cli = Cli::try_parse_from([
            "xoauth-mock",
            "--idle-timeout",
            "5",
            "--session-timeout",
            "60",
            "--max-connections",
            "10",
        ])
        .expect("valid limits");
        assert_eq!(
            (cli.idle_timeout, cli.session_timeout, cli.max_connections),
            (Some(5), Some(60), Some(10))
        );
        for zero in ["--idle-timeout", "--session-timeout", "--max-connections"] {
            assert!(
                Cli::try_parse_from(["xoauth-mock", zero, "0"]).is_err(),
                "{zero} 0"
            );
        }
        let cli = Cli::try_parse_from([
            "xoauth-mock",
            "--generate-mailboxes",
            "1000",
            "--mailboxes-out",
            "m.txt",
            "--expected-out",
            "e.csv",
            "--expected-for",
            "alice@contoso.example",
            "--throttle-first",
            "2",
            "--throttle-backoff-ms",
            "75",
            "--smtp-sessions-per-mailbox",
            "3",
        ])
        .expect("valid");
        assert_eq!(
            (
                cli.generate_mailboxes,
                cli.throttle_first,
                cli.throttle_backoff_ms,
                cli.smtp_sessions_per_mailbox
            ),
            (Some(1000), Some(2), Some(75), Some(3))
        );
        assert_eq!(cli.expected_for.as_deref(), Some("alice@contoso.example"));
        for bad in [
            &["--generate-mailboxes", "0"][..],
            &["--generate-mailboxes", "1000001"],
            &["--throttle-first", "0"],
            &["--throttle-backoff-ms", "3600001"],
            &["--smtp-sessions-per-mailbox", "0"],
            &["--expected-for", "x"],
        ] {
            let args = std::iter::once("xoauth-mock").chain(bad.iter().copied());
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
        let cli = Cli::try_parse_from(["xoauth-mock", "--scenario", "throttled"]).expect("valid");
        assert_eq!(cli.scenario.as_deref(), Some("throttled"));
        assert!(
            Cli::try_parse_from(["xoauth-mock", "--scenario", "x", "--config", "c.toml"]).is_err()
        );
    }

    #[test]
    fn env_values_survive_sh() {
        assert_eq!(sh_quote("127.0.0.1"), "127.0.0.1");
        assert_eq!(sh_quote("https://127.0.0.1:443"), "https://127.0.0.1:443");
        let tricky = ["/tmp/a b/ca.pem", "it's", "$HOME `x` \\n", "*", "[::1]", ""];
        let script: String = tricky
            .iter()
            .map(|v| format!("V={}\nprintf '%s|' \"$V\"\n", sh_quote(v)))
            .collect();
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{}|", tricky.join("|"))
        );
    }

    #[test]
    fn env_file_replaces_whole() {
        let dir = std::env::temp_dir().join(format!("xoauth-mock-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mock.env");
        std::fs::write(&path, "old").unwrap();
        write_whole(&path, "MOCK_HOST=127.0.0.1\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "MOCK_HOST=127.0.0.1\n"
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "nothing left aside"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scenarios_load_by_name_or_path() {
        let s = load_scenario("imap-disabled").expect("bundled");
        assert_eq!(s.name, "imap-disabled");
        let e = load_scenario("no-such").expect_err("unknown").to_string();
        assert!(e.contains("no-such") && e.contains("wrong-audience"), "{e}");
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/throttled.toml");
        assert_eq!(load_scenario(file).expect("file").name, "throttled");
        assert!(load_scenario("/nonexistent/x.toml").is_err());
    }
}
