//! Exchange Online's SMTP submission wording, verbatim where known (reference C3/C4/E2 of
//! shared/reference/exchange-online.md). `<host>` is the backend name
//! (`MOCK01.<hostname>`). Strings marked UNCONFIRMED are best guesses.

use crate::config::ServerConfig;

/// `220 <host> Microsoft ESMTP MAIL Service ready at <RFC 5322 date>`
pub(crate) fn banner(host: &str, date: &str) -> String {
    format!("220 {host} Microsoft ESMTP MAIL Service ready at {date}")
}

/// The EHLO reply lines. Before TLS: STARTTLS (when offered) and no AUTH; over TLS:
/// `AUTH LOGIN XOAUTH2` (plus OAUTHBEARER when enabled) in its place.
pub(crate) fn ehlo(
    host: &str,
    client_ip: &str,
    tls: bool,
    offer_starttls: bool,
    server: &ServerConfig,
) -> Vec<String> {
    let mut caps = vec![
        format!("{host} Hello [{client_ip}]"),
        "SIZE 157286400".to_owned(),
        "PIPELINING".to_owned(),
        "DSN".to_owned(),
        "ENHANCEDSTATUSCODES".to_owned(),
    ];
    if tls {
        let mut auth = "AUTH LOGIN XOAUTH2".to_owned();
        if server.oauthbearer {
            auth.push_str(" OAUTHBEARER");
        }
        caps.push(auth);
    } else if offer_starttls {
        caps.push("STARTTLS".to_owned());
    }
    caps.extend(["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"].map(str::to_owned));
    let last = caps.len() - 1;
    caps.into_iter()
        .enumerate()
        .map(|(i, cap)| format!("250{}{cap}", if i == last { ' ' } else { '-' }))
        .collect()
}

/// Largest message the mock keeps (DATA or all BDAT chunks), far below the advertised SIZE.
pub(crate) const MAX_MESSAGE: usize = 10 * 1024 * 1024;
/// The advertised SIZE; a larger `MAIL FROM:<..> SIZE=` is refused at once.
pub(crate) const ADVERTISED_SIZE: u64 = 157_286_400;
/// Exchange's per-message recipient limit.
pub(crate) const MAX_RECIPIENTS: usize = 500;
/// Greeting instead of 220 when the server is at its connection cap (RFC 5321 §3.1 allows
/// 421; RFC 3463 4.3.2 "system not accepting network messages"). Exchange Server's
/// frontend wording.
pub(crate) const TOO_MANY_CONNECTIONS: &str = "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel";

pub(crate) const STARTTLS_OK: &str = "220 2.0.0 SMTP server ready";
pub(crate) const AUTH_OK: &str = "235 2.7.0 Authentication successful";
pub(crate) const SENDER_OK: &str = "250 2.1.0 Sender OK";
pub(crate) const RECIPIENT_OK: &str = "250 2.1.5 Recipient OK";
pub(crate) const START_MAIL_INPUT: &str = "354 Start mail input; end with <CRLF>.<CRLF>";
/// Also the RSET reply (UNCONFIRMED for RSET; Exchange may say `250 2.0.0 Resetting`).
pub(crate) const OK: &str = "250 2.0.0 OK";
pub(crate) const CLOSING: &str = "221 2.0.0 Service closing transmission channel";
pub(crate) const UNRECOGNIZED: &str = "500 5.3.3 Unrecognized command";
/// The mock's message store is at its size cap (RFC 5321 452, RFC 3463 4.3.1 "mail system
/// full"). UNCONFIRMED wording for Exchange.
pub(crate) const STORE_FULL: &str = "452 4.3.1 Insufficient system storage";
pub(crate) const TOO_BIG: &str = "552 5.3.4 Message size exceeds fixed maximum message size";
/// The bare continuation Exchange sends after `AUTH XOAUTH2` without initial response.
pub(crate) const CONTINUE: &str = "334";
/// `AUTH LOGIN` prompts (base64 of "Username:" / "Password:").
pub(crate) const LOGIN_USERNAME: &str = "334 VXNlcm5hbWU6";
pub(crate) const LOGIN_PASSWORD: &str = "334 UGFzc3dvcmQ6";
/// Security defaults (reference E2; sent without a host suffix).
pub(crate) const SECURITY_DEFAULTS: &str = "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.";
/// `[faults] throttle` / `throttle_first` (reference C3/F: more than 3 concurrent submissions
/// per mailbox), instead of [`AUTH_OK`]. Exchange's SMTP throttling replies carry no
/// suggested backoff time (none is documented), so `throttle_backoff_ms` is not in it.
pub(crate) const THROTTLED: &str = "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded";
/// Gmail's final XOAUTH2 failure after the JSON challenge (two lines).
pub(crate) const GMAIL_AUTH_FAILED: [&str; 2] = [
    "535-5.7.8 Username and Password not accepted. Learn more at",
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials mock - gsmtp",
];
/// UNCONFIRMED: the client cancelled the SASL exchange with `*` (RFC 4954 says 501).
pub(crate) const AUTH_CANCELLED: &str = "501 5.0.0 Authentication cancelled";
/// UNCONFIRMED (Exchange Server wording): a mail command before EHLO/HELO.
pub(crate) const SEND_HELLO_FIRST: &str = "503 5.5.2 Send hello first";
/// UNCONFIRMED (Exchange Server wording).
pub(crate) const NEED_MAIL: &str = "503 5.5.2 Need mail command";
/// UNCONFIRMED (Exchange Server wording).
pub(crate) const NEED_RCPT: &str = "503 5.5.2 Need rcpt command";
/// UNCONFIRMED (Exchange Server wording).
pub(crate) const SENDER_ALREADY: &str = "503 5.5.2 Sender already specified";
/// UNCONFIRMED.
pub(crate) const ALREADY_AUTHENTICATED: &str = "503 5.5.2 Already authenticated";
/// UNCONFIRMED: RFC 5321's generic text, for DATA/BDAT mixes and AUTH inside a transaction.
pub(crate) const BAD_SEQUENCE: &str = "503 5.5.1 Bad sequence of commands";
/// UNCONFIRMED (Exchange Server wording).
pub(crate) const INVALID_ARGUMENTS: &str = "501 5.5.4 Invalid arguments";
/// UNCONFIRMED (Exchange Server wording).
pub(crate) const INVALID_DOMAIN: &str = "501 5.5.4 Invalid domain name";
/// UNCONFIRMED (Exchange Server wording).
pub(crate) const INVALID_ADDRESS: &str = "501 5.1.3 Invalid address";
/// UNCONFIRMED (Exchange Server wording).
pub(crate) const TOO_MANY_RECIPIENTS: &str = "452 4.5.3 Too many recipients";
/// UNCONFIRMED: RFC 5321 §4.5.3.1.4 says 500 for an over-long line.
pub(crate) const LINE_TOO_LONG: &str = "500 5.5.2 Line too long";

/// `504 5.7.4 Unrecognized authentication type [<host>]` (also AUTH before STARTTLS).
pub(crate) fn unrecognized_auth(host: &str) -> String {
    format!("504 5.7.4 Unrecognized authentication type [{host}]")
}

/// `535 5.7.3 Authentication unsuccessful [<host>]`
pub(crate) fn auth_failed(host: &str) -> String {
    format!("535 5.7.3 Authentication unsuccessful [{host}]")
}

/// `535 5.7.139 … SmtpClientAuthentication is disabled for the Tenant|Mailbox …`
pub(crate) fn smtp_auth_disabled(scope: &str, host: &str) -> String {
    format!(
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the {scope}. Visit https://aka.ms/smtp_auth_disabled for more information. [{host}]"
    )
}

/// `AUTH LOGIN` (basic authentication) is always refused, as in Exchange Online today.
pub(crate) fn basic_auth_disabled(host: &str) -> String {
    format!("535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [{host}]")
}

/// `530 5.7.57 Client not authenticated to send mail. [<host>]`
pub(crate) fn not_authenticated(host: &str) -> String {
    format!("530 5.7.57 Client not authenticated to send mail. [{host}]")
}

/// The SendAs refusal at the end of DATA.
pub(crate) fn send_as_denied(authenticated: &str, from: &str, host: &str) -> String {
    format!(
        "554 5.2.252 SendAsDenied; {authenticated} not allowed to send as {from}; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. [{host}]"
    )
}

/// `250 2.0.0 OK <message-id> [Hostname=<host>]`. Exchange puts an id in angle brackets
/// here; the mock uses the message's Message-ID (UNCONFIRMED that Exchange does the same).
pub(crate) fn queued(message_id: &str, host: &str) -> String {
    format!("250 2.0.0 OK {message_id} [Hostname={host}]")
}

/// UNCONFIRMED: a BDAT chunk that is not the last.
pub(crate) fn chunk_received(len: u64) -> String {
    format!("250 2.0.0 OK, {len} octets received")
}

/// UNCONFIRMED: Exchange Server's idle-timeout wording.
pub(crate) fn idle_timeout(host: &str) -> String {
    format!("451 4.7.0 Timeout waiting for client input [{host}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "MOCK01.outlook.office365.com";

    #[test]
    fn banner_and_ehlo() {
        assert_eq!(
            banner(HOST, "Fri, 4 Nov 2022 10:07:41 +0000"),
            "220 MOCK01.outlook.office365.com Microsoft ESMTP MAIL Service ready at Fri, 4 Nov 2022 10:07:41 +0000"
        );
        let server = ServerConfig::default();
        assert_eq!(
            ehlo(HOST, "127.0.0.1", false, true, &server),
            [
                "250-MOCK01.outlook.office365.com Hello [127.0.0.1]",
                "250-SIZE 157286400",
                "250-PIPELINING",
                "250-DSN",
                "250-ENHANCEDSTATUSCODES",
                "250-STARTTLS",
                "250-8BITMIME",
                "250-BINARYMIME",
                "250-CHUNKING",
                "250 SMTPUTF8",
            ]
        );
        let post = ehlo(HOST, "127.0.0.1", true, false, &server);
        assert_eq!(post[5], "250-AUTH LOGIN XOAUTH2");
        assert_eq!(post.len(), 10);
        assert!(
            !ehlo(HOST, "::1", false, false, &server)
                .iter()
                .any(|l| l.contains("STARTTLS") || l.contains("AUTH"))
        );
        let server = ServerConfig {
            oauthbearer: true,
            ..ServerConfig::default()
        };
        assert_eq!(
            ehlo(HOST, "1.2.3.4", true, false, &server)[5],
            "250-AUTH LOGIN XOAUTH2 OAUTHBEARER"
        );
    }

    #[test]
    fn exchange_strings() {
        assert_eq!(
            smtp_auth_disabled("Tenant", HOST),
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [MOCK01.outlook.office365.com]"
        );
        assert_eq!(
            auth_failed(HOST),
            "535 5.7.3 Authentication unsuccessful [MOCK01.outlook.office365.com]"
        );
        assert!(
            send_as_denied("a@x", "b@x", HOST)
                .starts_with("554 5.2.252 SendAsDenied; a@x not allowed to send as b@x; STOREDRV.")
        );
    }
}
