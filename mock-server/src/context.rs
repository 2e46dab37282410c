//! What every session of every protocol (and the identity platform) may read: server
//! switches, injected faults (and the throttling counts), the directory, the token verifier, the identity platform
//! settings, the message store, the command log and the backend name. Built once per
//! `MockServer`, shared via `Arc`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::bearer::Verifier;
use crate::command_log::CommandLog;
use crate::config::{Config, IdpConfig, ServerConfig};
use crate::directory::Directory;
use crate::faults::FaultsConfig;
use crate::keys;
use crate::store::Store;
use crate::throttle::Throttle;

/// State shared by all sessions; only the log and the store change.
#[derive(Debug)]
pub(crate) struct Context {
    pub server: ServerConfig,
    pub directory: Directory,
    /// Checks bearer tokens for IMAP, POP3 and SMTP.
    pub bearer: Verifier,
    /// `[idp]`.
    pub idp: IdpConfig,
    /// `[faults]`: injected failure modes.
    pub faults: FaultsConfig,
    /// Which sign-ins get the throttling reply (`[faults] throttle`, `throttle_first`).
    pub throttle: Throttle,
    pub store: Store,
    pub log: CommandLog,
    /// The "backend server" named in greetings, e.g. `MOCK01.outlook.office365.com`.
    pub backend_fqdn: String,
}

impl Context {
    /// From a validated config.
    pub fn new(config: &Config, log: CommandLog) -> Context {
        let directory = Directory::new(config);
        // If the embedded key were unusable nothing would verify; `MockServer::start`
        // refuses to start in that case, so sessions never see it.
        let public_key = keys::idp_signing_key()
            .map(|k| k.public_der.clone())
            .unwrap_or_default();
        Context {
            server: config.server.clone(),
            bearer: Verifier::new(public_key, &config.idp.tenant_id),
            idp: config.idp.clone(),
            faults: config.faults.clone(),
            throttle: Throttle::new(&config.faults, config.server.smtp_sessions_per_mailbox),
            store: Store::new(&directory),
            directory,
            log,
            backend_fqdn: format!("MOCK01.{}", config.server.hostname),
        }
    }
}

/// Base64 of the UTF-16LE bytes of `name`: how Exchange's IMAP and POP3 greetings name the
/// backend server.
pub(crate) fn utf16le_base64(name: &str) -> String {
    let utf16le: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    STANDARD.encode(utf16le)
}
