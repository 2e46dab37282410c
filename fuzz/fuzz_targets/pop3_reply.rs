//! POP3 status lines, STAT and CAPA from an untrusted server: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xoauth::protocol::pop3::response::{Capa, parse_stat, parse_status, unstuff};

fuzz_target!(|data: &str| {
    let _ = parse_status(data);
    let _ = parse_stat(data);
    let _ = unstuff(data);
    let capa = Capa(data.split("\r\n").map(|l| unstuff(l).to_string()).collect());
    let _ = (capa.sasl_mechanisms(), capa.has("STLS"));
});
