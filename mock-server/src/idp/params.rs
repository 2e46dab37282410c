//! Request parameters: `application/x-www-form-urlencoded` bodies and query strings decoded
//! into an ordered list (the first occurrence of a name wins), and the same encoding for
//! redirect URLs (WHATWG URL standard, §5 application/x-www-form-urlencoded). Pure.

/// Decoded name/value pairs, in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `a=1&b=x%20y`; `+` is a space, bad `%` escapes stay literal, invalid UTF-8
    /// becomes U+FFFD.
    pub fn parse(input: &[u8]) -> Params {
        let pairs = input
            .split(|&b| b == b'&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (name, value) = match part.iter().position(|&b| b == b'=') {
                    Some(i) => (&part[..i], &part[i + 1..]),
                    None => (part, &[][..]),
                };
                (decode(name), decode(value))
            })
            .collect();
        Params(pairs)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, if present and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// Percent-decodes one name or value.
pub(crate) fn decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=x+y` from pairs: everything but `A-Z a-z 0-9 * - . _` is escaped, space as `+`.
pub(crate) fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        escape_into(name, &mut out);
        out.push('=');
        escape_into(value, &mut out);
    }
    out
}

fn escape_into(text: &str, out: &mut String) {
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms() {
        let p = Params::parse(
            b"grant_type=client_credentials&scope=https%3A%2F%2Foutlook.office365.com%2F.default\
              &x=a+b%zz&empty=&flag&x=second",
        );
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(
            p.get("scope"),
            Some("https://outlook.office365.com/.default")
        );
        assert_eq!(p.get("x"), Some("a b%zz"), "first wins, bad escape literal");
        assert_eq!(p.get("empty"), Some(""));
        assert_eq!(p.non_empty("empty"), None);
        assert_eq!(p.get("flag"), Some(""));
        assert_eq!(p.get("missing"), None);
        assert_eq!(Params::parse(b""), Params::default());
        assert_eq!(decode(b"%C3%A4%"), "ä%");
        assert_eq!(decode(b"%ff"), "\u{fffd}");
    }

    #[test]
    fn encodes_redirect_parameters() {
        let q = encode(&[("code", "abc.DEF_-*"), ("state", "a b&c=d/é")]);
        assert_eq!(q, "code=abc.DEF_-*&state=a+b%26c%3Dd%2F%C3%A9");
        let back = Params::parse(q.as_bytes());
        assert_eq!(back.get("state"), Some("a b&c=d/é"));
    }
}
