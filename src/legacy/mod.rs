//! Who still signs in with Basic authentication: a per-protocol report of legacy-auth sign-ins
//! read from Entra sign-in logs (the admin center's CSV or JSON download, or Graph's
//! `/auditLogs/signIns` JSON), streamed so a 1 GB export needs no more memory than its distinct
//! users, apps and addresses. Knows no mail protocol driver and no token: the binary feeds it
//! bytes, from a file or from Graph pages.

mod csv;
pub mod graph;
mod json;
pub mod kql;
pub mod protocols;
mod render;
pub mod summary;
pub mod time;

use std::io::BufRead;

pub use summary::Summary;

/// Where a record came from, for the messages of a row that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Entra admin center's "Download CSV".
    Csv,
    /// The Entra admin center's "Download JSON": an array of sign-in objects.
    EntraJson,
    /// Graph's `GET /auditLogs/signIns` response: `{"value": [...], "@odata.nextLink": ...}`.
    GraphJson,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Csv => "Entra sign-in CSV",
            Format::EntraJson => "Entra sign-in JSON",
            Format::GraphJson => "Graph signIns JSON",
        }
    }
}

/// One sign-in, with only the fields the report reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignIn {
    pub when: Option<i64>,
    pub user: String,
    pub app: String,
    pub ip: String,
    pub client_app: String,
    /// `status.errorCode`; 0 is a successful sign-in.
    pub error_code: i64,
    /// Whether any authentication method named a certificate (the ActiveSync exclusion).
    pub certificate: bool,
}

/// What a reader yields: a sign-in, or a row it could not use and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    SignIn { line: u64, sign_in: SignIn },
    Warning { line: u64, message: String },
}

/// Why an input cannot be read at all. A bad row is an [`Item::Warning`], not this.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("cannot read the sign-in log: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a sign-in log export: {0}")]
    NotAnExport(String),
    #[error(
        "the CSV lacks the column(s) {0}; download the sign-in log again from the Entra admin \
         center (Sign-in logs > Download > CSV) without removing columns"
    )]
    MissingColumns(String),
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
}

/// The largest single record (a CSV row or a JSON sign-in object) read: a real one is a few KB.
pub const MAX_RECORD: usize = 1 << 20;

/// A streaming reader over an export whose format is detected from its first bytes.
pub struct Reader {
    format: Format,
    inner: Inner,
}

enum Inner {
    Csv(csv::CsvSignIns),
    Json(json::JsonSignIns),
}

impl Reader {
    /// Detects the format: `[` is the admin center's JSON, `{` Graph's, a header line naming
    /// the sign-in columns is CSV; anything else is an error.
    pub fn new(mut input: Box<dyn BufRead + Send>) -> Result<Self, LegacyError> {
        // Skip a UTF-8 byte-order mark and leading white space.
        let first = loop {
            let buf = input.fill_buf()?;
            let Some(&b) = buf.first() else {
                return Err(LegacyError::NotAnExport("the input is empty".into()));
            };
            if buf.starts_with(b"\xEF\xBB\xBF") {
                input.consume(3);
            } else if b.is_ascii_whitespace() {
                input.consume(1);
            } else {
                break b;
            }
        };
        let (format, inner) = match first {
            b'[' => (
                Format::EntraJson,
                Inner::Json(json::JsonSignIns::new(input, false)),
            ),
            b'{' => (
                Format::GraphJson,
                Inner::Json(json::JsonSignIns::new(input, true)),
            ),
            _ => (Format::Csv, Inner::Csv(csv::CsvSignIns::new(input)?)),
        };
        Ok(Reader { format, inner })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Graph's `@odata.nextLink` once the page is read, if the response had one.
    pub fn next_link(&self) -> Option<&str> {
        match &self.inner {
            Inner::Json(j) => j.next_link(),
            Inner::Csv(_) => None,
        }
    }
}

impl Iterator for Reader {
    type Item = Result<Item, LegacyError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Csv(c) => c.next(),
            Inner::Json(j) => j.next(),
        }
    }
}
