//! Server bytes after login, as async-imap reads them: imap-proto's parser, fed a stream of
//! responses, never panics and always either consumes input or asks for more, so the
//! session's read loop cannot spin.
#![no_main]

use async_imap::imap_proto::Response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    // Each parsed response consumes at least one byte; the bound only guards the loop.
    for _ in 0..=data.len() {
        match Response::parse(rest) {
            Ok((left, _response)) => {
                assert!(
                    left.len() < rest.len(),
                    "a parsed response consumed nothing"
                );
                rest = left;
            }
            Err(_) => break,
        }
    }
});
