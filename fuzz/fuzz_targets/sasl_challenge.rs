//! A server's SASL error challenge: decoding never fails or panics, and raw bytes survive
//! the base64 step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth::sasl::{decode_error_challenge, error_challenge_from_bytes};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let c = decode_error_challenge(text);
        let _ = (c.status(), c.scope());
    }
    let c = error_challenge_from_bytes(data);
    assert_eq!(
        c.decoded.as_deref().map(str::as_bytes),
        std::str::from_utf8(data).ok().map(str::as_bytes),
        "a UTF-8 challenge decodes to itself"
    );
});
