//! The setup script's request: protocols once each, and every value held to its shape before
//! a line of PowerShell is written.

use super::args::RawSetup;
use super::{Protocol, UsageError, check_address};
use crate::setup_script::{self, SetupRequest};

impl RawSetup {
    pub fn build(self) -> Result<SetupRequest, UsageError> {
        let mut protocols: Vec<Protocol> = Vec::new();
        for p in self.protocols {
            if !protocols.contains(&p) {
                protocols.push(p);
            }
        }
        let req = SetupRequest {
            app_id: self.app_id,
            tenant: self.tenant,
            service_principal_id: self.service_principal_id,
            mailboxes: self.mailboxes,
            protocols,
            smtp_rbac: self.smtp_rbac,
        };
        // Every value ends up in PowerShell: refuse what is not an id, a domain or an address
        // first, with the PowerShell reason (a typographic quote is named as such), then hold
        // each mailbox to the rule every command has for an address.
        setup_script::validate(&req)?;
        for m in &req.mailboxes {
            check_address("--mailbox", m)?;
        }
        Ok(req)
    }
}
