//! Library use: check one IMAP mailbox and print the report.
//!
//! ```sh
//! XOAUTH_TOKEN=... cargo run --example check_mailbox -- alice@contoso.com [shared@contoso.com]
//! ```

use std::time::Duration;

use xoauth::plan::{Endpoint, ImapPlan, Provider};
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
    let endpoint = Endpoint::imap(Provider::Microsoft, None, None, Security::ImplicitTls)
        .expect("the Microsoft preset has a host");
    let plan = ImapPlan {
        endpoint,
        user,
        mailbox: args.next(),
        mechanism: MechanismChoice::Auto,
        examine: Some("INBOX".into()),
        ca_files: Vec::new(),
        extra_roots: Vec::new(),
        token: TokenSource::Env("XOAUTH_TOKEN".into()),
        timeout: Duration::from_secs(30),
        limits: Limits::default(),
        transcript: false,
    };
    match xoauth::run::imap(&plan).await {
        Ok(report) => {
            print!("{}", report.render_human());
            std::process::ExitCode::from(report.exit_code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
