//! Literal raw arguments the policy tests start from (test-only).

use super::args::{Environment, RawCommon, RawOAuth, RawTokenSource};

pub const USER: &str = "alice@contoso.example";
pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const CLIENT: &str = "00000000-0000-0000-0000-0000000000c1";

/// `--user alice@… --access-token-env T` on a machine with a browser and a terminal.
pub fn given_token() -> RawCommon {
    RawCommon {
        user: Some(USER.into()),
        token: RawTokenSource {
            access_token_env: Some("T".into()),
            ..RawTokenSource::default()
        },
        env: Environment {
            browser: true,
            stdin_is_terminal: true,
        },
        ..RawCommon::default()
    }
}

/// `--client-id … --tenant …` and nothing else about the token.
pub fn oauth() -> RawOAuth {
    RawOAuth {
        client_id: Some(CLIENT.into()),
        tenant: Some(TENANT.into()),
        ..RawOAuth::default()
    }
}

/// `--user alice@… --client-id … --tenant …` on a machine with a browser and a terminal.
pub fn obtained_token(oauth: RawOAuth) -> RawCommon {
    RawCommon {
        token: RawTokenSource::default(),
        oauth,
        ..given_token()
    }
}

/// An app-only token: `--client-id … --tenant … --client-secret-env S`, no user.
pub fn app_only() -> RawCommon {
    RawCommon {
        user: None,
        ..obtained_token(RawOAuth {
            client_secret_env: Some("S".into()),
            ..oauth()
        })
    }
}
