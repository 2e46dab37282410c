//! Modified UTF-7 folder names (RFC 3501 §5.1.3) from an untrusted server: decoding never
//! panics; every string survives encode -> decode, with xoauth's encoder and the mock's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth::protocol::imap::utf7::{decode, encode};

fuzz_target!(|data: &str| {
    if let Ok(text) = decode(data) {
        // What decodes re-encodes to something that decodes to the same text.
        assert_eq!(decode(&encode(&text)).as_deref(), Ok(text.as_str()));
    }
    assert_eq!(decode(&encode(data)).as_deref(), Ok(data));
    let mock = xoauth_mock::fuzzing::mutf7_encode(data);
    assert_eq!(
        decode(&mock).as_deref(),
        Ok(data),
        "mock's encoding {mock:?}"
    );
});
