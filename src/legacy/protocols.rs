//! The legacy-authentication client apps as Entra names them in `clientAppUsed` (Graph),
//! `ClientAppUsed` (Log Analytics) and the `Client app` CSV column, each with the next step an
//! admin takes. One table: the file reader, the Graph filter and the KQL are all derived from
//! it, so they cannot disagree. Sources: docs/legacy-auth-sources.md.

/// One legacy client app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyApp {
    /// The exact `clientAppUsed` string.
    pub client_app: &'static str,
    /// What to do about the sign-ins it counts.
    pub next_step: &'static str,
}

/// Every `clientAppUsed` value Entra lists under "Legacy authentication clients", in the
/// order the report shows them. Modern values ("Browser", "Mobile Apps and Desktop clients")
/// are not here: they are not Basic authentication.
pub const LEGACY_APPS: &[LegacyApp] = &[
    LegacyApp {
        client_app: "IMAP4",
        next_step: "move the client to OAuth and prove it with `xoauth imap --user <mailbox>`; then \
                    `Set-CASMailbox <mailbox> -ImapEnabled $false` where IMAP is not needed, or an \
                    authentication policy `New-AuthenticationPolicy -Name NoBasic \
                    -AllowBasicAuthImap:$false`",
    },
    LegacyApp {
        client_app: "POP3",
        next_step: "move the client to OAuth and prove it with `xoauth pop --user <mailbox>`; then \
                    `Set-CASMailbox <mailbox> -PopEnabled $false` where POP is not needed, or \
                    `New-AuthenticationPolicy -Name NoBasic -AllowBasicAuthPop:$false`",
    },
    LegacyApp {
        client_app: "Authenticated SMTP",
        next_step: "move the sender to OAuth (XOAUTH2) and prove it with `xoauth smtp --user \
                    <mailbox>`; then `Set-CASMailbox <mailbox> -SmtpClientAuthenticationDisabled \
                    $true` (or `Set-TransportConfig -SmtpClientAuthenticationDisabled $true` for \
                    the tenant)",
    },
    LegacyApp {
        client_app: "Exchange ActiveSync",
        next_step: "move the device to a modern-auth client (Outlook mobile, or the OS mail app \
                    re-added with OAuth); then `New-AuthenticationPolicy -Name NoBasic \
                    -AllowBasicAuthActiveSync:$false`",
    },
    LegacyApp {
        client_app: "Exchange Web Services",
        next_step: "update the app to OAuth for EWS (or to Microsoft Graph); Basic auth for EWS is \
                    already off in Exchange Online, so successes here need a closer look",
    },
    LegacyApp {
        client_app: "MAPI Over HTTP",
        next_step: "update Outlook to a version with modern authentication enabled; then \
                    `New-AuthenticationPolicy -Name NoBasic -AllowBasicAuthMapi:$false`",
    },
    LegacyApp {
        client_app: "Outlook Anywhere (RPC over HTTP)",
        next_step: "update Outlook (2016 and earlier use RPC over HTTP); then \
                    `New-AuthenticationPolicy -Name NoBasic -AllowBasicAuthRpc:$false`",
    },
    LegacyApp {
        client_app: "Autodiscover",
        next_step: "find the client behind it (Outlook or an ActiveSync device) and move it to \
                    modern auth; then `New-AuthenticationPolicy -Name NoBasic \
                    -AllowBasicAuthAutodiscover:$false`",
    },
    LegacyApp {
        client_app: "Exchange Online PowerShell",
        next_step: "connect with the ExchangeOnlineManagement module (`Connect-ExchangeOnline`), \
                    which uses modern auth",
    },
    LegacyApp {
        client_app: "Offline Address Book",
        next_step: "update Outlook to modern auth; then `New-AuthenticationPolicy -Name NoBasic \
                    -AllowBasicAuthOfflineAddressBook:$false`",
    },
    LegacyApp {
        client_app: "Outlook Service",
        next_step: "move the Windows Mail and Calendar user to new Outlook or Outlook mobile",
    },
    LegacyApp {
        client_app: "Reporting Web Services",
        next_step: "move the reporting script to the Microsoft Graph reports API with OAuth",
    },
    LegacyApp {
        client_app: "Other clients",
        next_step: "identify the app by its user and IP address; Entra could not name the \
                    protocol, so check the mailbox's CAS settings and the app's vendor",
    },
];

/// The legacy app `client_app` names, if any. Case-insensitive: Entra's own pages differ in
/// case ("MAPI over HTTP" in the docs, "MAPI Over HTTP" in the data).
pub fn legacy(client_app: &str) -> Option<&'static LegacyApp> {
    let c = client_app.trim();
    LEGACY_APPS
        .iter()
        .find(|a| a.client_app.eq_ignore_ascii_case(c))
}

/// The ActiveSync client app, whose certificate-based sign-ins are not Basic authentication.
pub const ACTIVESYNC: &str = "Exchange ActiveSync";
