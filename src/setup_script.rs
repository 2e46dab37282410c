//! `xoauth setup-script`: the Exchange Online PowerShell and Entra steps that give an app
//! access to mailboxes over IMAP, POP and SMTP (reference E2, [EXO-OAUTH], [SMTP-RBAC]), built
//! from the ids the admin gives, as a pure function so every line can be tested.
//!
//! The one trap it guards against: `New-ServicePrincipal -ObjectId` takes the *Enterprise
//! Application's* object id (the token's `oid`), not the App Registration's. When the admin
//! does not know it, the script looks it up instead of guessing.

use std::fmt::Write as _;

use crate::powershell::{Kind, ValueError, check, quote};
use crate::service::Protocol;

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
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error("give at least one --mailbox")]
    NoMailbox,
    #[error(
        "--service-principal-id {0} is the app's Application (client) id, the same as --app-id; \
         New-ServicePrincipal -ObjectId needs the Enterprise Application's object id (Entra \
         admin center -> Enterprise applications -> the app -> Object ID; the oid of its \
         app-only token), which is another GUID. Leave --service-principal-id out and the \
         script looks it up"
    )]
    ServicePrincipalIsAppId(String),
    #[error(
        "--smtp-rbac grants SMTP through RBAC for Applications, but --protocols does not \
         include smtp: add smtp to --protocols or leave --smtp-rbac out"
    )]
    SmtpRbacWithoutSmtp,
}

/// Refuses a request with any value that is not what its flag stands for, before a line is
/// written: the ids, the tenant and the mailboxes all end up in PowerShell.
pub fn validate(req: &SetupRequest) -> Result<(), SetupError> {
    check(Kind::Guid, "--app-id", &req.app_id)?;
    if let Some(sp) = &req.service_principal_id {
        check(Kind::Guid, "--service-principal-id", sp)?;
        // The trap this script exists to avoid: the one id the admin surely has, given for the
        // one they need.
        if sp.eq_ignore_ascii_case(&req.app_id) {
            return Err(SetupError::ServicePrincipalIsAppId(sp.clone()));
        }
    }
    if req.smtp_rbac && !req.protocols.contains(&Protocol::Smtp) {
        return Err(SetupError::SmtpRbacWithoutSmtp);
    }
    check(Kind::Tenant, "--tenant", &req.tenant)?;
    if req.mailboxes.is_empty() {
        return Err(SetupError::NoMailbox);
    }
    for m in &req.mailboxes {
        check(Kind::Address, "--mailbox", m)?;
    }
    Ok(())
}

/// The script for `req`. Every value in a command goes through [`quote`]; values in comments
/// and URLs are safe there because [`validate`] has checked their shape.
pub fn render(req: &SetupRequest) -> Result<String, SetupError> {
    validate(req)?;
    let app = quote(&req.app_id);
    let tenant = quote(&req.tenant);
    let mailboxes: Vec<String> = req.mailboxes.iter().map(|m| quote(m)).collect();
    let smtp = req.protocols.contains(&Protocol::Smtp);
    let rbac_smtp = smtp && req.smtp_rbac;
    let roles: Vec<&str> = req
        .protocols
        .iter()
        .filter(|p| !(rbac_smtp && **p == Protocol::Smtp))
        .map(|p| p.exchange_app_role())
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
            "#    For SMTP through RBAC for Applications, do NOT add {}: it would\n\
             #    trigger the mailbox-permission check RBAC replaces.",
            Protocol::Smtp.exchange_app_role()
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
            let _ = writeln!(s, "$spId = {}", quote(id));
            "$spId".to_string()
        }
        None => {
            let _ = writeln!(
                s,
                "\n# The Enterprise Application's object id, looked up: using the App\n\
                 # Registration's object id instead is the most common cause of\n\
                 # 'AUTHENTICATE failed' for app-only access.\n\
                 # Install-Module Microsoft.Graph.Applications; Connect-MgGraph -Scopes Application.Read.All\n\
                 $spId = (Get-MgServicePrincipal -Filter {}).Id",
                quote(&format!("appId eq {app}"))
            );
            "$spId".to_string()
        }
    };
    let _ = writeln!(
        s,
        "\n# Register the app's service principal in Exchange (once).\n\
         New-ServicePrincipal -AppId {app} -ObjectId {sp} -DisplayName {}",
        quote(&format!("xoauth {}", req.app_id))
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
        let switch = p.exchange_mailbox_enable();
        let _ = writeln!(s, "\n# {} must be enabled on each mailbox.", p.label());
        for m in &mailboxes {
            let _ = writeln!(s, "Set-CASMailbox -Identity {m} {switch}");
        }
    }
    if rbac_smtp {
        let filter = req
            .mailboxes
            .iter()
            .map(|m| format!("PrimarySmtpAddress -eq {}", quote(m)))
            .collect::<Vec<_>>()
            .join(" -or ");
        let scope = format!("xoauth SMTP {}", req.app_id);
        let role = Protocol::Smtp.exchange_app_role();
        let _ = writeln!(
            s,
            "\n# SMTP through RBAC for Applications: the app may send as these mailboxes only.\n\
             New-ManagementScope -Name {} -RecipientRestrictionFilter {}\n\
             New-ManagementRoleAssignment -Name {} -Role 'Application {role}' -App {app} -CustomResourceScope {}",
            quote(&scope),
            quote(&filter),
            quote(&format!("xoauth {role} {}", req.app_id)),
            quote(&scope)
        );
    }
    let _ = writeln!(s, "\n# 3. Check it (from any machine; PowerShell quoting):");
    let first = &mailboxes[0];
    // Only what was granted: `check` on its own would also try the protocols left out.
    let all = [Protocol::Imap, Protocol::Pop, Protocol::Smtp];
    let protocols = if all.iter().all(|p| req.protocols.contains(p)) {
        String::new()
    } else {
        let names: Vec<&str> = req.protocols.iter().map(|p| p.name()).collect();
        format!(" --protocols {}", names.join(","))
    };
    let _ = writeln!(
        s,
        "# xoauth check --user {first} --client-id {} --tenant {}{protocols} --certificate app.pem",
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
        // The filter is one single-quoted literal holding `appId eq '<id>'` (it used to be a
        // double-quoted string, where `$` and backtick are live; all values now go through
        // one quoting rule).
        assert!(s.contains(&format!(
            "Get-MgServicePrincipal -Filter 'appId eq ''{APP}'''"
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
            Err(SetupError::Value(ValueError::NotGuid { .. }))
        ));
        assert!(matches!(
            render(&SetupRequest {
                service_principal_id: Some("1234".into()),
                ..req()
            }),
            Err(SetupError::Value(ValueError::NotGuid { .. }))
        ));
        assert_eq!(
            render(&SetupRequest {
                mailboxes: vec![],
                ..req()
            }),
            Err(SetupError::NoMailbox)
        );
        // `$` and the backtick are literal inside single quotes; `(` is what no address has.
        assert!(matches!(
            render(&SetupRequest {
                mailboxes: vec!["a`$(x)@b".into()],
                ..req()
            }),
            Err(SetupError::Value(ValueError::NotAddress { .. }))
        ));
    }

    #[test]
    fn the_app_id_is_refused_as_the_service_principal_id() {
        for sp in [APP.to_string(), APP.to_uppercase()] {
            let e = render(&SetupRequest {
                service_principal_id: Some(sp.clone()),
                ..req()
            })
            .unwrap_err();
            assert_eq!(e, SetupError::ServicePrincipalIsAppId(sp));
            let text = e.to_string();
            assert!(
                text.contains("Enterprise Application's object id"),
                "{text}"
            );
            assert!(text.contains("Application (client) id"), "{text}");
        }
    }

    #[test]
    fn smtp_rbac_needs_smtp_and_the_check_line_names_the_protocols_granted() {
        assert_eq!(
            render(&SetupRequest {
                protocols: vec![Protocol::Imap],
                smtp_rbac: true,
                ..req()
            }),
            Err(SetupError::SmtpRbacWithoutSmtp)
        );
        let s = render(&SetupRequest {
            protocols: vec![Protocol::Imap],
            ..req()
        })
        .unwrap();
        assert!(
            s.contains(&format!(
                "# xoauth check --user 'sales@contoso.com' --client-id {APP} --tenant \
                 contoso.onmicrosoft.com --protocols imap --certificate app.pem"
            )),
            "{s}"
        );
        let s = render(&SetupRequest {
            protocols: vec![Protocol::Smtp, Protocol::Pop],
            ..req()
        })
        .unwrap();
        assert!(s.contains(" --protocols smtp,pop --certificate"), "{s}");
        // Everything granted: check's default, no flag.
        assert!(!render(&req()).unwrap().contains("--protocols"));
    }

    #[test]
    fn dollar_and_backtick_addresses_are_quoted_not_refused() {
        let s = render(&SetupRequest {
            mailboxes: vec!["a$b`c@contoso.com".into()],
            ..req()
        })
        .unwrap();
        assert!(s.contains("Set-CASMailbox -Identity 'a$b`c@contoso.com' -ImapEnabled $true"));
    }

    /// The PowerShell statements of a script: its non-comment lines.
    fn statements(s: &str) -> Vec<&str> {
        s.lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .collect()
    }

    #[test]
    fn typographic_quotes_and_bad_tenants_are_refused() {
        // PowerShell ends a single-quoted string at U+2018..U+201B as at ', so this address
        // would have run calc.
        for m in [
            "x’;calc;’@x.com",
            "x‘;calc;‘@x.com",
            "x‚;calc;‚@x.com",
            "x‛;calc;‛@x.com",
        ] {
            let e = render(&SetupRequest {
                mailboxes: vec![m.into()],
                ..req()
            })
            .unwrap_err();
            assert!(e.to_string().contains("quote"), "{m}: {e}");
        }
        for t in [
            "x';calc;'",
            "contoso.com\nStart-Process calc",
            "common",
            "a b.com",
        ] {
            let e = render(&SetupRequest {
                tenant: t.into(),
                ..req()
            })
            .unwrap_err();
            assert!(e.to_string().contains("--tenant"), "{t}: {e}");
        }
        assert!(
            render(&SetupRequest {
                tenant: "9188040d-6c67-4c5b-b112-36a304b66dad".into(),
                ..req()
            })
            .is_ok()
        );
    }

    #[test]
    fn every_value_in_a_statement_is_one_literal() {
        use crate::powershell::is_single_quote;
        for rbac in [false, true] {
            let s = render(&SetupRequest {
                smtp_rbac: rbac,
                service_principal_id: None,
                ..req()
            })
            .unwrap();
            for line in statements(&s) {
                // Outside the literals a statement holds only its fixed words: no value leaks.
                let mut outside = String::new();
                let mut inside = false;
                let mut chars = line.chars().peekable();
                while let Some(c) = chars.next() {
                    if is_single_quote(c) {
                        if inside && chars.peek().is_some_and(|n| is_single_quote(*n)) {
                            chars.next();
                            continue;
                        }
                        inside = !inside;
                        continue;
                    }
                    if !inside {
                        outside.push(c);
                    }
                }
                assert!(!inside, "unterminated literal in {line:?}");
                for value in ["sales@contoso.com", "brien", "contoso.onmicrosoft.com", APP] {
                    assert!(!outside.contains(value), "{value} unquoted in {line:?}");
                }
            }
        }
    }
}
