//! SMTP replies from an untrusted server: parsing never panics, and a parsed reply written
//! back to the wire parses to the same reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth::protocol::smtp::response::{Extensions, Reply, parse_line};

fuzz_target!(|data: &str| {
    let lines: Vec<String> = data.split("\r\n").map(str::to_string).collect();
    for line in &lines {
        let _ = parse_line(line);
    }
    if let Ok(reply) = Reply::from_lines(&lines) {
        let _ = (reply.text(), reply.is_positive(), reply.is_transient());
        let ext = Extensions::from_ehlo(&reply);
        let _ = (ext.auth_mechanisms(), ext.has("STARTTLS"));
        let again = Reply::from_lines(&reply.wire()).expect("a reply's own wire form parses");
        assert_eq!(again, reply, "wire -> parse changed the reply");
    }
});
