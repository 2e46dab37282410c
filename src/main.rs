//! The `xoauth` binary: parse flags, build a plan, run it, render the report, exit with the
//! documented code. `anyhow`-style handling lives only here.
//!
//! Exit codes: the contract in `xoauth::outcome::ExitStatus` (0 pass, 1 check failed, 2 usage,
//! 3 token, 4 network or TLS), which the reports, the demo and this file all use.
//!
//! Output contract: with `--json`, standard output holds one JSON document whatever happens
//! (a report, or `{"error":{"kind":"usage","message":…},"exit_code":2}`); with
//! `token --print`, it holds the token or nothing, and every message goes to standard error;
//! with `check --nagios`, it holds one plugin status line, an error included (`XOAUTH UNKNOWN`,
//! exit 3 as the plugin guidelines want).

mod cli;
#[cfg(feature = "demo")]
mod demo;
mod outputs;
mod profile_args;
mod progress;
mod shell_docs;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;
use xoauth::outcome::ExitStatus;
use xoauth::plan::{Plan, UsageError};
use xoauth::report::audit::Audit;
use xoauth::report::{Combined, Report};

use xoauth::transport::util::escape_text;

use crate::cli::{Cli, Command};

/// How an error that stops the run is shown: always one line on standard error; with `--json`
/// also a JSON object on standard output, so a script that parses standard output gets a
/// document either way.
#[derive(Debug, Clone, Copy)]
struct Errors {
    json: bool,
    /// `--json` was asked for but `--print` holds standard output.
    json_silenced: bool,
    /// `--nagios`: an error is the plugin's UNKNOWN line on standard output, exit 3 (it wins
    /// over `--json`, refused with it, as `--print` does: the plugin's reader parses the line).
    nagios: bool,
}

impl Errors {
    /// Read from the raw arguments, because clap's own errors come before there is a `Cli`.
    /// `--print` wins over `--json` (the two are refused together): its standard output holds
    /// a token or nothing.
    fn from_args(args: &[OsString]) -> Errors {
        let flags: Vec<&OsString> = args
            .iter()
            .skip(1)
            .take_while(|a| a.as_os_str() != "--")
            .collect();
        // `--json=yes` is a usage error too, and the one who typed it expects JSON.
        let has = |flag: &str| {
            flags.iter().any(|a| {
                a.as_os_str() == flag
                    || a.to_str()
                        .is_some_and(|a| a.strip_prefix(flag).is_some_and(|v| v.starts_with('=')))
            })
        };
        Errors {
            json: has("--json") && !has("--print") && !has("--nagios"),
            json_silenced: has("--json") && has("--print"),
            nagios: has("--nagios"),
        }
    }
}

fn main() -> ExitCode {
    // A panic is a bug, whatever caused it: one line naming where, without the default hook's
    // "thread panicked" noise around a report that already says what failed (the library
    // turns a parser's panic on a server's bytes into a failed check).
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("xoauth: internal error{place}: {}", escape_text(&message));
    }));
    let args: Vec<OsString> = std::env::args_os().collect();
    // `--profile`'s keys become flags before the parse that counts.
    let (args, profile) = match profile_args::expand(args.clone()) {
        Ok(expanded) => (expanded.args, expanded.applied),
        Err(e) => return fail(e.into(), Errors::from_args(&args)),
    };
    if let Some(p) = &profile {
        let _ = PROFILE_NOTE.set(p.note());
    }
    let errors = Errors::from_args(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitStatus::Pass.into();
        }
        Err(e) => {
            // A value the profile gave: say so, with the key's line.
            if let Some(message) = profile.as_ref().and_then(|p| profile_args::explain(&e, p)) {
                return fail(anyhow::anyhow!(message), errors);
            }
            let _ = e.print();
            if let Some(note) = PROFILE_NOTE.get() {
                eprintln!("xoauth: note: {}", escape_text(note));
            }
            if errors.nagios {
                let text = e.render().to_string();
                let text = text.strip_prefix("error: ").unwrap_or(&text);
                return outputs::nagios_unknown(text.split("\n\n").next().unwrap_or(text).trim());
            }
            if errors.json_silenced {
                eprintln!(
                    "xoauth: note: no JSON error object on standard output: with --print it \
                     holds the token and nothing else, even when --json is given too"
                );
            }
            if errors.json {
                let text = e.render().to_string();
                let text = text.strip_prefix("error: ").unwrap_or(&text);
                let first = text.split("\n\n").next().unwrap_or(text).trim();
                println!("{}", usage_json(first));
            }
            return ExitStatus::Usage.into();
        }
    };
    let fail = |e: anyhow::Error| fail(e, errors);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        match cli.command {
            Command::Imap(args) => {
                let output = args.common.output.clone();
                let bundle = args.bundle.support_bundle.clone();
                single(args.into_raw().build(), &output, bundle, errors).await
            }
            Command::Pop(args) => {
                let output = args.common.output.clone();
                let bundle = args.bundle.support_bundle.clone();
                single(args.into_raw().build(), &output, bundle, errors).await
            }
            Command::Smtp(args) => {
                let output = args.common.output.clone();
                let bundle = args.bundle.support_bundle.clone();
                single(args.into_raw().build(), &output, bundle, errors).await
            }
            Command::Check(args) => {
                let output = args.common.output.clone();
                let audit_outputs = args.audit_outputs.clone();
                let bundle = args.bundle.support_bundle.clone();
                if bundle.is_some() && args.mailboxes.is_some() {
                    return fail(anyhow::anyhow!(
                        "--support-bundle is for one check; with --mailboxes, run the check of \
                         the mailbox in question again with --support-bundle"
                    ));
                }
                if let Some(path) = args.mailboxes.clone() {
                    return match read_list(&path) {
                        Ok(list) => {
                            let mut raw = args.into_raw();
                            raw.mailboxes = Some(list);
                            audit(raw, &output, &audit_outputs, errors).await
                        }
                        Err(e) => fail(e),
                    };
                }
                let mut plan = match args.into_raw().build() {
                    Ok(plan) => plan,
                    Err(e) => return fail(e.into()),
                };
                if let Err(e) = outputs::preflight(&audit_outputs) {
                    return fail(e);
                }
                if let Err(e) = bundle_preflight(bundle.as_deref(), &mut plan) {
                    return fail(e);
                }
                let started_at = xoauth::token::now().max(0) as u64;
                let clock = std::time::Instant::now();
                match xoauth::run::run(&plan).await {
                    Ok(reports) => {
                        if let Some(path) = &bundle
                            && let Err(e) = write_bundle(path, &plan, &reports, started_at as i64)
                        {
                            return fail(e);
                        }
                        let reports = shown(reports, output.verbose);
                        // A single check is a one-row audit for the audit's outputs.
                        let elapsed_ms = clock.elapsed().as_millis() as u64;
                        let audit = Audit::from_reports(started_at, elapsed_ms, reports.clone());
                        let written = outputs::write_audit_outputs(&audit, &audit_outputs);
                        if audit_outputs.nagios {
                            return match written {
                                Ok(()) => outputs::nagios_exit(&audit),
                                Err(e) => fail(e),
                            };
                        }
                        let combined = Combined::new(reports);
                        if !output.json {
                            print!("{}", combined.render_human());
                        } else if written.is_ok() {
                            // Otherwise the one document on stdout is the error's.
                            println!("{}", combined.to_json());
                        }
                        match written {
                            Ok(()) => ExitCode::from(combined.exit_code),
                            Err(e) => fail(e),
                        }
                    }
                    Err(e) => fail(e.into()),
                }
            }
            Command::Token(args) => {
                let output = args.common.output.clone();
                let print = args.print;
                let plan = match args.into_raw().build() {
                    Ok(plan) => plan,
                    Err(e) => return fail(e.into()),
                };
                match xoauth::run::token(&plan).await {
                    Ok((report, raw)) => {
                        if print {
                            // stdout carries the token alone, or nothing when there is none:
                            // `T=$(xoauth token --print)` must never capture a message.
                            if let Some(raw) = raw {
                                println!("{}", raw.expose());
                            }
                            eprint!("{}", report.render_human());
                        } else if output.json {
                            println!("{}", report.to_json());
                        } else {
                            print!("{}", report.render_human());
                        }
                        ExitCode::from(report.exit_code)
                    }
                    Err(e) => fail(e.into()),
                }
            }
            Command::Cache(cmd) => cache(cmd, errors).await,
            Command::SetupScript(args) => {
                match args
                    .into_raw()
                    .build()
                    .map_err(anyhow::Error::from)
                    .and_then(|r| xoauth::setup_script::render(&r).map_err(anyhow::Error::from))
                {
                    Ok(script) => {
                        print!("{script}");
                        ExitStatus::Pass.into()
                    }
                    Err(e) => fail(e),
                }
            }
            Command::LegacyAuth(args) => legacy_auth(args, errors).await,
            #[cfg(feature = "demo")]
            Command::Demo(args) => demo::run(&args.output).await,
            Command::Completions { shell } => {
                match shell_docs::completions(shell, &mut std::io::stdout().lock()) {
                    Ok(()) => ExitStatus::Pass.into(),
                    Err(e) => fail(anyhow::anyhow!("cannot write the completions: {e}")),
                }
            }
            Command::Man { subcommand } => {
                match shell_docs::man(subcommand.as_deref(), &mut std::io::stdout().lock()) {
                    Ok(()) => ExitStatus::Pass.into(),
                    Err(e) => fail(e),
                }
            }
        }
    })
}

/// `xoauth legacy-auth`: the report from an export, or the KQL. A file that cannot be read as
/// a sign-in log is a usage error (exit 2); bad rows are warnings in the report.
async fn legacy_auth(args: cli::LegacyAuthArgs, errors: Errors) -> ExitCode {
    use xoauth::legacy::{Reader, Summary, kql, time};
    let fail = |e: anyhow::Error| fail(e, errors);
    let window = match args.since.as_deref().map(|w| (w, time::window(w))) {
        None => None,
        Some((w, Some(secs))) => Some((w.to_string(), secs)),
        Some((w, None)) => {
            return fail(anyhow::anyhow!(
                "--since {w:?}: expected a number followed by d, h or m (e.g. 7d, 24h)"
            ));
        }
    };
    if args.kql {
        let w = window.map(|(w, _)| w).unwrap_or_else(|| "7d".into());
        print!("{}", kql::query(&w));
        return ExitStatus::Pass.into();
    }
    if args.graph {
        let window = window.unwrap_or_else(|| ("7d".into(), 7 * 86_400));
        return match legacy_graph(&args, window.1).await {
            Ok(summary) => match write_legacy_html(&summary, args.html.as_deref()) {
                Ok(()) => {
                    print_legacy(&summary, args.json);
                    ExitStatus::Pass.into()
                }
                Err(e) => fail(e),
            },
            Err((status, e)) => {
                // Graph's refusals are about the token (exit 3); an unreachable Graph is the
                // network's (exit 4); both name the cause, the JSON error object included.
                eprintln!("xoauth: error: {}", escape_text(&format!("{e:#}")));
                if args.json {
                    println!("{}", usage_json(&format!("{e:#}")));
                }
                status.into()
            }
        };
    }
    let Some(path) = args.file else {
        return fail(anyhow::anyhow!("--file PATH, --graph or --kql is required"));
    };
    let (source, input): (String, Box<dyn std::io::BufRead + Send>) = if path.as_os_str() == "-" {
        (
            "standard input".into(),
            Box::new(std::io::BufReader::new(std::io::stdin())),
        )
    } else {
        match std::fs::File::open(&path) {
            Ok(f) => (
                path.display().to_string(),
                Box::new(std::io::BufReader::with_capacity(64 * 1024, f)),
            ),
            Err(e) => return fail(anyhow::anyhow!("--file {}: {e}", path.display())),
        }
    };
    let since = window.map(|(_, secs)| xoauth::token::now() - secs);
    let mut summary = Summary::new(source.clone(), since);
    let result = Reader::new(input).and_then(|mut reader| {
        summary.format = Some(reader.format());
        summary.read_all(reader.by_ref())?;
        if reader.next_link().is_some() {
            summary.warn(
                0,
                "this is one page of Graph's answer: its @odata.nextLink says more sign-ins \
                 exist; fetch every page (or use --since with a shorter window)"
                    .into(),
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        return fail(anyhow::anyhow!("--file {source}: {e}"));
    }
    if let Err(e) = write_legacy_html(&summary, args.html.as_deref()) {
        return fail(e);
    }
    print_legacy(&summary, args.json);
    ExitStatus::Pass.into()
}

/// `legacy-auth --html FILE`: the page next to whatever is printed.
fn write_legacy_html(
    summary: &xoauth::legacy::Summary,
    path: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let page = xoauth::report::legacy_html::render(&summary.to_json());
    std::fs::write(path, page)
        .map_err(|e| anyhow::anyhow!("--html {}: cannot write it: {e}", path.display()))
}

fn print_legacy(summary: &xoauth::legacy::Summary, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary.to_json()).unwrap_or_default()
        );
    } else {
        print!("{}", summary.render_human());
    }
}

/// `legacy-auth --graph`: the token from the environment or a file, every page of the last
/// `window_secs` from Graph. A usage problem is exit 2, Graph's refusal 3, no answer 4.
async fn legacy_graph(
    args: &cli::LegacyAuthArgs,
    window_secs: i64,
) -> Result<xoauth::legacy::Summary, (ExitStatus, anyhow::Error)> {
    use xoauth::run::legacy_graph::{GraphError, fetch};
    use xoauth::token::TokenSource;
    let usage = |e: anyhow::Error| (ExitStatus::Usage, e);
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(usage(anyhow::anyhow!(
            "--timeout must be more than 0 seconds"
        )));
    }
    let timeout = std::time::Duration::from_secs_f64(args.timeout.min(3600.0));
    // The token goes to this URL: https only (plain http on loopback, for a stand-in), as for
    // the identity platform's endpoints.
    xoauth::token::provider::endpoint("--graph-url", &args.graph_url)
        .map_err(|e| usage(e.into()))?;
    let source = match (&args.access_token_env, &args.access_token_file) {
        (Some(var), _) => TokenSource::Env(var.clone()),
        (None, Some(path)) => TokenSource::File(path.clone()),
        (None, None) => {
            return Err(usage(anyhow::anyhow!(
                "--graph needs a Graph token: --access-token-env VAR or --access-token-file FILE"
            )));
        }
    };
    let token = xoauth::token::source::load(&source, timeout)
        .await
        .map_err(|e| (ExitStatus::Token, anyhow::anyhow!("{e}")))?;
    let mut roots = Vec::new();
    for path in &args.ca_file {
        let found = xoauth::transport::tls::load_ca_file(path)
            .map_err(|e| usage(anyhow::anyhow!("--ca-file {}: {e}", path.display())))?;
        roots.extend(found);
    }
    let client = xoauth::token::http::client(&roots, timeout).map_err(|e| usage(e.into()))?;
    let since = xoauth::token::now() - window_secs;
    let mut summary =
        xoauth::legacy::Summary::new(format!("Graph {}", args.graph_url), Some(since));
    match fetch(&client, &args.graph_url, &token, since, &mut summary).await {
        Ok(fetched) => {
            eprintln!(
                "xoauth: read {} page(s) of sign-ins from Graph{}",
                fetched.pages,
                if fetched.retries > 0 {
                    format!(
                        ", after {} throttled request(s) (Retry-After honoured)",
                        fetched.retries
                    )
                } else {
                    String::new()
                }
            );
            Ok(summary)
        }
        Err(e @ (GraphError::Http(_) | GraphError::Page(_))) => {
            Err((ExitStatus::Network, e.into()))
        }
        Err(e) => Err((ExitStatus::Token, e.into())),
    }
}

/// `xoauth cache list|clear`.
async fn cache(cmd: cli::CacheCmd, errors: Errors) -> ExitCode {
    let fail = |e: anyhow::Error| fail(e, errors);
    let store = match xoauth::token::open_store().await {
        Ok(store) => store,
        // The user's choice, not a failure: nothing is cached, so there is nothing to list or
        // clear (exit 0). The keyring's entries, if any, stay where they are.
        Err(e @ xoauth::token::cache::CacheError::Off) => {
            match cmd {
                cli::CacheCmd::List { json: true } => println!(
                    "{}",
                    serde_json::json!({ "backend": "none", "entries": [] })
                ),
                cli::CacheCmd::List { json: false } => println!("{e}; nothing to list"),
                cli::CacheCmd::Clear => {
                    println!("{e}; nothing was removed (unset it to clear the keyring's entries)")
                }
            }
            return ExitStatus::Pass.into();
        }
        // Already says what is wrong: a typo in XOAUTH_KEYRING, or what was tried and why
        // each keyring failed.
        Err(e) => return fail(anyhow::anyhow!("{e}")),
    };
    let backend = store.backend();
    let result = tokio::task::spawn_blocking(move || match cmd {
        cli::CacheCmd::List { json } => store.list().map(|entries| {
            let now = xoauth::token::now();
            if json {
                let rows: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "provider": e.key.provider, "tenant": e.key.tenant,
                            "client_id": e.key.client_id, "flow": e.key.flow,
                            // A fingerprint of the secret, a thumbprint, or public-client.
                            "credential": e.key.credential,
                            "user": e.key.user, "scopes": e.key.scopes,
                            "expires_at": xoauth::transport::util::rfc3339(e.expires_at),
                            "expired": e.expires_at <= now,
                            "has_refresh_token": e.has_refresh_token,
                        })
                    })
                    .collect();
                let doc = serde_json::json!({ "backend": backend, "entries": rows });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!("{} cached token(s) in the {backend} keyring", entries.len());
                for e in &entries {
                    let left = e.expires_at - now;
                    let state = if left >= 120 {
                        format!("expires in {} min", left / 60)
                    } else if left > 0 {
                        // "0 min" for a token still valid says nothing.
                        format!("expires in {left} s")
                    } else {
                        "expired".to_string()
                    };
                    let refresh = if e.has_refresh_token {
                        ", refresh token"
                    } else {
                        ""
                    };
                    let line = format!(
                        "{} {} {} {} {} {} [{}]",
                        e.key.provider,
                        e.key.tenant,
                        e.key.client_id,
                        e.key.flow,
                        e.key.credential,
                        e.key.user,
                        e.key.scopes.join(" ")
                    );
                    // Keyring entries are readable and writable by other programs.
                    println!("  {}: {state}{refresh}", escape_text(&line));
                }
            }
        }),
        cli::CacheCmd::Clear => store.clear().map(|n| {
            println!("removed {n} cached token(s) from the {backend} keyring");
        }),
    })
    .await;
    match result {
        Ok(Ok(())) => ExitStatus::Pass.into(),
        Ok(Err(e)) => fail(anyhow::anyhow!("the {backend} keyring failed: {e}")),
        Err(e) => fail(anyhow::anyhow!("the keyring task failed: {e}")),
    }
}

/// The most a mailbox list may hold: far more than any tenant's mailboxes as CSV.
const MAX_LIST_BYTES: u64 = 64 * 1024 * 1024;

/// Reads `--mailboxes FILE` (`-`: standard input); the plan decodes and parses it.
fn read_list(path: &std::path::Path) -> anyhow::Result<xoauth::plan::args::RawMailboxList> {
    use std::io::Read as _;
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    let read = if name == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_LIST_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_LIST_BYTES + 1).read_to_end(&mut bytes))
    };
    let what = if name == "-" {
        "standard input".to_string()
    } else {
        name.clone()
    };
    if let Err(e) = read {
        anyhow::bail!("--mailboxes {what}: cannot read it: {e}");
    }
    if bytes.len() as u64 > MAX_LIST_BYTES {
        anyhow::bail!(
            "--mailboxes {what}: more than {} MiB; split the list",
            MAX_LIST_BYTES / 1024 / 1024
        );
    }
    Ok(xoauth::plan::args::RawMailboxList { name, bytes })
}

/// `xoauth check --mailboxes`: the audit, its summary (or JSON lines), and a progress bar on
/// a terminal.
async fn audit(
    raw: xoauth::plan::args::RawCheck,
    output: &cli::OutputArgs,
    files: &cli::AuditOutputArgs,
    errors: Errors,
) -> ExitCode {
    let plan = match raw.build_audit() {
        Ok(plan) => plan,
        Err(e) => return fail(e.into(), errors),
    };
    // An output that cannot be written stops the run before the first check, not after an
    // hour of them.
    if let Err(e) = outputs::preflight(files) {
        return fail(e, errors);
    }
    let total = plan.list.mailboxes.len() * plan.plan.checks.len();
    let bar = std::sync::Arc::new(progress::Bar::new(
        total as u64,
        !output.json && !files.nagios,
    ));
    let tick = bar.clone();
    let on_cell: std::sync::Arc<xoauth::run::audit::OnCell> =
        std::sync::Arc::new(move |_mailbox: &str, _passed: bool| tick.inc());
    let result = xoauth::run::audit::audit(&plan, on_cell).await;
    bar.finish();
    let audit = match result {
        Ok(audit) => audit,
        Err(e) => return fail(e.into(), errors),
    };
    let written = outputs::write_audit_outputs(&audit, files);
    if files.nagios {
        return match written {
            Ok(()) => outputs::nagios_exit(&audit),
            Err(e) => fail(e, errors),
        };
    }
    if !output.json {
        print!("{}", audit.render_human());
    } else if written.is_ok() {
        // Otherwise the one document on stdout is the error's.
        print!("{}", audit.to_json_lines());
    }
    match written {
        Ok(()) => ExitCode::from(audit.summary().exit_code),
        Err(e) => fail(e, errors),
    }
}

/// Runs a one-check plan and prints its report.
async fn single(
    plan: Result<Plan, UsageError>,
    output: &cli::OutputArgs,
    bundle: Option<PathBuf>,
    errors: Errors,
) -> ExitCode {
    let fail = |e: anyhow::Error| fail(e, errors);
    let mut plan = match plan {
        Ok(plan) => plan,
        Err(e) => return fail(e.into()),
    };
    if let Err(e) = bundle_preflight(bundle.as_deref(), &mut plan) {
        return fail(e);
    }
    let started = xoauth::token::now();
    match xoauth::run::run(&plan).await {
        Ok(reports) => {
            if let Some(path) = &bundle
                && let Err(e) = write_bundle(path, &plan, &reports, started)
            {
                return fail(e);
            }
            let mut code = ExitStatus::Pass;
            for report in shown(reports, output.verbose) {
                if output.json {
                    println!("{}", report.to_json());
                } else {
                    print!("{}", report.render_human());
                }
                code = code.max(report.exit_code);
            }
            ExitCode::from(code)
        }
        Err(e) => fail(e.into()),
    }
}

/// A bundle needs the transcripts, whether or not they are printed; and a path it cannot be
/// written to is a usage error before any connection, not after the check.
fn bundle_preflight(path: Option<&std::path::Path>, plan: &mut Plan) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    if path.is_dir() {
        anyhow::bail!(
            "--support-bundle {}: is a directory; give a file name such as xoauth-support.tar.gz",
            path.display()
        );
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent
        && !dir.is_dir()
    {
        anyhow::bail!(
            "--support-bundle {}: the directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    plan.transcript = true;
    Ok(())
}

/// Writes the support bundle (see `xoauth::report::bundle`).
fn write_bundle(
    path: &std::path::Path,
    plan: &Plan,
    reports: &[Report],
    started: i64,
) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (client_id, app_only) = match &plan.token {
        xoauth::plan::TokenPlan::OAuth(o) => (
            Some(o.client_id.as_str()),
            o.flow == xoauth::plan::Flow::ClientCredentials,
        ),
        xoauth::plan::TokenPlan::Given(_) => (None, false),
    };
    let ctx = xoauth::report::bundle::Context {
        args: &args,
        started,
        finished: xoauth::token::now(),
        client_id,
        app_only,
    };
    let bytes = xoauth::report::bundle::tar_gz(reports, &ctx)?;
    std::fs::write(path, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write the support bundle {}: {e}", path.display()))?;
    eprintln!(
        "xoauth: support bundle written to {}",
        escape_text(&path.display().to_string())
    );
    Ok(())
}

/// The reports as printed: without the transcripts that only the bundle asked for.
fn shown(mut reports: Vec<Report>, verbose: bool) -> Vec<Report> {
    if !verbose {
        for r in &mut reports {
            r.transcript = None;
        }
    }
    reports
}

/// Which flags a profile added, for an error about flags the user did not type.
static PROFILE_NOTE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A usage or configuration error: one line on stderr (escaped: it may quote a flag's value or
/// a file's contents), the JSON error object on stdout with `--json`, exit code 2; with
/// `--nagios`, the plugin's UNKNOWN line on stdout instead, exit code 3.
fn fail(e: anyhow::Error, errors: Errors) -> ExitCode {
    let message = format!("{e:#}");
    eprintln!("xoauth: error: {}", escape_text(&message));
    if let Some(note) = PROFILE_NOTE.get() {
        eprintln!("xoauth: note: {}", escape_text(note));
    }
    if errors.nagios {
        return outputs::nagios_unknown(&message);
    }
    if errors.json {
        println!("{}", usage_json(&message));
    }
    ExitStatus::Usage.into()
}

/// The `--json` form of a usage or configuration error.
fn usage_json(message: &str) -> String {
    let doc = serde_json::json!({
        "error": { "kind": "usage", "message": message },
        "exit_code": ExitStatus::Usage,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
