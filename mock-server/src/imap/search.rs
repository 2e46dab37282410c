//! SEARCH over the selected folder's stored messages (RFC 3501 §6.4.4): the header and
//! text keys, sizes, ALL and the AND/OR/NOT combinators. String keys match a
//! case-insensitive substring, as the RFC says; flag, date and set keys are not modelled.
//!
//! ```text
//! C: A5 SEARCH HEADER Message-ID "<seed-2-inbox@mock.contoso.example>"
//! S: * SEARCH 2
//! S: A5 OK SEARCH completed.
//! ```

use imap_codec::imap_types::search::SearchKey;

use crate::rfc5322;
use crate::store::Message;

/// The `* SEARCH ...` line: sequence numbers (or UIDs for `UID SEARCH`) of the messages
/// matching every key; `None` if a key is not supported by the mock.
pub(crate) fn search_line(
    messages: &[Message],
    keys: &[SearchKey<'_>],
    uid: bool,
) -> Option<String> {
    let mut line = String::from("* SEARCH");
    for (i, message) in messages.iter().enumerate() {
        let mut all = true;
        for key in keys {
            all &= matches(key, message)?;
        }
        if all {
            let n = if uid {
                u64::from(message.uid)
            } else {
                i as u64 + 1
            };
            line.push_str(&format!(" {n}"));
        }
    }
    Some(line)
}

/// Whether `message` matches `key`; `None` for keys the mock does not evaluate.
fn matches(key: &SearchKey<'_>, message: &Message) -> Option<bool> {
    let header = |name: &str, value: &[u8]| header_contains(&message.raw, name, value);
    Some(match key {
        SearchKey::All => true,
        SearchKey::And(keys) => {
            let mut all = true;
            for key in keys.as_ref() {
                all &= matches(key, message)?;
            }
            all
        }
        SearchKey::Or(a, b) => matches(a, message)? | matches(b, message)?,
        SearchKey::Not(key) => !matches(key, message)?,
        SearchKey::Header(name, value) => {
            header(&String::from_utf8_lossy(name.as_ref()), value.as_ref())
        }
        SearchKey::From(v) => header("From", v.as_ref()),
        SearchKey::To(v) => header("To", v.as_ref()),
        SearchKey::Cc(v) => header("Cc", v.as_ref()),
        SearchKey::Bcc(v) => header("Bcc", v.as_ref()),
        SearchKey::Subject(v) => header("Subject", v.as_ref()),
        SearchKey::Body(v) => {
            let body = &message.raw[rfc5322::header_len(&message.raw)..];
            contains(&String::from_utf8_lossy(body), v.as_ref())
        }
        SearchKey::Text(v) => contains(&String::from_utf8_lossy(&message.raw), v.as_ref()),
        SearchKey::Larger(n) => message.raw.len() as u64 > u64::from(*n),
        SearchKey::Smaller(n) => (message.raw.len() as u64) < u64::from(*n),
        _ => return None,
    })
}

/// RFC 3501 HEADER: a field named `name` whose text contains `value` (any such field
/// when `value` is empty).
pub(crate) fn header_contains(raw: &[u8], name: &str, value: &[u8]) -> bool {
    rfc5322::header_values(raw, name)
        .iter()
        .any(|field| contains(field, value))
}

/// Case-insensitive substring test (Unicode lower-casing).
fn contains(haystack: &str, needle: &[u8]) -> bool {
    let needle = String::from_utf8_lossy(needle).to_lowercase();
    haystack.to_lowercase().contains(&needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(uid: u32, id: &str, subject: &str) -> Message {
        let raw = format!("Message-ID: {id}\r\nSubject: {subject}\r\n\r\nBody {uid}\r\n");
        Message {
            raw: raw.into_bytes(),
            message_id: id.to_owned(),
            uid,
        }
    }

    #[test]
    fn header_substring_case_insensitive() {
        let raw = b"message-id: <Abc@x>\r\nX-Empty:\r\n\r\nMessage-ID: <body@x>\r\n";
        assert!(header_contains(raw, "Message-ID", b"<abc@x>"));
        assert!(header_contains(raw, "MESSAGE-ID", b"abc"));
        assert!(header_contains(raw, "x-empty", b""));
        assert!(!header_contains(raw, "Message-ID", b"body"));
        assert!(!header_contains(raw, "X-Missing", b""));
    }

    #[test]
    fn search_lines() {
        let msgs = [
            message(4, "<a@x>", "Hello"),
            message(7, "<b@x>", "Bye"),
            message(9, "<c@x>", "hello again"),
        ];
        let header = |v: &'static str| {
            SearchKey::Header(
                "Message-ID".try_into().expect("astring"),
                v.try_into().expect("astring"),
            )
        };
        let subject = SearchKey::Subject("HELLO".try_into().expect("astring"));
        assert_eq!(
            search_line(&msgs, &[SearchKey::All], false).as_deref(),
            Some("* SEARCH 1 2 3")
        );
        assert_eq!(
            search_line(&msgs, &[header("<b@x>")], false).as_deref(),
            Some("* SEARCH 2")
        );
        assert_eq!(
            search_line(&msgs, &[header("<b@x>")], true).as_deref(),
            Some("* SEARCH 7")
        );
        assert_eq!(
            search_line(&msgs, std::slice::from_ref(&subject), false).as_deref(),
            Some("* SEARCH 1 3")
        );
        assert_eq!(
            search_line(&msgs, &[SearchKey::Not(Box::new(subject))], false).as_deref(),
            Some("* SEARCH 2")
        );
        assert_eq!(
            search_line(&msgs, &[header("<zzz>")], false).as_deref(),
            Some("* SEARCH")
        );
        assert_eq!(search_line(&msgs, &[SearchKey::Seen], false), None);
        assert_eq!(
            search_line(&[], &[SearchKey::Seen], false).as_deref(),
            Some("* SEARCH")
        );
    }
}
