//! The mail protocols xoauth checks and the services whose endpoints it knows: a leaf that the
//! token layer (default scopes), the plan (hosts) and the diagnosis all name.

use serde::Serialize;

/// The mail protocols xoauth checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Imap,
    Pop,
    Smtp,
}

/// Exchange Online's resource for delegated scopes in the global cloud (reference A4): a scope
/// is this prefix and the protocol's permission; the bare permission name gets a Microsoft Graph
/// token, which Exchange refuses.
pub const EXCHANGE_DELEGATED_RESOURCE: &str = "https://outlook.office.com/";

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop => "pop",
            Protocol::Smtp => "smtp",
        }
    }

    /// The name in sentences: `IMAP`, `POP`, `SMTP`.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP",
            Protocol::Pop => "POP",
            Protocol::Smtp => "SMTP",
        }
    }

    /// The delegated permission Exchange Online requires of a user's token (reference A4); the
    /// token presets ask for it, the setup script and the diagnosis name it.
    pub fn exchange_delegated_scope(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP.AccessAsUser.All",
            Protocol::Pop => "POP.AccessAsUser.All",
            Protocol::Smtp => "SMTP.Send",
        }
    }

    /// [`Self::exchange_delegated_scope`] under the global cloud's resource, as it is requested.
    pub fn exchange_delegated_scope_uri(self) -> String {
        format!(
            "{EXCHANGE_DELEGATED_RESOURCE}{}",
            self.exchange_delegated_scope()
        )
    }

    /// The application permission (a `roles` entry) Exchange Online requires of an app-only
    /// token (reference A4, B).
    pub fn exchange_app_role(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP.AccessAsApp",
            Protocol::Pop => "POP.AccessAsApp",
            Protocol::Smtp => "SMTP.SendAsApp",
        }
    }

    /// The `Set-CASMailbox` property that switches the protocol on or off for one mailbox
    /// (SMTP's is inverted: it names the *disabled* state).
    pub fn exchange_mailbox_switch(self) -> &'static str {
        match self {
            Protocol::Imap => "ImapEnabled",
            Protocol::Pop => "PopEnabled",
            Protocol::Smtp => "SmtpClientAuthenticationDisabled",
        }
    }

    /// The `Set-CASMailbox` parameter and value that switch the protocol on for a mailbox.
    pub fn exchange_mailbox_enable(self) -> String {
        let on = if self == Protocol::Smtp {
            "$false"
        } else {
            "$true"
        };
        format!("-{} {on}", self.exchange_mailbox_switch())
    }
}

/// Well-known services whose endpoints xoauth knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    #[default]
    Microsoft,
    /// GCC High / DoD.
    MicrosoftUsGov,
    /// 21Vianet.
    MicrosoftChina,
    Google,
    /// Exchange Online High Volume Email: SMTP submission only, for internal recipients, by
    /// apps on an HVE account's allow-list (reference I, docs/exchange-2026.md).
    MicrosoftHve,
    /// Any other server: a host is required.
    Custom,
}

/// High Volume Email's SMTP host. Microsoft's troubleshooting page recommends it over the older
/// `smtp-hve.office365.com`, which "will be deprecated".
pub const HVE_SMTP_HOST: &str = "smtp.hve.mx.microsoft";

/// Whether `host` is one of High Volume Email's SMTP hosts: its rules (allow-listed apps,
/// internal recipients, no `SmtpClientAuthenticationDisabled`) differ from submission's.
pub fn is_hve_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == HVE_SMTP_HOST || h == "smtp-hve.office365.com"
}

impl Provider {
    pub fn host(self, protocol: Protocol) -> Option<&'static str> {
        match (self, protocol) {
            (Provider::Microsoft, Protocol::Imap | Protocol::Pop) => Some("outlook.office365.com"),
            (Provider::Microsoft, Protocol::Smtp) => Some("smtp.office365.com"),
            // Reference A5b (third-party sources; not in a Microsoft document).
            (Provider::MicrosoftUsGov, Protocol::Imap | Protocol::Pop) => {
                Some("outlook.office365.us")
            }
            (Provider::MicrosoftUsGov, Protocol::Smtp) => Some("smtp.office365.us"),
            (Provider::MicrosoftChina, Protocol::Imap | Protocol::Pop) => {
                Some("partner.outlook.cn")
            }
            (Provider::MicrosoftChina, Protocol::Smtp) => Some("smtp.partner.outlook.cn"),
            (Provider::Google, Protocol::Imap) => Some("imap.gmail.com"),
            (Provider::Google, Protocol::Pop) => Some("pop.gmail.com"),
            (Provider::Google, Protocol::Smtp) => Some("smtp.gmail.com"),
            (Provider::MicrosoftHve, Protocol::Smtp) => Some(HVE_SMTP_HOST),
            (Provider::MicrosoftHve, Protocol::Imap | Protocol::Pop) => None,
            (Provider::Custom, _) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference A4, verbatim: the one place these strings are written outside tests.
    #[test]
    fn exchange_permissions_per_protocol() {
        let rows: Vec<(&str, String, &str)> = [Protocol::Imap, Protocol::Pop, Protocol::Smtp]
            .into_iter()
            .map(|p| {
                (
                    p.label(),
                    p.exchange_delegated_scope_uri(),
                    p.exchange_app_role(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "IMAP",
                    "https://outlook.office.com/IMAP.AccessAsUser.All".to_string(),
                    "IMAP.AccessAsApp"
                ),
                (
                    "POP",
                    "https://outlook.office.com/POP.AccessAsUser.All".to_string(),
                    "POP.AccessAsApp"
                ),
                (
                    "SMTP",
                    "https://outlook.office.com/SMTP.Send".to_string(),
                    "SMTP.SendAsApp"
                ),
            ]
        );
    }
}
