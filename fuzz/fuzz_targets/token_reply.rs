//! The token endpoint's and device authorization endpoint's JSON, read leniently: never
//! panics, and a normalized device reply keeps its promise (positive whole numbers).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use xoauth::token::flow::device_reply::normalize;
use xoauth::token::flow::reply::TokenReply;

fuzz_target!(|input: (&[u8], u16)| {
    let (body, fallback) = input;
    if let Ok(reply) = serde_json::from_slice::<TokenReply>(body) {
        let _ = reply.expires_in_secs();
    }
    if let Some((out, timing)) = normalize(body, Duration::from_secs(u64::from(fallback))) {
        let v: serde_json::Value = serde_json::from_slice(&out).expect("normalize writes JSON");
        assert!(v["expires_in"].as_u64().is_some_and(|s| s >= 1));
        assert_eq!(v["interval"].as_u64(), Some(timing.interval.as_secs()));
        assert!(
            timing.interval.as_secs() >= 1,
            "a zero interval would hammer the server"
        );
    }
});
