//! Library use: check one mailbox over IMAP, POP3 and SMTP and print the combined report.
//!
//! ```sh
//! XOAUTH_TOKEN=... cargo run --example check_mailbox -- alice@contoso.com [shared@contoso.com]
//! ```

use std::time::Duration;

use xoauth::plan::{Check, Endpoint, ImapOptions, Plan, Protocol, Provider, TokenPlan};
use xoauth::report::Combined;
use xoauth::sasl::MechanismChoice;
use xoauth::token::TokenSource;
use xoauth::transport::{Limits, Security};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(user) = args.next() else {
        eprintln!("usage: check_mailbox USER [SHARED_MAILBOX]  (token in $XOAUTH_TOKEN)");
        return std::process::ExitCode::from(2);
    };
    let endpoint = |protocol, security| {
        Endpoint::resolve(protocol, Provider::Microsoft, None, None, security)
            .expect("the Microsoft preset has every host")
    };
    let plan = Plan {
        user: Some(user),
        mailbox: args.next(),
        token: TokenPlan::Given(TokenSource::Env("XOAUTH_TOKEN".into())),
        mechanism: MechanismChoice::Auto,
        ca_files: Vec::new(),
        extra_roots: Vec::new(),
        timeout: Duration::from_secs(30),
        limits: Limits::default(),
        transcript: false,
        pipelining: true,
        hve: false,
        checks: vec![
            Check::Imap {
                endpoint: endpoint(Protocol::Imap, Security::ImplicitTls),
                options: ImapOptions {
                    examine: Some("INBOX".into()),
                    find_message_id: None,
                },
            },
            Check::Pop {
                endpoint: endpoint(Protocol::Pop, Security::ImplicitTls),
            },
            Check::Smtp {
                endpoint: endpoint(Protocol::Smtp, Security::StartTls),
                send: None,
            },
        ],
    };
    match xoauth::run::run(&plan).await {
        Ok(reports) => {
            let combined = Combined::new(reports);
            print!("{}", combined.render_human());
            std::process::ExitCode::from(combined.exit_code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
