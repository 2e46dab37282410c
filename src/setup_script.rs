//! `xoauth setup-script`: the Exchange Online PowerShell and Entra steps that give an app
//! access to mailboxes over IMAP, POP and SMTP (reference E2, [EXO-OAUTH], [SMTP-RBAC]), built
//! from the ids the admin gives, as a pure function so every line can be tested.
//!
//! The one trap it guards against: `New-ServicePrincipal -ObjectId` takes the *Enterprise
//! Application's* object id (the token's `oid`), not the App Registration's. When the admin
//! does not know it, the script looks it up instead of guessing.

use std::fmt::Write as _;

use crate::plan::Protocol;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupRequest {
    pub app_id: String,
    pub tenant: String,
    /// The Enterprise Application's (service principal's) object id, when known.
    pub service_principal_id: Option<String>,
    pub mailboxes: Vec<String>,
    pub protocols: Vec<Protocol>,
    /// Grant SMTP through RBAC for Applications (no SMTP.SendAsApp permission, no FullAccess).
    pub smtp_rbac: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SetupError {
    #[error("{what} {value:?} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
    NotGuid { what: &'static str, value: String },
    #[error("{0:?} cannot be written safely into the script")]
    Unsafe(String),
    #[error("give at least one --mailbox")]
    NoMailbox,
}

fn guid(what: &'static str, value: &str) -> Result<(), SetupError> {
    let groups: Vec<&str> = value.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(SetupError::NotGuid {
            what,
            value: value.to_string(),
        })
    }
}

/// A PowerShell single-quoted string. Quotes are doubled; control characters and the
/// backtick are refused rather than escaped, since none belongs in an id or an address.
fn ps(value: &str) -> Result<String, SetupError> {
    if value.chars().any(|c| c.is_control() || c == '`') {
        return Err(SetupError::Unsafe(value.to_string()));
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

fn role(p: Protocol) -> &'static str {
    match p {
        Protocol::Imap => "IMAP.AccessAsApp",
        Protocol::Pop => "POP.AccessAsApp",
        Protocol::Smtp => "SMTP.SendAsApp",
    }
}

pub fn render(req: &SetupRequest) -> Result<String, SetupError> {
    guid("--app-id", &req.app_id)?;
    if let Some(sp) = &req.service_principal_id {
        guid("--service-principal-id", sp)?;
    }
    if req.mailboxes.is_empty() {
        return Err(SetupError::NoMailbox);
    }
    let app = ps(&req.app_id)?;
    let tenant = ps(&req.tenant)?;
    let mailboxes = req
        .mailboxes
        .iter()
        .map(|m| ps(m))
        .collect::<Result<Vec<_>, _>>()?;
    let smtp = req.protocols.contains(&Protocol::Smtp);
    let rbac_smtp = smtp && req.smtp_rbac;
    let roles: Vec<&str> = req
        .protocols
        .iter()
        .filter(|p| !(rbac_smtp && **p == Protocol::Smtp))
        .map(|p| role(*p))
        .collect();
    let needs_full_access =
        req.protocols.iter().any(|p| *p != Protocol::Smtp) || (smtp && !rbac_smtp);

    let mut s = String::new();
    let _ = writeln!(
        s,
        "# xoauth setup script: app {} in tenant {}",
        req.app_id, req.tenant
    );
    let _ = writeln!(s, "#\n# 1. Entra admin center (once per app):");
    if !roles.is_empty() {
        let _ = writeln!(
            s,
            "#    App registrations -> {} -> API permissions -> Add a permission ->\n\
             #    APIs my organization uses -> Office 365 Exchange Online -> Application permissions:\n\
             #    {} -> Grant admin consent.",
            req.app_id,
            roles.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "#    Or open the admin consent URL as a Global or Privileged Role Administrator:\n\
         #    https://login.microsoftonline.com/{}/v2.0/adminconsent?client_id={}&scope=https://outlook.office365.com/.default&redirect_uri=https://localhost",
        req.tenant, req.app_id
    );
    if rbac_smtp {
        let _ = writeln!(
            s,
            "#    For SMTP through RBAC for Applications, do NOT add SMTP.SendAsApp: it would\n\
             #    trigger the mailbox-permission check RBAC replaces."
        );
    }
    let _ = writeln!(s, "\n# 2. Exchange Online PowerShell");
    let _ = writeln!(s, "# Install-Module -Name ExchangeOnlineManagement # once");
    let _ = writeln!(s, "Connect-ExchangeOnline -Organization {tenant}");
    let sp = match &req.service_principal_id {
        Some(id) => {
            let _ = writeln!(
                s,
                "\n# The Enterprise Application's object id (not the App Registration's)."
            );
            let _ = writeln!(s, "$spId = {}", ps(id)?);
            "$spId".to_string()
        }
        None => {
            let _ = writeln!(
                s,
                "\n# The Enterprise Application's object id, looked up: using the App\n\
                 # Registration's object id instead is the most common cause of\n\
                 # 'AUTHENTICATE failed' for app-only access.\n\
                 # Install-Module Microsoft.Graph.Applications; Connect-MgGraph -Scopes Application.Read.All\n\
                 $spId = (Get-MgServicePrincipal -Filter \"appId eq {app}\").Id"
            );
            "$spId".to_string()
        }
    };
    let _ = writeln!(
        s,
        "\n# Register the app's service principal in Exchange (once).\n\
         New-ServicePrincipal -AppId {app} -ObjectId {sp} -DisplayName 'xoauth {}'",
        req.app_id
    );
    if needs_full_access {
        let _ = writeln!(
            s,
            "\n# Let it open each mailbox (IMAP and POP need FullAccess; so does SMTP without RBAC)."
        );
        for m in &mailboxes {
            let _ = writeln!(
                s,
                "Add-MailboxPermission -Identity {m} -User {sp} -AccessRights FullAccess -InheritanceType All"
            );
        }
    }
    for p in &req.protocols {
        let switch = match p {
            Protocol::Imap => "-ImapEnabled $true",
            Protocol::Pop => "-PopEnabled $true",
            Protocol::Smtp => "-SmtpClientAuthenticationDisabled $false",
        };
        let _ = writeln!(
            s,
            "\n# {} must be enabled on each mailbox.",
            p.name().to_uppercase()
        );
        for m in &mailboxes {
            let _ = writeln!(s, "Set-CASMailbox -Identity {m} {switch}");
        }
    }
    if rbac_smtp {
        let filter = req
            .mailboxes
            .iter()
            .map(|m| format!("PrimarySmtpAddress -eq '{}'", m.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(" -or ");
        let scope = format!("xoauth SMTP {}", req.app_id);
        let _ = writeln!(
            s,
            "\n# SMTP through RBAC for Applications: the app may send as these mailboxes only.\n\
             New-ManagementScope -Name {} -RecipientRestrictionFilter {}\n\
             New-ManagementRoleAssignment -Name {} -Role 'Application SMTP.SendAsApp' -App {app} -CustomResourceScope {}",
            ps(&scope)?,
            ps(&filter)?,
            ps(&format!("xoauth SMTP.SendAsApp {}", req.app_id))?,
            ps(&scope)?
        );
    }
    let _ = writeln!(s, "\n# 3. Check it (from any machine):");
    let first = &req.mailboxes[0];
    let _ = writeln!(
        s,
        "# xoauth check --user {first} --client-id {} --tenant {} --certificate app.pem",
        req.app_id, req.tenant
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "66666666-7777-8888-9999-000000000000";
    const SP: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    fn req() -> SetupRequest {
        SetupRequest {
            app_id: APP.into(),
            tenant: "contoso.onmicrosoft.com".into(),
            service_principal_id: Some(SP.into()),
            mailboxes: vec!["sales@contoso.com".into(), "o'brien@contoso.com".into()],
            protocols: vec![Protocol::Imap, Protocol::Pop, Protocol::Smtp],
            smtp_rbac: false,
        }
    }

    #[test]
    fn full_script_has_every_step_with_the_ids() {
        let s = render(&req()).unwrap();
        assert!(s.contains("IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp"));
        assert!(s.contains(&format!("adminconsent?client_id={APP}")));
        assert!(s.contains("Connect-ExchangeOnline -Organization 'contoso.onmicrosoft.com'"));
        assert!(s.contains(&format!("$spId = '{SP}'")));
        assert!(s.contains(&format!(
            "New-ServicePrincipal -AppId '{APP}' -ObjectId $spId"
        )));
        assert!(s.contains("Add-MailboxPermission -Identity 'sales@contoso.com' -User $spId -AccessRights FullAccess"));
        // Quotes are doubled, never left to break the string.
        assert!(s.contains("Add-MailboxPermission -Identity 'o''brien@contoso.com'"));
        assert!(s.contains("Set-CASMailbox -Identity 'sales@contoso.com' -ImapEnabled $true"));
        assert!(s.contains(
            "Set-CASMailbox -Identity 'sales@contoso.com' -SmtpClientAuthenticationDisabled $false"
        ));
        assert!(!s.contains("New-ManagementRoleAssignment"));
    }

    #[test]
    fn unknown_service_principal_is_looked_up_not_guessed() {
        let s = render(&SetupRequest {
            service_principal_id: None,
            ..req()
        })
        .unwrap();
        assert!(s.contains(&format!(
            "Get-MgServicePrincipal -Filter \"appId eq '{APP}'\""
        )));
        assert!(s.contains("App\n# Registration's object id"));
    }

    #[test]
    fn smtp_rbac_variant() {
        let r = SetupRequest {
            protocols: vec![Protocol::Smtp],
            smtp_rbac: true,
            ..req()
        };
        let s = render(&r).unwrap();
        assert!(s.contains("-Role 'Application SMTP.SendAsApp'"));
        assert!(s.contains("PrimarySmtpAddress -eq ''sales@contoso.com'' -or PrimarySmtpAddress -eq ''o''''brien@contoso.com''"));
        assert!(s.contains("do NOT add SMTP.SendAsApp"));
        assert!(
            !s.contains("Add-MailboxPermission"),
            "RBAC replaces FullAccess for SMTP"
        );
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(
            render(&SetupRequest {
                app_id: "nope".into(),
                ..req()
            }),
            Err(SetupError::NotGuid { .. })
        ));
        assert!(matches!(
            render(&SetupRequest {
                service_principal_id: Some("1234".into()),
                ..req()
            }),
            Err(SetupError::NotGuid { .. })
        ));
        assert_eq!(
            render(&SetupRequest {
                mailboxes: vec![],
                ..req()
            }),
            Err(SetupError::NoMailbox)
        );
        assert!(matches!(
            render(&SetupRequest {
                mailboxes: vec!["a`$(x)@b".into()],
                ..req()
            }),
            Err(SetupError::Unsafe(_))
        ));
    }
}
