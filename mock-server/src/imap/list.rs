//! LIST/LSUB: wildcard matching (`*`, `%`) over mUTF-7 names and the Exchange-style
//! `* LIST (<attrs>) "/" <name>` lines (RFC 3501 §6.3.8, RFC 3348 CHILDREN,
//! RFC 6154 special-use).
//!
//! ```text
//! C: A3 LIST "" "*"
//! S: * LIST (\HasNoChildren) "/" Inbox
//! S: * LIST (\HasNoChildren \Sent) "/" "Sent Items"
//! S: A3 OK LIST completed.
//! ```

use super::mutf7;
use crate::directory::Folder;

/// Longest LIST pattern matched; longer ones match nothing (bounds the matcher's work).
const MAX_PATTERN: usize = 1024;

/// `\Sent`, `\Trash`, ... for Exchange's well-known top-level folder names.
fn special_use(name: &str) -> Option<&'static str> {
    match name {
        "Sent Items" => Some("\\Sent"),
        "Deleted Items" => Some("\\Trash"),
        "Drafts" => Some("\\Drafts"),
        "Junk Email" => Some("\\Junk"),
        _ => None,
    }
}

/// Whether `name` matches the wildcard `pattern` (`*` = anything, `%` = anything but `/`).
/// Case-sensitive, except that INBOX matches in any case.
pub(crate) fn matches(pattern: &[u8], name: &str) -> bool {
    if pattern.len() > MAX_PATTERN {
        return false;
    }
    if glob(pattern, name.as_bytes()) {
        return true;
    }
    name.eq_ignore_ascii_case("inbox") && glob(&pattern.to_ascii_uppercase(), b"INBOX")
}

/// Iterative DP matcher: O(pattern × name), no recursion.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    // reachable[j]: pattern prefix consumed so far can match name[..j].
    let mut reachable = vec![false; name.len() + 1];
    reachable[0] = true;
    for &p in pattern {
        let mut next = vec![false; name.len() + 1];
        match p {
            b'*' | b'%' => {
                let mut open = false;
                for j in 0..=name.len() {
                    if reachable[j] {
                        open = true;
                    }
                    next[j] = open;
                    // `%` does not cross a hierarchy delimiter.
                    if p == b'%' && j < name.len() && name[j] == b'/' {
                        open = false;
                    }
                }
            }
            literal => {
                for j in 0..name.len() {
                    next[j + 1] = reachable[j] && name[j] == literal;
                }
            }
        }
        reachable = next;
    }
    reachable[name.len()]
}

/// A mailbox name as IMAP astring: bare when it is atom-safe, otherwise quoted.
pub(crate) fn astring(name: &str) -> String {
    let atom_safe = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
        });
    if atom_safe {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The untagged response lines (without CRLF) for `verb` ("LIST"/"LSUB") and a pattern
/// already joined with its reference.
pub(crate) fn lines(verb: &str, folders: &[Folder], pattern: &[u8]) -> Vec<String> {
    if pattern.is_empty() {
        // RFC 3501: an empty pattern asks for the delimiter and root.
        return vec![format!("* {verb} (\\Noselect) \"/\" \"\"")];
    }
    folders
        .iter()
        .filter_map(|folder| {
            let wire = mutf7::encode(&folder.name);
            if !matches(pattern, &wire) {
                return None;
            }
            let mut attrs = vec![if folder.has_children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            }];
            attrs.extend(special_use(&folder.name));
            Some(format!(
                "* {verb} ({}) \"/\" {}",
                attrs.join(" "),
                astring(&wire)
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, has_children: bool) -> Folder {
        Folder {
            name: name.to_owned(),
            seed_messages: 0,
            has_children,
        }
    }

    #[test]
    fn wildcards() {
        assert!(matches(b"*", "Inbox"));
        assert!(matches(b"*", "Angebote/2026"));
        assert!(matches(b"%", "Angebote"));
        assert!(!matches(b"%", "Angebote/2026"));
        assert!(matches(b"Angebote/%", "Angebote/2026"));
        assert!(matches(b"A*6", "Angebote/2026"));
        assert!(!matches(b"A%6", "Angebote/2026"));
        assert!(matches(b"INBOX", "Inbox"));
        assert!(matches(b"inbox", "Inbox"));
        assert!(!matches(b"sent items", "Sent Items"));
        assert!(matches(b"Sent Items", "Sent Items"));
        assert!(!matches(b"", "Inbox"));
        assert!(!matches(&[b'*'; 2000], "Inbox"));
        assert!(matches(b"**%%**x", "x"));
    }

    #[test]
    fn astring_quotes_when_needed() {
        assert_eq!(astring("Inbox"), "Inbox");
        assert_eq!(astring("Sent Items"), "\"Sent Items\"");
        assert_eq!(astring("&AMQ-rger &- Co"), "\"&AMQ-rger &- Co\"");
        assert_eq!(astring("Entw&APw-rfe"), "Entw&APw-rfe");
        assert_eq!(astring("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(astring(""), "\"\"");
    }

    #[test]
    fn exchange_style_lines() {
        let folders = [
            folder("Inbox", false),
            folder("Sent Items", false),
            folder("Deleted Items", false),
            folder("Angebote", true),
            folder("Angebote/2026", false),
            folder("日本語", false),
        ];
        assert_eq!(
            lines("LIST", &folders, b"*"),
            [
                "* LIST (\\HasNoChildren) \"/\" Inbox",
                "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"",
                "* LIST (\\HasNoChildren \\Trash) \"/\" \"Deleted Items\"",
                "* LIST (\\HasChildren) \"/\" Angebote",
                "* LIST (\\HasNoChildren) \"/\" Angebote/2026",
                "* LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-",
            ]
        );
        assert_eq!(lines("LIST", &folders, b"%").len(), 5);
        assert_eq!(
            lines("LIST", &folders, b""),
            ["* LIST (\\Noselect) \"/\" \"\""]
        );
        assert_eq!(
            lines("LSUB", &folders, b"INBOX"),
            ["* LSUB (\\HasNoChildren) \"/\" Inbox"]
        );
    }
}
