//! Exchange Online's IMAP wording, verbatim where known (reference C1 of
//! shared/reference/exchange-online.md). Strings marked UNCONFIRMED are best guesses.

use crate::config::ServerConfig;
use crate::context::utf16le_base64;

/// `* OK The Microsoft Exchange IMAP4 service is ready. [<base64 UTF-16LE backend FQDN>]`
pub(crate) fn greeting(backend_fqdn: &str) -> String {
    format!(
        "* OK The Microsoft Exchange IMAP4 service is ready. [{}]",
        utf16le_base64(backend_fqdn)
    )
}

/// Which CAPABILITY list a session gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CapabilitySet {
    /// Plaintext listener before STARTTLS: no AUTH= at all.
    Plaintext { offer_starttls: bool },
    /// TLS, not yet authenticated.
    PreAuth,
    /// After a successful AUTHENTICATE.
    PostAuth,
}

/// The `* CAPABILITY ...` line.
pub(crate) fn capability(set: CapabilitySet, server: &ServerConfig) -> String {
    let mut caps: Vec<&str> = vec!["IMAP4", "IMAP4rev1"];
    match set {
        CapabilitySet::Plaintext { offer_starttls } => {
            caps.push("LOGINDISABLED");
            if offer_starttls {
                caps.push("STARTTLS");
            }
            caps.extend(["UIDPLUS", "ID", "UNSELECT"]);
        }
        CapabilitySet::PreAuth | CapabilitySet::PostAuth => {
            caps.extend(["AUTH=PLAIN", "AUTH=XOAUTH2"]);
            if server.oauthbearer {
                caps.push("AUTH=OAUTHBEARER");
            }
            if server.sasl_ir {
                caps.push("SASL-IR");
            }
            caps.push("UIDPLUS");
            if set == CapabilitySet::PostAuth {
                caps.push("MOVE");
            }
            caps.extend(["ID", "UNSELECT"]);
            if set == CapabilitySet::PostAuth {
                caps.extend([
                    "CLIENTACCESSRULES",
                    "CLIENTNETWORKPRESENCELOCATION",
                    "BACKENDAUTHENTICATE",
                ]);
            }
        }
    }
    caps.extend(["CHILDREN", "IDLE", "NAMESPACE", "LITERAL+"]);
    format!("* CAPABILITY {}", caps.join(" "))
}

pub(crate) const CAPABILITY_OK: &str = "OK CAPABILITY completed.";
pub(crate) const STARTTLS_OK: &str = "OK Begin TLS negotiation now.";
pub(crate) const COMMAND_ERROR: &str = "BAD Command Error. 12";
pub(crate) const INVALID_STATE: &str = "BAD Command received in Invalid state.";
pub(crate) const AUTH_OK: &str = "OK AUTHENTICATE completed.";
pub(crate) const AUTH_FAILED: &str = "NO AUTHENTICATE failed.";
/// UNCONFIRMED for Exchange; the RFC 3501 meaning of a `*` line.
pub(crate) const AUTH_CANCELLED: &str = "BAD AUTHENTICATE cancelled.";
/// Gmail's final XOAUTH2 failure (reference C4).
pub(crate) const GMAIL_AUTH_FAILED: &str =
    "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)";
pub(crate) const LOGIN_FAILED: &str = "NO LOGIN failed.";
/// `[faults] throttle` / `throttle_first` (reference C1/F, imapsync FAQ): the first command
/// after AUTHENTICATE; the mock then drops the connection, as Exchange may.
pub(crate) fn throttled(backoff_ms: u64) -> String {
    format!("BAD Request is throttled. Suggested Backoff Time: {backoff_ms} milliseconds")
}
pub(crate) const NOT_CONNECTED: &str = "BAD User is authenticated but not connected.";
pub(crate) const BYE_NOT_CONNECTED: &str = "* BYE Connection closed. 14";
pub(crate) const BYE_LOGOUT: &str = "* BYE Microsoft Exchange Server IMAP4 server signing off.";
pub(crate) const LOGOUT_OK: &str = "OK LOGOUT completed.";
/// Exchange's idle-timeout text (its `TimeoutErrorString`, seen in decompiled server code;
/// not in the stored reference, so UNCONFIRMED on the wire).
pub(crate) const BYE_IDLE_TIMEOUT: &str = "* BYE Connection is closed. 13";
/// Sent before closing when a command exceeds the size cap. UNCONFIRMED wording.
pub(crate) const BYE_TOO_LONG: &str = "* BYE Command too long.";
/// Greeting instead of the usual one when the server is at its connection cap (RFC 3501
/// §7.1.5 allows BYE as the greeting). UNCONFIRMED wording for Exchange.
pub(crate) const BYE_TOO_MANY: &str = "* BYE Too many connections to the server; try again later.";
/// Continuation for a synchronizing literal. UNCONFIRMED for Exchange (common wording).
pub(crate) const LITERAL_CONTINUE: &str = "+ Ready for additional command text.";
/// Continuation after IDLE (Exchange's wording, seen in field scripts).
pub(crate) const IDLE_CONTINUE: &str = "+ IDLE accepted, awaiting DONE command.";
/// UNCONFIRMED: Exchange's text for a missing folder is not in the reference.
pub(crate) const NO_SUCH_FOLDER: &str = "NO Mailbox doesn't exist.";
pub(crate) const SEARCH_OK: &str = "OK SEARCH completed.";
/// The mock models folders, counts and SEARCH only; other message commands (and SEARCH
/// keys on flags, dates and sets) are not implemented.
pub(crate) const NOT_IMPLEMENTED: &str = "NO Command not implemented by xoauth-mock.";
pub(crate) const FLAGS: &str = "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)";
/// Every folder reports the same UIDVALIDITY, like the Exchange sample in C1.
pub(crate) const UIDVALIDITY: u32 = 14;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_encodes_utf16le() {
        // Reference C1 sample: FR3P281CA0157.DEUP281.PROD.OUTLOOK.COM
        assert_eq!(
            greeting("FR3P281CA0157.DEUP281.PROD.OUTLOOK.COM"),
            "* OK The Microsoft Exchange IMAP4 service is ready. \
             [RgBSADMAUAAyADgAMQBDAEEAMAAxADUANwAuAEQARQBVAFAAMgA4ADEALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]"
        );
    }

    #[test]
    fn capability_lists_match_exchange() {
        let server = ServerConfig::default();
        assert_eq!(
            capability(CapabilitySet::PreAuth, &server),
            "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
        );
        assert_eq!(
            capability(CapabilitySet::PostAuth, &server),
            "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+"
        );
        assert_eq!(
            capability(
                CapabilitySet::Plaintext {
                    offer_starttls: true
                },
                &server
            ),
            "* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
        );
        assert_eq!(
            capability(
                CapabilitySet::Plaintext {
                    offer_starttls: false
                },
                &server
            ),
            "* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
        );
        let toggled = ServerConfig {
            sasl_ir: false,
            oauthbearer: true,
            ..ServerConfig::default()
        };
        assert_eq!(
            capability(CapabilitySet::PreAuth, &toggled),
            "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
        );
    }
}
