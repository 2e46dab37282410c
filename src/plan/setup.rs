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
        // A mailbox given twice (in any case: Exchange compares addresses without it) is
        // granted once, as first spelled.
        let mut mailboxes: Vec<String> = Vec::new();
        for m in self.mailboxes {
            if !mailboxes.iter().any(|k| k.eq_ignore_ascii_case(&m)) {
                mailboxes.push(m);
            }
        }
        let req = SetupRequest {
            app_id: self.app_id,
            tenant: self.tenant,
            service_principal_id: self.service_principal_id,
            mailboxes,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::powershell::ValueError;
    use crate::setup_script::SetupError;

    const APP: &str = "11111111-2222-3333-4444-555555555555";

    fn raw() -> RawSetup {
        RawSetup {
            app_id: APP.into(),
            tenant: "contoso.onmicrosoft.com".into(),
            service_principal_id: None,
            mailboxes: vec!["shared@contoso.example".into()],
            protocols: vec![Protocol::Imap, Protocol::Pop, Protocol::Smtp],
            smtp_rbac: false,
        }
    }

    const SP: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    #[test]
    fn mailboxes_are_granted_once_as_first_spelled() {
        let req = RawSetup {
            mailboxes: vec![
                "Shared@contoso.example".into(),
                "b@contoso.example".into(),
                "shared@CONTOSO.example".into(),
            ],
            ..raw()
        }
        .build()
        .unwrap();
        assert_eq!(
            req.mailboxes,
            ["Shared@contoso.example", "b@contoso.example"]
        );
    }

    #[test]
    fn the_app_id_as_service_principal_and_rbac_without_smtp_are_refused() {
        let err = RawSetup {
            service_principal_id: Some(APP.into()),
            ..raw()
        }
        .build();
        assert!(matches!(
            err,
            Err(UsageError::Setup(SetupError::ServicePrincipalIsAppId(_)))
        ));
        let err = RawSetup {
            protocols: vec![Protocol::Imap],
            smtp_rbac: true,
            ..raw()
        }
        .build();
        assert!(matches!(
            err,
            Err(UsageError::Setup(SetupError::SmtpRbacWithoutSmtp))
        ));
    }

    #[test]
    fn a_valid_request_is_kept_as_given() {
        let req = RawSetup {
            service_principal_id: Some(SP.into()),
            smtp_rbac: true,
            ..raw()
        }
        .build()
        .unwrap();
        assert_eq!(req.app_id, APP);
        assert_eq!(req.tenant, "contoso.onmicrosoft.com");
        assert_eq!(req.service_principal_id.as_deref(), Some(SP));
        assert_eq!(req.mailboxes, ["shared@contoso.example"]);
        assert!(req.smtp_rbac);
    }

    #[test]
    fn protocols_are_granted_once_in_the_order_given() {
        let req = RawSetup {
            protocols: vec![Protocol::Smtp, Protocol::Imap, Protocol::Smtp],
            ..raw()
        }
        .build()
        .unwrap();
        assert_eq!(req.protocols, [Protocol::Smtp, Protocol::Imap]);
    }

    #[test]
    fn an_app_id_that_is_not_a_guid_is_refused() {
        let err = RawSetup {
            app_id: "my-app".into(),
            ..raw()
        }
        .build();
        assert!(matches!(
            err,
            Err(UsageError::Setup(SetupError::Value(ValueError::NotGuid {
                what: "--app-id",
                ..
            })))
        ));
    }

    #[test]
    fn a_mailbox_is_required() {
        let err = RawSetup {
            mailboxes: Vec::new(),
            ..raw()
        }
        .build();
        assert!(matches!(err, Err(UsageError::Setup(SetupError::NoMailbox))));
    }

    #[test]
    fn a_mailbox_must_be_one_address() {
        let err = RawSetup {
            mailboxes: vec!["a@contoso.example,b@contoso.example".into()],
            ..raw()
        }
        .build();
        assert!(matches!(err, Err(UsageError::Setup(_))), "{err:?}");
    }
}
