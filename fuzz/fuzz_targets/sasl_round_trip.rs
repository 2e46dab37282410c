//! xoauth's XOAUTH2 / OAUTHBEARER client messages read by the mock's server-side decoders:
//! whatever xoauth agrees to build, the server reads back as the same user and token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth::sasl::{Credentials, Mechanism, initial_response_raw};
use xoauth::secret::Secret;

fuzz_target!(|input: (&str, &str, Option<&str>, Option<u16>)| {
    let (user, token, host, port) = input;
    let token = Secret::new(token.to_string());
    let creds = Credentials {
        authzid: user,
        token: &token,
        host,
        port,
    };
    if let Ok(raw) = initial_response_raw(Mechanism::XOAuth2, &creds) {
        let got = xoauth_mock::fuzzing::sasl_xoauth2(raw.expose());
        // The mock splits on ^A only, so a token with a space-free "Bearer " prefix is fine;
        // what xoauth built must read back as it was.
        assert_eq!(
            got,
            Some((Some(user.to_string()), token.expose().clone())),
            "XOAUTH2"
        );
    }
    if let Ok(raw) = initial_response_raw(Mechanism::OAuthBearer, &creds) {
        let got = xoauth_mock::fuzzing::sasl_oauthbearer(raw.expose());
        assert_eq!(
            got,
            Some((Some(user.to_string()), token.expose().clone())),
            "OAUTHBEARER"
        );
    }
});
