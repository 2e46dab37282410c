//! The mock's SMTP and POP3 command parsers and SASL decoders on arbitrary client bytes:
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth_mock::fuzzing;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::smtp_command(data);
    let _ = fuzzing::pop3_command(data);
    let _ = fuzzing::sasl_xoauth2(data);
    let _ = fuzzing::sasl_oauthbearer(data);
});
