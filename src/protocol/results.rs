//! What a driver found, as data: the folders listed, the folder examined, the sent message found
//! again, the maildrop's size, the message submitted. The report renders these; the drivers
//! fill them in without knowing the report.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Folder {
    /// Decoded from modified UTF-7.
    pub name: String,
    /// As sent on the wire, when it differs from `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_name: Option<String>,
    pub delimiter: Option<String>,
    pub attributes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Examined {
    pub folder: String,
    pub messages: u32,
    pub recent: u32,
    pub uid_validity: Option<u32>,
}

/// A sent test message was found again over IMAP.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Found {
    pub folder: String,
    pub message_id: String,
    /// Sequence numbers of the matching messages.
    pub matches: Vec<u32>,
}

/// POP3 STAT: the maildrop's size, read without changing it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Stat {
    pub messages: u64,
    pub octets: u64,
}

/// The test message submitted over SMTP.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Submission {
    pub message_id: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The server's final reply to DATA, usually with its queue id.
    pub reply: String,
}
