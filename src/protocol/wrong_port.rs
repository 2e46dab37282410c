//! A greeting that is recognisably another service's (another mail protocol, or a web server):
//! the port is wrong, not the server's manners, so the failure names the service that answered
//! and the ports of the one that was meant.

use crate::outcome::{Failure, FailureKind, Stage};
use crate::plan::default_port;
use crate::service::Protocol;
use crate::transport::Security;
use crate::transport::sniff::{self, Spoken};

/// The name an admin knows `protocol` by (POP3, not POP).
pub fn known_as(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Imap => Spoken::Imap.name(),
        Protocol::Pop => Spoken::Pop.name(),
        Protocol::Smtp => Spoken::Smtp.name(),
    }
}

/// Where `protocol` is served: its standard ports and the flag each needs.
pub fn where_served(protocol: Protocol) -> String {
    let tls = default_port(protocol, Security::ImplicitTls);
    let plain = default_port(protocol, Security::StartTls);
    let name = known_as(protocol);
    match protocol {
        Protocol::Smtp => {
            format!("{name} is {plain} with STARTTLS (the default) or {tls} with --implicit-tls")
        }
        _ => format!("{name} is {tls} (implicit TLS) or {plain} with --starttls"),
    }
}

/// Which other service `line` (a greeting, as read) comes from, when it is recognisably one.
pub fn other_service(expected: Protocol, line: &str) -> Option<Spoken> {
    let spoken = sniff::classify(line.as_bytes())?;
    match spoken.mail_protocol() {
        Some(p) if p != expected => Some(spoken),
        None if spoken == Spoken::Http => Some(spoken),
        _ => None,
    }
}

/// The failure for a greeting from another service, or `None` when `line` is not one.
pub fn wrong_protocol(expected: Protocol, line: &str, reply: Vec<String>) -> Option<Failure> {
    let spoken = other_service(expected, line)?;
    let message = format!(
        "this port is served by {}, not {}: {}",
        spoken.name(),
        known_as(expected),
        where_served(expected)
    );
    Some(Failure::new(Stage::Greeting, FailureKind::WrongProtocolPort, message).with_reply(reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_protocols_greeting_names_both_and_the_ports() {
        let f = wrong_protocol(Protocol::Pop, "* OK IMAP4rev1 ready", vec![]).unwrap();
        assert_eq!(f.kind, FailureKind::WrongProtocolPort);
        assert_eq!(
            f.message,
            "this port is served by IMAP, not POP3: POP3 is 995 (implicit TLS) or 110 with \
             --starttls"
        );
        let f = wrong_protocol(Protocol::Smtp, "+OK POP3 ready", vec![]).unwrap();
        assert!(
            f.message
                .contains("by POP3, not SMTP: SMTP is 587 with STARTTLS")
        );
        let f = wrong_protocol(Protocol::Imap, "HTTP/1.1 400 Bad Request", vec![]).unwrap();
        assert!(
            f.message
                .starts_with("this port is served by HTTP, not IMAP")
        );
    }

    #[test]
    fn own_or_unknown_greetings_are_not_a_wrong_port() {
        assert!(wrong_protocol(Protocol::Imap, "* OK ready", vec![]).is_none());
        assert!(wrong_protocol(Protocol::Smtp, "554 go away", vec![]).is_none());
        assert!(wrong_protocol(Protocol::Pop, "hello there", vec![]).is_none());
        assert!(wrong_protocol(Protocol::Pop, "", vec![]).is_none());
    }
}
