//! Sign-in objects out of a JSON export without reading it whole: a small scanner follows
//! strings and nesting byte by byte, cuts out each object of the top-level array (the admin
//! center's download) or of the `value` array (Graph's page), and hands each alone to serde.
//! Memory is one sign-in object, whatever the file's size.

use std::io::BufRead;

use serde::Deserialize;

use super::{Item, LegacyError, MAX_RECORD, SignIn, time};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    created_date_time: Option<String>,
    user_principal_name: Option<String>,
    app_display_name: Option<String>,
    ip_address: Option<String>,
    client_app_used: Option<String>,
    status: Option<Status>,
    authentication_details: Option<Vec<AuthDetail>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    error_code: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthDetail {
    authentication_method: Option<String>,
}

pub struct JsonSignIns {
    input: Box<dyn BufRead + Send>,
    /// Graph's `{"value": [...]}` rather than a bare array.
    wrapped: bool,
    line: u64,
    depth: usize,
    in_string: bool,
    escape: bool,
    /// The nesting depth of the sign-in objects, once their array is open.
    element_depth: Option<usize>,
    elements_done: bool,
    capture: Option<(u64, Vec<u8>)>,
    /// At depth 1 of Graph's object: the last key and whether its value is expected next.
    string: Vec<u8>,
    key: Vec<u8>,
    after_colon: bool,
    next_link: Option<String>,
    done: bool,
}

impl JsonSignIns {
    pub fn new(input: Box<dyn BufRead + Send>, wrapped: bool) -> Self {
        JsonSignIns {
            input,
            wrapped,
            line: 1,
            depth: 0,
            in_string: false,
            escape: false,
            element_depth: None,
            elements_done: false,
            capture: None,
            string: Vec::new(),
            key: Vec::new(),
            after_colon: false,
            next_link: None,
            done: false,
        }
    }

    pub fn next_link(&self) -> Option<&str> {
        self.next_link.as_deref()
    }

    fn malformed(&self, message: impl Into<String>) -> LegacyError {
        LegacyError::Malformed {
            line: self.line,
            message: message.into(),
        }
    }

    /// One byte; `Some` when it completes a sign-in object.
    fn step(&mut self, b: u8) -> Result<Option<(u64, Vec<u8>)>, LegacyError> {
        if b == b'\n' {
            self.line += 1;
        }
        if let Some((_, buf)) = &mut self.capture {
            if buf.len() >= MAX_RECORD {
                return Err(self.malformed(format!(
                    "a sign-in object longer than {MAX_RECORD} bytes: not a sign-in export"
                )));
            }
            buf.push(b);
        }
        let top_level = self.wrapped && self.depth == 1 && self.capture.is_none();
        if self.in_string {
            if self.escape {
                self.escape = false;
            } else if b == b'\\' {
                self.escape = true;
            } else if b == b'"' {
                self.in_string = false;
                if top_level {
                    let s = std::mem::take(&mut self.string);
                    if self.after_colon {
                        if self.key == b"@odata.nextLink" {
                            self.next_link = String::from_utf8(s).ok();
                        }
                    } else {
                        self.key = s;
                    }
                }
            } else if top_level && self.string.len() < 4096 {
                self.string.push(b);
            }
            return Ok(None);
        }
        let between_elements = Some(self.depth) == self.element_depth && !self.elements_done;
        if between_elements && !matches!(b, b'{' | b']' | b',' | b'[') && !b.is_ascii_whitespace() {
            return Err(self.malformed("a value that is not a sign-in object in the array"));
        }
        match b {
            b'"' => self.in_string = true,
            b':' if top_level => self.after_colon = true,
            b',' if top_level => self.after_colon = false,
            b'{' | b'[' => {
                if self.depth == 0 && self.done_top() {
                    return Err(self.malformed("more than one JSON document"));
                }
                if Some(self.depth) == self.element_depth && !self.elements_done {
                    if b == b'[' {
                        return Err(self.malformed("an array where a sign-in object was expected"));
                    }
                    self.capture = Some((self.line, vec![b'{']));
                }
                let opens_elements = if self.wrapped {
                    top_level && b == b'[' && self.after_colon && self.key == b"value"
                } else {
                    self.depth == 0 && b == b'['
                };
                self.depth += 1;
                if opens_elements && self.element_depth.is_none() {
                    self.element_depth = Some(self.depth);
                }
            }
            b'}' | b']' => {
                self.depth = self
                    .depth
                    .checked_sub(1)
                    .ok_or_else(|| self.malformed(format!("an unbalanced '{}'", b as char)))?;
                if Some(self.depth) == self.element_depth && b == b'}' {
                    return Ok(self.capture.take());
                }
                if Some(self.depth + 1) == self.element_depth && b == b']' {
                    self.elements_done = true;
                }
            }
            b if b.is_ascii_whitespace() => {}
            b',' if self.depth > 0 => {}
            _ if self.depth == 0 => {
                return Err(self.malformed("text outside the JSON document"));
            }
            _ => {}
        }
        Ok(None)
    }

    fn done_top(&self) -> bool {
        self.element_depth.is_some()
    }

    fn finish(&self) -> Result<(), LegacyError> {
        if self.depth != 0 || self.in_string {
            return Err(self.malformed("the JSON ends in the middle (a truncated download?)"));
        }
        if self.element_depth.is_none() {
            return Err(LegacyError::NotAnExport(if self.wrapped {
                "a JSON object without a \"value\" array: not Graph's /auditLogs/signIns response"
                    .into()
            } else {
                "a JSON document that is not an array of sign-ins".into()
            }));
        }
        Ok(())
    }
}

fn to_item(line: u64, bytes: &[u8]) -> Item {
    let raw: Raw = match serde_json::from_slice(bytes) {
        Ok(r) => r,
        Err(e) => {
            return Item::Warning {
                line,
                message: format!("a sign-in object that does not parse ({e}); skipped"),
            };
        }
    };
    let warn = |message: &str| Item::Warning {
        line,
        message: message.into(),
    };
    let client_app = raw.client_app_used.unwrap_or_default();
    if client_app.trim().is_empty() {
        return warn("no \"clientAppUsed\"; skipped");
    }
    let Some(error_code) = raw.status.and_then(|s| s.error_code) else {
        return warn("no \"status.errorCode\"; skipped");
    };
    Item::SignIn {
        line,
        sign_in: SignIn {
            when: raw.created_date_time.as_deref().and_then(time::parse),
            user: raw.user_principal_name.unwrap_or_default(),
            app: raw.app_display_name.unwrap_or_default(),
            ip: raw.ip_address.unwrap_or_default(),
            client_app,
            error_code,
            certificate: raw.authentication_details.iter().flatten().any(|d| {
                d.authentication_method
                    .as_deref()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("certificate"))
            }),
        },
    }
}

impl Iterator for JsonSignIns {
    type Item = Result<Item, LegacyError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // The input is taken out for the loop so `step` may borrow `self` while the buffer is
        // borrowed from it; a box swap, not a copy.
        let mut input = std::mem::replace(&mut self.input, Box::new(std::io::empty()));
        let result = loop {
            let buf = match input.fill_buf() {
                Ok(b) => b,
                Err(e) => {
                    self.done = true;
                    break Some(Err(e.into()));
                }
            };
            if buf.is_empty() {
                self.done = true;
                break self.finish().err().map(Err);
            }
            let mut found = None;
            for (i, &b) in buf.iter().enumerate() {
                match self.step(b) {
                    Ok(None) => {}
                    Ok(Some((line, bytes))) => {
                        found = Some((i + 1, Ok(to_item(line, &bytes))));
                        break;
                    }
                    Err(e) => {
                        self.done = true;
                        found = Some((i + 1, Err(e)));
                        break;
                    }
                }
            }
            match found {
                Some((used, item)) => {
                    input.consume(used);
                    break Some(item);
                }
                None => {
                    let n = buf.len();
                    input.consume(n);
                }
            }
        };
        self.input = input;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &'static str, wrapped: bool) -> (Vec<Result<Item, String>>, Option<String>) {
        let mut r = JsonSignIns::new(Box::new(text.as_bytes()), wrapped);
        let items = r.by_ref().map(|i| i.map_err(|e| e.to_string())).collect();
        (items, r.next_link)
    }

    #[test]
    fn graph_pages_yield_their_values_and_next_link() {
        let (items, link) = read(
            r#"{"@odata.context":"x{[\"","value":[
              {"createdDateTime":"2025-12-01T01:05:23Z","userPrincipalName":"a@x","clientAppUsed":"IMAP4","status":{"errorCode":0,"failureReason":"}]"}},
              {"clientAppUsed":"POP3","status":{"errorCode":50126}}],
              "@odata.nextLink":"https://graph.example/next?$skiptoken=1"}"#,
            true,
        );
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(
            matches!(&items[0], Ok(Item::SignIn { line: 2, sign_in }) if sign_in.client_app == "IMAP4" && sign_in.error_code == 0 && sign_in.when == Some(1_764_551_123))
        );
        assert!(
            matches!(&items[1], Ok(Item::SignIn { line: 3, sign_in }) if sign_in.error_code == 50126),
            "{:?}",
            items[1]
        );
        assert_eq!(
            link.as_deref(),
            Some("https://graph.example/next?$skiptoken=1")
        );
    }

    #[test]
    fn broken_json_is_an_error_not_a_panic() {
        for (text, wrapped) in [
            ("[{\"clientAppUsed\":\"IMAP4\"", false),
            ("{\"values\":[]}", true),
            ("[1,2]", false),
            ("[\"a\"]", false),
            ("[[]]", false),
            ("[{}]]", false),
            ("{\"value\":[{}]} x", true),
        ] {
            let (items, _) = read(text, wrapped);
            assert!(items.iter().any(|i| i.is_err()), "{text}: {items:?}");
        }
        let (items, _) = read("[{\"clientAppUsed\":\"IMAP4\",\"status\":{}}]", false);
        assert!(
            matches!(&items[..], [Ok(Item::Warning { line: 1, .. })]),
            "{items:?}"
        );
    }
}
