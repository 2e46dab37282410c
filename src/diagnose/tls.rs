//! Causes and fixes for a session that could not be secured: the wrong port for the TLS mode
//! (implicit TLS to a STARTTLS port, and the reverse), a server that speaks only TLS 1.0/1.1,
//! and a refused certificate explained with the certificate the server presented and the CA
//! files the admin gave.

use std::path::PathBuf;

use super::{Evidence, Explanation, one};
use crate::outcome::FailureKind;
use crate::plan::default_port;
use crate::protocol::wrong_port;
use crate::service::Protocol;
use crate::transport::sniff::{self, OldTls, Spoken};
use crate::transport::util::rfc3339;
use crate::transport::{Security, TlsInfo};

/// The standard ports of `protocol`: (implicit TLS, STARTTLS).
fn ports(protocol: Protocol) -> (u16, u16) {
    (
        default_port(protocol, Security::ImplicitTls),
        default_port(protocol, Security::StartTls),
    )
}

/// Implicit TLS was tried on a port that greets in plain text.
pub(super) fn plaintext_port(e: &Evidence<'_>) -> Explanation {
    let proto = e.label();
    let (tls_port, plain_port) = ports(e.checked());
    let spoken = e
        .server_reply
        .first()
        .and_then(|l| sniff::classify(l.as_bytes()));
    let elsewhere = spoken
        .and_then(Spoken::mail_protocol)
        .filter(|p| Some(*p) != e.protocol);
    if spoken == Some(Spoken::Http) || elsewhere.is_some() {
        let what = spoken.map_or("another service", Spoken::name);
        return one(
            format!("this port is served by {what}, not by {proto}"),
            Some(format!(
                "use the {proto} port: {tls_port} for implicit TLS, or {plain_port} with {}",
                starttls_flag(e.checked())
            )),
        );
    }
    let fix = match e.checked() {
        Protocol::Smtp => format!(
            "drop --implicit-tls to use STARTTLS on this port (the default for smtp), or use \
             port {tls_port} for implicit TLS"
        ),
        p => format!(
            "add --starttls to use STARTTLS on this port (as on the standard {} port \
             {plain_port}), or use port {tls_port} for implicit TLS",
            p.label()
        ),
    };
    one(
        "this port greets in plain text and upgrades with STARTTLS, but xoauth was asked for \
         implicit TLS (TLS from the first byte)",
        Some(fix),
    )
}

/// STARTTLS was tried on a port that speaks TLS from the first byte.
pub(super) fn implicit_tls_port(e: &Evidence<'_>) -> Explanation {
    let (tls_port, plain_port) = ports(e.checked());
    let fix = match e.checked() {
        Protocol::Smtp => format!(
            "add --implicit-tls for this port, or use port {plain_port} for STARTTLS (the \
             default for smtp)"
        ),
        _ => format!(
            "drop --starttls (implicit TLS is the default, port {tls_port}), or use port \
             {plain_port} for STARTTLS"
        ),
    };
    one(
        "this port speaks TLS from the first byte (implicit TLS), but xoauth was asked for \
         STARTTLS and waited for a plain-text greeting the server never sends",
        Some(fix),
    )
}

/// The greeting was another service's: the port belongs to it, not to the protocol checked.
pub(super) fn wrong_protocol_port(e: &Evidence<'_>) -> Explanation {
    let checked = e.checked();
    let what = e
        .server_reply
        .first()
        .and_then(|l| wrong_port::other_service(checked, l))
        .map_or("another service", Spoken::name);
    let name = wrong_port::known_as(checked);
    one(
        format!("this port is served by {what}, not {name}"),
        Some(format!(
            "point the check at the {name} port: {}",
            wrong_port::where_served(checked)
        )),
    )
}

/// The server answered the hello with TLS 1.0/1.1 (or refused 1.2 and 1.3 outright): say so,
/// and that the fix is on the server, since xoauth never falls back.
pub(super) fn old_version(e: &Evidence<'_>) -> Option<Explanation> {
    let old = e
        .server_reply
        .first()
        .and_then(|l| OldTls::from_evidence(l))?;
    let answered = match old {
        OldTls::Chose(v) => format!("its ServerHello chose {v}"),
        OldTls::ProtocolVersionAlert => {
            "it refused TLS 1.2 and 1.3 with a protocol_version alert".to_string()
        }
    };
    let cause = format!(
        "the server speaks only {} ({answered}); xoauth requires TLS 1.2 or 1.3 and never \
         falls back, as TLS 1.0 and 1.1 are deprecated (RFC 8996)",
        old.versions()
    );
    let fix = if e.exchange_online {
        "Exchange Online blocks TLS 1.0/1.1 for POP and IMAP from July 2026 (rolled out by \
         31 December 2026) and speaks TLS 1.2, so something between you and it answered (a \
         proxy, a TLS-inspecting firewall, an old on-premises server): enable TLS 1.2 on it, \
         or connect to Exchange Online directly"
            .to_string()
    } else {
        format!(
            "enable TLS 1.2 (and 1.3) on the server's {} service; on Windows/Exchange Server \
             enable the TLS 1.2 protocol (SCHANNEL) and .NET strong crypto, then restart it",
            e.label()
        )
    };
    Some(one(cause, Some(fix)))
}

fn starttls_flag(protocol: Protocol) -> &'static str {
    if protocol == Protocol::Smtp {
        "STARTTLS (the default for smtp)"
    } else {
        "--starttls"
    }
}

/// What a refused certificate means, from the certificate the server presented and the CA
/// files given; `None` when the certificate could not be read (the generic row then applies).
pub fn certificate(
    kind: FailureKind,
    presented: Option<&TlsInfo>,
    host: &str,
    ca_files: &[PathBuf],
    now: i64,
) -> Option<Explanation> {
    let c = presented.filter(|p| !p.verified)?.certificate.as_ref()?;
    let names = if c.subject_alt_names.is_empty() {
        "no names (no subjectAltName)".to_string()
    } else {
        c.subject_alt_names.join(", ")
    };
    match kind {
        FailureKind::TlsUntrusted => {
            let self_signed = c.subject == c.issuer;
            let cause = if self_signed {
                format!(
                    "the server presented a self-signed certificate ({}), which no trusted CA \
                     vouches for",
                    c.subject
                )
            } else {
                format!(
                    "the server's certificate ({}) was issued by {}, which is not a trusted CA",
                    c.subject, c.issuer
                )
            };
            let wanted = if self_signed {
                format!("the self-signed certificate {} itself", c.subject)
            } else {
                format!("the certificate of the CA {}", c.issuer)
            };
            let fix = if ca_files.is_empty() {
                format!(
                    "if you trust it (a private or on-premises CA), pass {wanted} with \
                     --ca-file FILE.pem"
                )
            } else {
                let files: Vec<String> = ca_files.iter().map(|p| p.display().to_string()).collect();
                format!(
                    "{} does not contain {} (the issuer of the server's certificate): add \
                     {wanted} to it, or give the file that holds it",
                    files.join(" and "),
                    c.issuer
                )
            };
            Some(one(cause, Some(fix)))
        }
        FailureKind::TlsNameMismatch => Some(one(
            format!(
                "the server's certificate ({}) is for {names}, not for {host}",
                c.subject
            ),
            Some(format!(
                "connect with a name the certificate carries ({names}), or have the \
                 certificate reissued to include {host}"
            )),
        )),
        FailureKind::TlsExpired => {
            let cause = if rfc3339(now) < c.not_before {
                format!(
                    "the server's certificate ({}) is valid only from {}: this machine's clock \
                     or the certificate's dates are wrong",
                    c.subject, c.not_before
                )
            } else {
                format!(
                    "the server's certificate ({}) expired on {}",
                    c.subject, c.not_after
                )
            };
            Some(one(
                cause,
                Some("renew the server's certificate (and check this machine's clock)".to_string()),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tls::CertificateInfo;

    fn presented(subject: &str, issuer: &str) -> TlsInfo {
        TlsInfo {
            version: "unknown".into(),
            cipher_suite: "unknown".into(),
            certificate: Some(CertificateInfo {
                subject: subject.into(),
                issuer: issuer.into(),
                subject_alt_names: vec!["mail.example".into(), "::1".into()],
                not_before: "2026-01-01T00:00:00Z".into(),
                not_after: "2026-02-01T00:00:00Z".into(),
            }),
            chain: Vec::new(),
            verified: false,
            resumed: false,
        }
    }

    #[test]
    fn an_untrusted_issuer_names_the_ca_file_that_lacks_it() {
        let p = presented("CN=mail.example", "CN=Contoso Issuing CA");
        let files = [PathBuf::from("/etc/ssl/other-ca.pem")];
        let ex = certificate(
            FailureKind::TlsUntrusted,
            Some(&p),
            "mail.example",
            &files,
            0,
        )
        .unwrap();
        let fix = ex.fix.unwrap();
        assert!(fix.contains("/etc/ssl/other-ca.pem does not contain CN=Contoso Issuing CA"));
        assert!(!fix.contains("--ca-file"), "{fix}");
        let ex = certificate(FailureKind::TlsUntrusted, Some(&p), "mail.example", &[], 0).unwrap();
        assert!(ex.fix.unwrap().contains("--ca-file"));
    }

    #[test]
    fn a_name_mismatch_lists_the_presented_names() {
        let p = presented("CN=mail.example", "CN=CA");
        let ex = certificate(FailureKind::TlsNameMismatch, Some(&p), "10.0.0.5", &[], 0).unwrap();
        assert!(ex.cause.contains("mail.example, ::1"), "{}", ex.cause);
        assert!(ex.cause.contains("not for 10.0.0.5"), "{}", ex.cause);
    }

    #[test]
    fn expired_and_not_yet_valid_are_told_apart() {
        let p = presented("CN=mail.example", "CN=CA");
        let later = 1_800_000_000; // 2027
        let ex = certificate(FailureKind::TlsExpired, Some(&p), "h", &[], later).unwrap();
        assert!(
            ex.cause.contains("expired on 2026-02-01T00:00:00Z"),
            "{}",
            ex.cause
        );
        let ex = certificate(FailureKind::TlsExpired, Some(&p), "h", &[], 0).unwrap();
        assert!(
            ex.cause.contains("valid only from 2026-01-01"),
            "{}",
            ex.cause
        );
    }
}
