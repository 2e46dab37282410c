//! What every session of every protocol may read: server switches, the directory, the
//! command log and the backend name. Built once per `MockServer`, shared via `Arc`.

use crate::command_log::CommandLog;
use crate::config::{Config, ServerConfig};
use crate::directory::Directory;

/// Read-only (apart from the log) state shared by all sessions.
#[derive(Debug)]
pub(crate) struct Context {
    pub server: ServerConfig,
    pub directory: Directory,
    pub log: CommandLog,
    /// The "backend server" named in greetings, e.g. `MOCK01.outlook.office365.com`.
    pub backend_fqdn: String,
}

impl Context {
    /// From a validated config.
    pub fn new(config: &Config, log: CommandLog) -> Context {
        Context {
            server: config.server.clone(),
            directory: Directory::new(config),
            log,
            backend_fqdn: format!("MOCK01.{}", config.server.hostname),
        }
    }
}
