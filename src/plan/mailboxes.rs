//! The mailbox list of a bulk audit (`--mailboxes FILE`), read from text without I/O: one
//! address per line with `#` comments, or a CSV export with a header naming the address column
//! (`Get-Mailbox | Export-Csv`, an Entra user export, a spreadsheet). Lines that are not an
//! address are kept with their number and the reason, so one typo does not stop an audit of a
//! thousand mailboxes; an address listed twice is checked once.
//!
//! ```text
//! #TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox
//! "DisplayName","PrimarySmtpAddress","UserPrincipalName"
//! "Sales","sales@contoso.example","sales@contoso.onmicrosoft.com"
//! ```

use super::check_address;

/// Column names (compared without case, spaces, `_` or `-`) that hold an address, the
/// preferred first: the primary SMTP address is what `user=` must name; a UPN can differ from it.
pub const ADDRESS_COLUMNS: [&str; 7] = [
    "primarysmtpaddress",
    "emailaddress",
    "email",
    "mail",
    "address",
    "smtp",
    "userprincipalname",
];

/// A parsed list: the addresses to check, in the list's order, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxList {
    pub mailboxes: Vec<Listed>,
    /// Lines that hold something but no address.
    pub skipped: Vec<NotAnAddress>,
    /// Addresses on more than one line (compared without case).
    pub duplicates: Vec<Repeated>,
    /// The CSV column the addresses came from; `None` for a plain list.
    pub column: Option<String>,
}

/// An address and its (first) line, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub address: String,
    pub line: usize,
}

/// A line that is not an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnAddress {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// An address listed on several lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated {
    pub address: String,
    pub lines: Vec<usize>,
}

/// Why a list cannot be audited at all (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("it is not text (neither UTF-8 nor UTF-16 with a byte-order mark)")]
    NotText,
    #[error("it holds no address (it is empty, or only comments and blank lines)")]
    Empty,
    #[error(
        "it holds no address: {count} line(s) are not addresses, the first on line {line}: \
         {reason}"
    )]
    NoValidAddress {
        count: usize,
        line: usize,
        reason: String,
    },
    #[error(
        "it looks like CSV, but no column of its header (line {line}) holds addresses: found \
         {found}; name the address column one of PrimarySmtpAddress, EmailAddress, Email, Mail, \
         Address, SMTP or UserPrincipalName"
    )]
    NoAddressColumn { line: usize, found: String },
}

/// Decodes a list file's bytes: UTF-8 (a BOM is dropped) or UTF-16 with its BOM, which is what
/// Windows PowerShell's `>` and `Out-File` write.
pub fn decode(bytes: &[u8]) -> Result<String, ListError> {
    let utf16 = |rest: &[u8], be: bool| {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| {
                let pair = [c[0], c.get(1).copied().unwrap_or(0)];
                if be {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| ListError::NotText)
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| ListError::NotText)
        }
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
        _ => String::from_utf8(bytes.to_vec()).map_err(|_| ListError::NotText),
    }
}

/// Parses a mailbox list: a CSV when its first line with content is a header (it has a
/// delimiter and no `@`, or is one known column name alone), else one address per line.
pub fn parse(text: &str) -> Result<MailboxList, ListError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !is_blank_or_comment(l))
        .collect();
    let Some(&(first_line, first)) = lines.first() else {
        return Err(ListError::Empty);
    };
    let mut list = MailboxList::default();
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut add = |list: &mut MailboxList, line: usize, raw: &str, value: &str| match check_address(
        "the line", value,
    ) {
        Ok(address) => {
            let key = address.to_ascii_lowercase();
            match seen.iter().find(|(k, _)| *k == key) {
                Some(&(_, index)) => {
                    let first = &list.mailboxes[index];
                    match list
                        .duplicates
                        .iter_mut()
                        .find(|d| d.address.eq_ignore_ascii_case(&key))
                    {
                        Some(d) => d.lines.push(line),
                        None => list.duplicates.push(Repeated {
                            address: first.address.clone(),
                            lines: vec![first.line, line],
                        }),
                    }
                }
                None => {
                    seen.push((key, list.mailboxes.len()));
                    list.mailboxes.push(Listed { address, line });
                }
            }
        }
        Err(e) => list.skipped.push(NotAnAddress {
            line,
            text: raw.trim().to_string(),
            reason: reason(&e.to_string()),
        }),
    };
    match header(first) {
        Some(delimiter) => {
            let columns = split_csv(first, delimiter).unwrap_or_default();
            let names: Vec<String> = columns.iter().map(|c| normalise(c)).collect();
            let Some(index) = ADDRESS_COLUMNS
                .iter()
                .find_map(|want| names.iter().position(|n| n == want))
            else {
                let found = columns
                    .iter()
                    .map(|c| format!("{:?}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ListError::NoAddressColumn {
                    line: first_line,
                    found,
                });
            };
            let column = columns[index].trim().to_string();
            for &(line, raw) in &lines[1..] {
                match split_csv(raw, delimiter) {
                    None => list.skipped.push(NotAnAddress {
                        line,
                        text: raw.trim().to_string(),
                        reason: "a quoted field is not closed".to_string(),
                    }),
                    Some(fields) => match fields.get(index).map(|f| strip_smtp(f.trim())) {
                        Some(value) if !value.is_empty() => add(&mut list, line, raw, value),
                        _ => list.skipped.push(NotAnAddress {
                            line,
                            text: raw.trim().to_string(),
                            reason: format!("the {column} column is empty"),
                        }),
                    },
                }
            }
            list.column = Some(column);
        }
        None => {
            for &(line, raw) in &lines {
                add(&mut list, line, raw, strip_comment(raw).trim());
            }
        }
    }
    if list.mailboxes.is_empty() {
        return Err(match list.skipped.first() {
            Some(first) => ListError::NoValidAddress {
                count: list.skipped.len(),
                line: first.line,
                reason: first.reason.clone(),
            },
            None => ListError::Empty,
        });
    }
    Ok(list)
}

/// `check_address`'s message without its subject: "does not look like an e-mail address".
fn reason(message: &str) -> String {
    match message.split_once("\" ") {
        Some((_, rest)) => rest.to_string(),
        None => message.to_string(),
    }
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// A comment after an address (`a@b.example  # sales`): `#` after white space; a `#` inside an
/// address is legal and stays.
fn strip_comment(line: &str) -> &str {
    line.find(" #")
        .or_else(|| line.find("\t#"))
        .map_or(line, |i| &line[..i])
}

/// Proxy addresses are written `SMTP:a@b.example`.
fn strip_smtp(value: &str) -> &str {
    match value.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("smtp:") => &value[5..],
        _ => value,
    }
}

/// Column names compared without case, spaces, `_`, `-` or quotes: `E-mail Address` is
/// `emailaddress`.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '"' | '\t'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The delimiter when `line` is a CSV header: it has a delimiter outside quotes and no `@`, or
/// it is one known column name alone (a one-column export).
fn header(line: &str) -> Option<char> {
    if line.contains('@') {
        return None;
    }
    let delimiter = [',', ';', '\t']
        .into_iter()
        .find(|d| split_csv(line, *d).is_some_and(|f| f.len() > 1));
    match delimiter {
        Some(d) => Some(d),
        None if ADDRESS_COLUMNS.contains(&normalise(line).as_str()) => Some(','),
        None => None,
    }
}

/// One CSV record on one line (RFC 4180 quoting: `"a,b"`, `"say ""hi"""`); `None` when a
/// quote is not closed (a field spanning lines is no address anyway).
fn split_csv(line: &str, delimiter: char) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, d) if d == delimiter => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(list: &MailboxList) -> Vec<(&str, usize)> {
        list.mailboxes
            .iter()
            .map(|m| (m.address.as_str(), m.line))
            .collect()
    }

    #[test]
    fn one_address_per_line_with_comments_and_blank_lines() {
        let list = parse(
            "# shared mailboxes\n\nsales@contoso.example\r\n  payroll@contoso.example  # HR\n\
             \t# indented comment\nbob@contoso.example\n",
        )
        .unwrap();
        assert_eq!(
            addresses(&list),
            [
                ("sales@contoso.example", 3),
                ("payroll@contoso.example", 4),
                ("bob@contoso.example", 6)
            ]
        );
        assert!(list.skipped.is_empty() && list.duplicates.is_empty());
        assert_eq!(list.column, None);
    }

    #[test]
    fn lines_that_are_not_addresses_are_skipped_with_their_number_and_reason() {
        let list =
            parse("a@x.example\nalice\nb@x.example, c@x.example\n<d@x.example>\ne@x.example\n")
                .unwrap();
        assert_eq!(addresses(&list), [("a@x.example", 1), ("e@x.example", 5)]);
        let skipped: Vec<(usize, &str)> = list
            .skipped
            .iter()
            .map(|s| (s.line, s.text.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (2, "alice"),
                (3, "b@x.example, c@x.example"),
                (4, "<d@x.example>")
            ]
        );
        assert_eq!(
            list.skipped[0].reason,
            "does not look like an e-mail address"
        );
        assert!(
            list.skipped[1].reason.contains("it is a list"),
            "{:?}",
            list.skipped[1]
        );
        assert!(list.skipped[2].reason.contains("bare address"));
    }

    #[test]
    fn duplicates_are_checked_once_and_reported_with_every_line() {
        let list =
            parse("a@x.example\nb@x.example\nA@X.example\nb@x.example\na@x.example\n").unwrap();
        assert_eq!(addresses(&list), [("a@x.example", 1), ("b@x.example", 2)]);
        assert_eq!(
            list.duplicates,
            [
                Repeated {
                    address: "a@x.example".into(),
                    lines: vec![1, 3, 5]
                },
                Repeated {
                    address: "b@x.example".into(),
                    lines: vec![2, 4]
                }
            ]
        );
    }

    #[test]
    fn exchange_export_csv_with_type_line_and_quoted_fields() {
        let text = "#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\n\
                    \"DisplayName\",\"UserPrincipalName\",\"PrimarySmtpAddress\"\n\
                    \"Sales, EMEA\",\"sales@contoso.onmicrosoft.com\",\"sales@contoso.example\"\n\
                    \"Pay \"\"roll\"\"\",\"payroll@contoso.onmicrosoft.com\",\"payroll@contoso.example\"\n\
                    \"No address\",\"x@contoso.onmicrosoft.com\",\"\"\n";
        let list = parse(text).unwrap();
        // PrimarySmtpAddress wins over UserPrincipalName, whatever the column order.
        assert_eq!(
            addresses(&list),
            [("sales@contoso.example", 3), ("payroll@contoso.example", 4)]
        );
        assert_eq!(list.column.as_deref(), Some("PrimarySmtpAddress"));
        assert_eq!(list.skipped.len(), 1);
        assert_eq!(list.skipped[0].line, 5);
        assert_eq!(
            list.skipped[0].reason,
            "the PrimarySmtpAddress column is empty"
        );
    }

    #[test]
    fn csv_column_names_in_any_case_and_spelling_and_delimiter() {
        for header in [
            "Name,EMAIL",
            "name;E-mail Address",
            "name\temail_address",
            "Name,mail",
            "name,Address",
            "name,SMTP",
            "name,userPrincipalName",
        ] {
            let d = if header.contains(';') {
                ';'
            } else if header.contains('\t') {
                '\t'
            } else {
                ','
            };
            let text = format!("{header}\nSales{d}sales@contoso.example\n");
            let list = parse(&text).unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!(addresses(&list), [("sales@contoso.example", 2)], "{header}");
        }
        // A one-column export, and proxy-address values.
        let list = parse("PrimarySmtpAddress\nSMTP:a@x.example\nb@x.example\n").unwrap();
        assert_eq!(addresses(&list), [("a@x.example", 2), ("b@x.example", 3)]);
    }

    #[test]
    fn csv_row_problems_are_skipped_lines() {
        let list = parse("name,email\n\"open,a@x.example\nshort\nok,b@x.example\n").unwrap();
        assert_eq!(addresses(&list), [("b@x.example", 4)]);
        assert_eq!(list.skipped[0].reason, "a quoted field is not closed");
        assert_eq!(list.skipped[0].line, 2);
        assert_eq!(list.skipped[1].reason, "the email column is empty");
    }

    #[test]
    fn csv_without_an_address_column_names_the_columns_found() {
        let e = parse("#TYPE x\n\"DisplayName\",\"Alias\"\n\"Sales\",\"sales\"\n").unwrap_err();
        assert_eq!(
            e,
            ListError::NoAddressColumn {
                line: 2,
                found: "\"DisplayName\", \"Alias\"".into()
            }
        );
        assert!(
            e.to_string().contains("found \"DisplayName\", \"Alias\""),
            "{e}"
        );
    }

    #[test]
    fn empty_lists_are_errors() {
        assert_eq!(parse(""), Err(ListError::Empty));
        assert_eq!(parse("# only\n\n   \n"), Err(ListError::Empty));
        let e = parse("alice\nbob\n").unwrap_err();
        assert!(
            matches!(
                e,
                ListError::NoValidAddress {
                    count: 2,
                    line: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        // A header and nothing else.
        assert_eq!(parse("Name,Email\n"), Err(ListError::Empty));
    }

    #[test]
    fn utf8_bom_and_utf16_files_decode() {
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice(b"PrimarySmtpAddress\r\na@x.example\r\n");
        let list = parse(&decode(&utf8).unwrap()).unwrap();
        assert_eq!(addresses(&list), [("a@x.example", 2)]);
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "a@x.example\r\nb@x.example\r\n".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let list = parse(&decode(&utf16).unwrap()).unwrap();
        assert_eq!(addresses(&list), [("a@x.example", 1), ("b@x.example", 2)]);
        assert_eq!(decode(&[0x61, 0xFF, 0x62]), Err(ListError::NotText));
    }
}
