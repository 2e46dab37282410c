//! The one classifier of server refusals by their words, shared by every driver: the same
//! Exchange reply means the same thing whichever protocol carried it.
//!
//! ```text
//! S: a3 BAD User is authenticated but not connected.            (IMAP)  → not connected
//! S: a3 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds   → throttled
//! S: 432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded      (SMTP)  → throttled
//! S: a1 NO [UNAVAILABLE] ...  /  -ERR [SYS/TEMP] ...  /  454 4.7.0 Temporary authentication failure
//!                                                                   → temporary server failure
//! ```

use crate::outcome::FailureKind;

/// A refusal's kind from the server's words where those are known, else `default` (the
/// meaning of a refusal the server did not explain, which depends on the command).
pub fn refusal_kind(default: FailureKind, text: &str) -> FailureKind {
    if text.contains("User is authenticated but not connected") {
        FailureKind::AuthenticatedNotConnected
    } else if text.contains("Request is throttled") || text.contains("sender thread limit exceeded")
    {
        FailureKind::Throttled
    } else if text.contains("[UNAVAILABLE]")
        || text.contains("[SYS/TEMP]")
        || text.contains("Temporary authentication failure")
    {
        FailureKind::ServerTemporaryFailure
    } else {
        default
    }
}

/// A refusal's kind and headline from the server's words where those are known, else the
/// defaults: a kind named by the words gets that kind's headline, so a throttled POP login is
/// never headed "the server rejected the token".
pub fn refusal<'a>(default: FailureKind, headline: &'a str, text: &str) -> (FailureKind, &'a str) {
    let kind = refusal_kind(default, text);
    let headline = match kind {
        _ if kind == default => headline,
        FailureKind::AuthenticatedNotConnected => {
            "authenticated, but the server will not open the mailbox"
        }
        FailureKind::Throttled => "the server is throttling requests",
        FailureKind::ServerTemporaryFailure => {
            "the server could not process the authentication (temporary failure)"
        }
        _ => headline,
    };
    (kind, headline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureKind as K;

    fn kind(text: &str) -> FailureKind {
        refusal_kind(K::ListFailed, text)
    }

    #[test]
    fn exchange_imap_not_connected() {
        assert_eq!(
            kind("a3 BAD User is authenticated but not connected."),
            K::AuthenticatedNotConnected
        );
    }

    #[test]
    fn exchange_imap_throttled_bad() {
        assert_eq!(
            kind("a3 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds"),
            K::Throttled
        );
    }

    #[test]
    fn exchange_imap_throttled_no() {
        assert_eq!(
            kind("a01 NO Request is throttled. Suggested Backoff Time: 256625"),
            K::Throttled
        );
    }

    #[test]
    fn exchange_smtp_sender_thread_limit() {
        assert_eq!(
            kind("432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"),
            K::Throttled
        );
    }

    #[test]
    fn imap_unavailable_code() {
        assert_eq!(
            kind("a1 NO [UNAVAILABLE] Internal error occurred."),
            K::ServerTemporaryFailure
        );
    }

    #[test]
    fn pop3_sys_temp_code() {
        assert_eq!(
            kind("-ERR [SYS/TEMP] Temporary system failure"),
            K::ServerTemporaryFailure
        );
    }

    #[test]
    fn smtp_temporary_authentication_failure() {
        assert_eq!(
            kind("454 4.7.0 Temporary authentication failure"),
            K::ServerTemporaryFailure
        );
    }

    #[test]
    fn unexplained_refusals_keep_the_default() {
        assert_eq!(kind("A01 NO AUTHENTICATE failed."), K::ListFailed);
        assert_eq!(
            refusal_kind(K::AuthRejected, "535 5.7.3 Authentication unsuccessful"),
            K::AuthRejected
        );
    }
}
