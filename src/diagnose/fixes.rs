//! The admin commands and steps a fix line is made of, one builder each, so that a single
//! cell's diagnosis and the cross-protocol explanation (`combination`) print the same command
//! for the same repair, with every value quoted the same way (reference E2, I).
//!
//! A `*_arg` parameter is already a PowerShell argument: a value passed through
//! [`quote`], or a bare `<placeholder>` left so that pasting it unchanged fails.

use crate::powershell::quote;
use crate::service::{EXCHANGE_DELEGATED_RESOURCE, Protocol};

/// Lets `grantee_arg` open `mailbox` over IMAP and POP (and, for an app holding
/// `SMTP.SendAsApp`, send from it): what a shared mailbox and an app-only token need.
pub(super) fn full_access(mailbox: &str, grantee_arg: &str) -> String {
    format!(
        "Add-MailboxPermission -Identity {} -User {grantee_arg} -AccessRights FullAccess",
        quote(mailbox)
    )
}

/// The last step of a grant: a misspelled address fails it too, and this says why.
pub(super) fn must_exist(mailbox: &str) -> String {
    format!(
        "Get-Mailbox -Identity {} must find the mailbox",
        quote(mailbox)
    )
}

/// Switches `protocol` back on for one mailbox (SMTP's switch is inverted).
pub(super) fn enable(mailbox: &str, protocol: Protocol) -> String {
    format!(
        "Set-CASMailbox -Identity {} {}",
        quote(mailbox),
        protocol.exchange_mailbox_enable()
    )
}

/// Shows the switches that turn protocols on or off for one mailbox, named by `switches`
/// (`ImapEnabled`, `PopEnabled,SmtpClientAuthenticationDisabled`, ...).
pub(super) fn show_switches(mailbox: &str, switches: &str) -> String {
    format!(
        "Get-CASMailbox -Identity {} | Format-List {switches}",
        quote(mailbox)
    )
}

/// Registers the app's service principal in Exchange Online with the Enterprise
/// Application's object id (the token's `oid`), replacing one registered with another id.
pub(super) fn register_service_principal(app_arg: &str, oid_arg: &str) -> String {
    format!(
        "New-ServicePrincipal -AppId {app_arg} -ObjectId {oid_arg} (if Get-ServicePrincipal \
         -Identity {app_arg} shows another ObjectId, Remove-ServicePrincipal it first)"
    )
}

/// Adds an Exchange application permission (a `roles` entry) to the app, with consent.
pub(super) fn add_app_role(app: &str, role: &str) -> String {
    format!(
        "Entra admin center → App registrations → {app} → API permissions → Add a permission → \
         Office 365 Exchange Online → Application permissions → {role}, then Grant admin consent"
    )
}

/// Asks for a delegated permission (a `scp` entry) under Exchange's resource.
pub(super) fn request_scope(scope: &str) -> String {
    format!(
        "request {EXCHANGE_DELEGATED_RESOURCE}{scope} and make sure the app has that delegated \
         permission with consent"
    )
}

/// Lets `trustee` send as `from_arg` (FullAccess does not include it).
pub(super) fn send_as(from_arg: &str, trustee: &str) -> String {
    send_as_to(from_arg, &quote(trustee))
}

/// [`send_as`] with the trustee already an argument (quoted, or a `<placeholder>`).
pub(super) fn send_as_to(from_arg: &str, trustee_arg: &str) -> String {
    format!(
        "Add-RecipientPermission -Identity {from_arg} -Trustee {trustee_arg} -AccessRights SendAs"
    )
}

/// Shows who may send as `mailbox`.
pub(super) fn show_send_as(mailbox: &str) -> String {
    format!("Get-RecipientPermission -Identity {}", quote(mailbox))
}
