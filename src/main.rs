//! The `xoauth` binary: parse flags, build a plan, run it, render the report, exit with the
//! documented code. `anyhow`-style handling lives only here.
//!
//! Exit codes: 0 pass, 1 check failed, 2 usage or config error, 3 token error,
//! 4 network or TLS error.

mod cli;
#[cfg(feature = "demo")]
mod demo;

use std::process::ExitCode;

use clap::Parser as _;
use xoauth::plan::Plan;
use xoauth::report::Combined;

use crate::cli::{Cli, Command};

const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
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
                single(args.into_plan(), &output).await
            }
            Command::Pop(args) => {
                let output = args.common.output.clone();
                single(args.into_plan(), &output).await
            }
            Command::Smtp(args) => {
                let output = args.common.output.clone();
                single(args.into_plan(), &output).await
            }
            Command::Check(args) => {
                let output = args.common.output.clone();
                let plan = match args.into_plan() {
                    Ok(plan) => plan,
                    Err(e) => return fail(e.into()),
                };
                match xoauth::run::run(&plan).await {
                    Ok(reports) => {
                        let combined = Combined::new(reports);
                        if output.json {
                            println!("{}", combined.to_json());
                        } else {
                            print!("{}", combined.render_human());
                        }
                        ExitCode::from(combined.exit_code)
                    }
                    Err(e) => fail(e.into()),
                }
            }
            Command::Token(args) => {
                let output = args.common.output.clone();
                let print = args.print;
                let plan = match args.into_plan() {
                    Ok(plan) => plan,
                    Err(e) => return fail(e.into()),
                };
                match xoauth::run::token(&plan).await {
                    Ok((report, raw)) => {
                        match (print, raw) {
                            (true, Some(raw)) => {
                                // stdout carries the token alone, for piping; the rest to stderr.
                                println!("{}", raw.expose());
                                eprint!("{}", report.render_human());
                            }
                            _ if output.json => println!("{}", report.to_json()),
                            _ => print!("{}", report.render_human()),
                        }
                        ExitCode::from(report.exit_code)
                    }
                    Err(e) => fail(e.into()),
                }
            }
            Command::Cache(cmd) => cache(cmd).await,
            Command::SetupScript(args) => {
                match args
                    .request()
                    .map_err(anyhow::Error::from)
                    .and_then(|r| xoauth::setup_script::render(&r).map_err(anyhow::Error::from))
                {
                    Ok(script) => {
                        print!("{script}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            }
            #[cfg(feature = "demo")]
            Command::Demo(args) => demo::run(&args.output).await,
        }
    })
}

/// `xoauth cache list|clear`.
async fn cache(cmd: cli::CacheCmd) -> ExitCode {
    let store = match xoauth::token::open_store().await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("xoauth: error: no OS keyring is available, so there is no cache: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
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
                    let state = if left > 0 {
                        format!("expires in {} min", left / 60)
                    } else {
                        "expired".to_string()
                    };
                    let refresh = if e.has_refresh_token {
                        ", refresh token"
                    } else {
                        ""
                    };
                    println!(
                        "  {} {} {} {} {} [{}]: {state}{refresh}",
                        e.key.provider,
                        e.key.tenant,
                        e.key.client_id,
                        e.key.flow,
                        e.key.user,
                        e.key.scopes.join(" ")
                    );
                }
            }
        }),
        cli::CacheCmd::Clear => store.clear().map(|n| {
            println!("removed {n} cached token(s) from the {backend} keyring");
        }),
    })
    .await;
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => fail(anyhow::anyhow!("the {backend} keyring failed: {e}")),
        Err(e) => fail(anyhow::anyhow!("the keyring task failed: {e}")),
    }
}

/// Runs a one-check plan and prints its report.
async fn single(plan: Result<Plan, cli::UsageError>, output: &cli::OutputArgs) -> ExitCode {
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => return fail(e.into()),
    };
    match xoauth::run::run(&plan).await {
        Ok(reports) => {
            let mut code = 0;
            for report in reports {
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

/// A usage or configuration error: one line on stderr, exit code 2.
fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("xoauth: error: {e:#}");
    ExitCode::from(EXIT_USAGE)
}
