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

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop => "pop",
            Protocol::Smtp => "smtp",
        }
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
    /// Any other server: a host is required.
    Custom,
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
            (Provider::Custom, _) => None,
        }
    }
}
