//! Measuring tools for the benchmarks of issue 13 (never run by `cargo test` or CI): a
//! latency-adding loopback proxy, a mock IMAP load generator, an idle-connection holder and a
//! delegated-token minter. Built by `benches/*.sh` with `cargo build --release --bench tools`.

mod idle;
mod imap;
mod load;
mod proxy;
mod token;

use std::process::ExitCode;

const USAGE: &str = "usage:
  tools proxy --listen PORT --target HOST:PORT --rtt-ms MS
  tools load  --addr HOST:PORT --ca FILE --token-file FILE --user USER --clients N --secs S
  tools idle  --addr HOST:PORT --ca FILE --count N [--token-file FILE --user USER] --hold-secs S
  tools token USER";

/// `--name value` pairs after the subcommand.
pub struct Args(Vec<String>);

impl Args {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .windows(2)
            .find(|w| w[0] == name)
            .map(|w| w[1].as_str())
    }

    pub fn need(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("missing {name}"))
    }

    pub fn num(&self, name: &str) -> Result<u64, String> {
        self.need(name)?.parse().map_err(|e| format!("{name}: {e}"))
    }
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` appends `--bench`; a direct run does not.
    argv.retain(|a| a != "--bench");
    let Some(cmd) = argv.first().cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = Args(argv[1..].to_vec());
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = rt.block_on(async {
        match cmd.as_str() {
            "proxy" => proxy::run(&args).await,
            "load" => load::run(&args).await,
            "idle" => idle::run(&args).await,
            "token" => token::run(&args.0).await,
            _ => Err(format!("unknown subcommand {cmd}\n{USAGE}")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tools {cmd}: {e}");
            ExitCode::from(2)
        }
    }
}
