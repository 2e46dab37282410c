//! The mock identity platform's form/query decoder: never panics, and what its encoder
//! writes decodes back to the same first value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth_mock::fuzzing::{form_encode, form_get};

fuzz_target!(|input: (&[u8], &str, &str)| {
    let (raw, name, value) = input;
    let _ = form_get(raw, name);
    if !name.is_empty() {
        let encoded = form_encode(&[(name, value)]);
        assert_eq!(form_get(encoded.as_bytes(), name).as_deref(), Some(value));
    }
});
