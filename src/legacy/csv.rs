//! The Entra admin center's sign-in CSV (RFC 4180: quoted fields may hold commas, `""` and
//! line breaks), read one record at a time. Columns are found by their header names, which
//! are trimmed (the download writes `Application ID ` with a trailing space).

use std::io::BufRead;

use super::{Item, LegacyError, MAX_RECORD, SignIn, time};

/// The columns without which no row can be counted.
const DATE: &str = "Date (UTC)";
const USER: &str = "Username";
const CLIENT_APP: &str = "Client app";
/// Either gives the outcome; the error code is preferred.
const ERROR_CODE: &str = "Sign-in error code";
const STATUS: &str = "Status";
const APP: &str = "Application";
const IP: &str = "IP address";
/// Columns that may name a certificate; the interactive download has no authentication
/// details (they are a separate file), so these are the best the CSV offers.
const CERT_COLUMNS: &[&str] = &[
    "Authentication details",
    "Authentication method",
    "Client credential type",
    "Multifactor authentication auth method",
];

pub struct CsvSignIns {
    input: Box<dyn BufRead + Send>,
    line: u64,
    width: usize,
    date: usize,
    user: usize,
    client_app: usize,
    error_code: Option<usize>,
    status: Option<usize>,
    app: Option<usize>,
    ip: Option<usize>,
    cert: Vec<usize>,
    done: bool,
}

impl CsvSignIns {
    pub fn new(mut input: Box<dyn BufRead + Send>) -> Result<Self, LegacyError> {
        let mut line = 1;
        let header = read_record(&mut input, &mut line)?
            .ok_or_else(|| LegacyError::NotAnExport("the input is empty".into()))?;
        let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
        let find = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
        if names.len() < 2 {
            let shown: String = names
                .first()
                .map(|n| n.chars().take(60).collect())
                .unwrap_or_default();
            return Err(LegacyError::NotAnExport(format!(
                "its first line ({shown:?}) is neither JSON nor a CSV header"
            )));
        }
        let error_code = find(ERROR_CODE);
        let status = find(STATUS);
        let mut missing: Vec<&str> = [DATE, USER, CLIENT_APP]
            .into_iter()
            .filter(|c| find(c).is_none())
            .collect();
        if error_code.is_none() && status.is_none() {
            missing.push(ERROR_CODE);
        }
        if missing.len() == 4 {
            return Err(LegacyError::NotAnExport(
                "a CSV without any of the sign-in log's columns (Date (UTC), Username, Client app, \
                 Sign-in error code)"
                    .into(),
            ));
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| format!("\"{m}\"")).collect();
            return Err(LegacyError::MissingColumns(list.join(", ")));
        }
        Ok(CsvSignIns {
            input,
            line,
            width: names.len(),
            date: find(DATE).unwrap_or_default(),
            user: find(USER).unwrap_or_default(),
            client_app: find(CLIENT_APP).unwrap_or_default(),
            error_code,
            status,
            app: find(APP),
            ip: find(IP),
            cert: CERT_COLUMNS.iter().filter_map(|c| find(c)).collect(),
            done: false,
        })
    }

    fn row(&self, line: u64, fields: Vec<String>) -> Item {
        let warn = |message: String| Item::Warning { line, message };
        if fields.len() != self.width {
            return warn(format!(
                "{} fields where the header has {}; row skipped",
                fields.len(),
                self.width
            ));
        }
        let get = |i: usize| fields[i].trim();
        let client_app = get(self.client_app);
        if client_app.is_empty() {
            return warn("empty \"Client app\"; row skipped".into());
        }
        let error_code = match (self.error_code.map(get), self.status.map(get)) {
            (Some(code), _) if !code.is_empty() => match code.parse::<i64>() {
                Ok(c) => c,
                Err(_) => {
                    return warn(format!(
                        "\"Sign-in error code\" {code:?} is not a number; row skipped"
                    ));
                }
            },
            (_, Some(s)) if s.eq_ignore_ascii_case("success") => 0,
            (_, Some(s))
                if s.to_ascii_lowercase().starts_with("fail")
                    || s.to_ascii_lowercase().starts_with("interrupt") =>
            {
                -1
            }
            _ => return warn("no \"Sign-in error code\" or \"Status\"; row skipped".into()),
        };
        let date = get(self.date);
        Item::SignIn {
            line,
            sign_in: SignIn {
                when: time::parse(date),
                user: get(self.user).to_string(),
                app: self.app.map(get).unwrap_or_default().to_string(),
                ip: self.ip.map(get).unwrap_or_default().to_string(),
                client_app: client_app.to_string(),
                error_code,
                certificate: self
                    .cert
                    .iter()
                    .any(|&i| get(i).to_ascii_lowercase().contains("certificate")),
            },
        }
    }
}

impl Iterator for CsvSignIns {
    type Item = Result<Item, LegacyError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let line = self.line;
            match read_record(&mut self.input, &mut self.line) {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(f)) if f.len() == 1 && f[0].trim().is_empty() => continue, // blank line
                Ok(Some(fields)) => return Some(Ok(self.row(line, fields))),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// One CSV record (RFC 4180), or `None` at the end. `line` is advanced past it.
fn read_record(
    input: &mut dyn BufRead,
    line: &mut u64,
) -> Result<Option<Vec<String>>, LegacyError> {
    let start = *line;
    let mut raw = Vec::new();
    let mut quoted = false;
    // Read whole lines until the quotes balance: a quoted field may span lines.
    loop {
        let before = raw.len();
        let limit = (MAX_RECORD + 1 - raw.len().min(MAX_RECORD)) as u64;
        let n = <&mut dyn BufRead as std::io::Read>::take(&mut *input, limit)
            .read_until(b'\n', &mut raw)?;
        if n == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            if quoted {
                return Err(LegacyError::Malformed {
                    line: start,
                    message: "a quoted field is not closed before the end of the input".into(),
                });
            }
            break;
        }
        if raw.len() > MAX_RECORD {
            return Err(LegacyError::Malformed {
                line: start,
                message: format!("a record longer than {MAX_RECORD} bytes: not a sign-in export"),
            });
        }
        quoted ^= raw[before..].iter().filter(|&&b| b == b'"').count() % 2 == 1;
        if raw.ends_with(b"\n") {
            *line += 1;
            if !quoted {
                break;
            }
        }
    }
    let text = String::from_utf8(raw).map_err(|_| LegacyError::Malformed {
        line: start,
        message: "not UTF-8 text".into(),
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    Ok(Some(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<Vec<String>> {
        let mut input: &[u8] = text.as_bytes();
        let mut line = 1;
        let mut out = Vec::new();
        while let Some(r) = read_record(&mut input, &mut line).unwrap() {
            out.push(r);
        }
        out
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks() {
        let r = records("a,\"b,c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x,\n");
        assert_eq!(r[0], ["a", "b,c", "say \"hi\""]);
        assert_eq!(r[1], ["two\nlines", "x", ""]);
    }

    #[test]
    fn an_unclosed_quote_is_an_error_with_its_line() {
        let mut input: &[u8] = b"a,b\n\"open,\nnever closed\n";
        let mut line = 1;
        read_record(&mut input, &mut line).unwrap();
        match read_record(&mut input, &mut line) {
            Err(LegacyError::Malformed { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
