//! What the diagnosis says about a failure, and what the token's claims say before connecting:
//! plain data here, so that the report can carry it without knowing how it was worked out.

use serde::Serialize;

/// A failure's cause and fix, with the evidence they rest on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Explanation {
    pub cause: String,
    /// Possible causes, most likely first, when the evidence does not single one out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The facts the explanation rests on: the server's words, the token's claims, the mailbox.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// One thing the token's claims say about a check, found before connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The token cannot work for this protocol, whatever the server says.
    pub blocking: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}
