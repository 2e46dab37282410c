//! Mints a delegated token for a demo user, signed with the mock's fixed signing key
//! (mock-server/fixtures/idp-signing-key.pem), so a separately started `xoauth-mock` and a
//! Dovecot trusting that key both accept it — as the tests' `Mock::token` does in-process.

use xoauth_mock::{Config, MockServer, TokenSpec};

pub async fn run(argv: &[String]) -> Result<(), String> {
    let user = argv.first().ok_or("missing USER")?;
    let server = MockServer::start(Config::demo())
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", server.issue_token(&TokenSpec::user(user)));
    Ok(())
}
