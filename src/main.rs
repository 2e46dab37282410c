//! The `xoauth` binary: parse flags, build a plan, run it, render the report, exit with the
//! documented code. `anyhow`-style handling lives only here.
//!
//! Exit codes: 0 pass, 1 check failed, 2 usage or config error, 3 token error,
//! 4 network or TLS error.

mod cli;
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
            Command::Demo(args) => demo::run(&args.output).await,
        }
    })
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
