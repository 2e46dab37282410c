//! Exchange Online's POP3 wording, verbatim where known (reference C2 of
//! shared/reference/exchange-online.md). Strings marked UNCONFIRMED are best guesses.

use crate::config::ServerConfig;
use crate::context::utf16le_base64;

/// `+OK The Microsoft Exchange POP3 service is ready. [<base64 UTF-16LE backend FQDN>]`
pub(crate) fn greeting(backend_fqdn: &str) -> String {
    format!(
        "+OK The Microsoft Exchange POP3 service is ready. [{}]",
        utf16le_base64(backend_fqdn)
    )
}

/// The CAPA reply lines (multi-line, `.`-terminated). Over TLS: Exchange's list; on the
/// plaintext listener before STLS: no SASL line, STLS when offered.
pub(crate) fn capa(tls: bool, offer_stls: bool, server: &ServerConfig) -> Vec<String> {
    let mut lines = vec!["+OK".to_owned(), "TOP".to_owned(), "UIDL".to_owned()];
    if tls {
        let mut sasl = "SASL PLAIN XOAUTH2".to_owned();
        if server.oauthbearer {
            sasl.push_str(" OAUTHBEARER");
        }
        lines.push(sasl);
    } else if offer_stls {
        lines.push("STLS".to_owned());
    }
    lines.push("USER".to_owned());
    lines.push(".".to_owned());
    lines
}

pub(crate) const OK: &str = "+OK";
pub(crate) const STLS_OK: &str = "+OK Begin TLS negotiation.";
pub(crate) const AUTH_OK: &str = "+OK User successfully authenticated.";
/// Also sent (UNCONFIRMED) when the principal may not open the mailbox or POP is disabled
/// for it: the reference only says such failures look like an authentication failure.
pub(crate) const AUTH_FAILED: &str =
    "-ERR Authentication failure: unknown user name or bad password.";
/// `[faults] throttle` / `throttle_first`: instead of [`AUTH_OK`]. UNCONFIRMED for POP3:
/// IMAP's throttling text (reference C1/F) with POP3's `-ERR`.
pub(crate) fn throttled(backoff_ms: u64) -> String {
    format!("-ERR Request is throttled. Suggested Backoff Time: {backoff_ms} milliseconds")
}
/// Gmail's final XOAUTH2 failure after the JSON challenge. UNCONFIRMED for Gmail POP
/// (Dovecot says `-ERR [AUTH] Authentication failed.`).
pub(crate) const GMAIL_AUTH_FAILED: &str = "-ERR [AUTH] Invalid credentials.";
/// UNCONFIRMED: the client cancelled the SASL exchange with `*`.
pub(crate) const AUTH_CANCELLED: &str = "-ERR Authentication cancelled.";
/// Exchange's generic protocol error. UNCONFIRMED for POP3 (mirrors IMAP's numbering);
/// also the answer to `AUTH <mech> <initial-response>`, which Exchange does not accept.
pub(crate) const PROTOCOL_ERROR: &str = "-ERR Protocol error. 14";
/// UNCONFIRMED wording: a command that is valid POP3 but not in this state.
pub(crate) const INVALID_STATE: &str = "-ERR Command is not valid in this state.";
/// UNCONFIRMED wording.
pub(crate) const NO_SUCH_MESSAGE: &str = "-ERR The specified message is out of range.";
/// UNCONFIRMED wording.
pub(crate) const MESSAGE_DELETED: &str = "-ERR The specified message has been deleted.";
pub(crate) const SIGNING_OFF: &str = "+OK Microsoft Exchange Server POP3 server signing off.";
/// UNCONFIRMED: IMAP's idle-timeout text with POP3's prefix.
pub(crate) const IDLE_TIMEOUT: &str = "-ERR Connection is closed. 13";
/// UNCONFIRMED: sent before closing when a line exceeds the cap.
pub(crate) const TOO_LONG: &str = "-ERR Command too long.";
/// Greeting instead of `+OK` when the server is at its connection cap. UNCONFIRMED wording.
pub(crate) const TOO_MANY_CONNECTIONS: &str =
    "-ERR Too many connections to the server; try again later.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_and_capa() {
        assert_eq!(
            greeting("FR3P281CA0157.DEUP281.PROD.OUTLOOK.COM"),
            "+OK The Microsoft Exchange POP3 service is ready. \
             [RgBSADMAUAAyADgAMQBDAEEAMAAxADUANwAuAEQARQBVAFAAMgA4ADEALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]"
        );
        let server = ServerConfig::default();
        assert_eq!(
            capa(true, false, &server),
            ["+OK", "TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER", "."]
        );
        assert_eq!(
            capa(false, true, &server),
            ["+OK", "TOP", "UIDL", "STLS", "USER", "."]
        );
        assert_eq!(
            capa(false, false, &server),
            ["+OK", "TOP", "UIDL", "USER", "."]
        );
        let server = ServerConfig {
            oauthbearer: true,
            ..ServerConfig::default()
        };
        assert_eq!(
            capa(true, false, &server)[3],
            "SASL PLAIN XOAUTH2 OAUTHBEARER"
        );
    }
}
