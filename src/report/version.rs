//! Which build of xoauth wrote a report: its version, the git commit it was built from when
//! known (`build.rs`), and its TLS stack, so that a report sent in for help says what ran.

/// The TLS stack `transport::tls` builds every connection with (ring named explicitly, never
/// the process default), and where its trust roots come from.
macro_rules! tls {
    () => {
        "rustls 0.23 with the ring crypto provider, Mozilla's root certificates (webpki-roots)"
    };
}

/// `-V` and the reports' `xoauth_version`: `0.1.0 (commit 3ac9552)`, or `0.1.0` when built
/// from sources without git or package metadata.
pub const SHORT: &str = env!("XOAUTH_VERSION");

/// The commit alone, empty when unknown.
pub const COMMIT: &str = env!("XOAUTH_GIT_COMMIT");

pub const TLS: &str = tls!();

/// `--version`: the short version, then the TLS stack on its own line.
pub const LONG: &str = concat!(env!("XOAUTH_VERSION"), "\nTLS: ", tls!());
