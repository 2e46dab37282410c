//! JWT claim decoding of an access token (whatever the provider or a paste handed over):
//! never panics, and what decodes can be summarised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth::token::claims::decode;

fuzz_target!(|data: &str| {
    if let Ok(claims) = decode(data) {
        let _ = (
            claims.user(),
            claims.app_id(),
            claims.is_app_only(),
            claims.scopes(),
        );
        let _ = claims.summary(0);
        let _ = claims.summary(i64::MAX);
    }
    let _ = xoauth_mock::fuzzing::jwt_decode(data);
});
