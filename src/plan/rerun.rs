//! The command line that runs the same check with the device-code flow: what xoauth offers,
//! word for word, when the interactive flow finds no browser. The user's own words are kept
//! (a `--profile` stays a `--profile`); only the flow changes.

/// `args` (the program first) with `--flow device-code` in place of any `--flow`, quoted for a
/// POSIX shell where a word needs it.
pub fn with_device_code(args: &[String]) -> String {
    let mut out: Vec<String> = Vec::with_capacity(args.len() + 2);
    let mut replaced = false;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--flow" {
            words.next();
            out.extend(["--flow".to_string(), "device-code".to_string()]);
            replaced = true;
        } else if word.starts_with("--flow=") {
            out.push("--flow=device-code".to_string());
            replaced = true;
        } else {
            out.push(word.clone());
        }
    }
    if !replaced {
        out.extend(["--flow".to_string(), "device-code".to_string()]);
    }
    out.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// A word as a POSIX shell reads it back: bare when it is plain, else in single quotes.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_flow_is_replaced_or_added_and_the_rest_kept() {
        assert_eq!(
            with_device_code(&words(
                "xoauth imap -u a@b.example --flow interactive --json"
            )),
            "xoauth imap -u a@b.example --flow device-code --json"
        );
        assert_eq!(
            with_device_code(&words("xoauth token --flow=interactive")),
            "xoauth token --flow=device-code"
        );
        assert_eq!(
            with_device_code(&words("/usr/bin/xoauth check --profile work")),
            "/usr/bin/xoauth check --profile work --flow device-code"
        );
    }

    #[test]
    fn words_a_shell_would_split_are_quoted() {
        let args = vec![
            "xoauth".to_string(),
            "--scope".to_string(),
            "openid email".to_string(),
            "--user".to_string(),
            "o'brien@example.com".to_string(),
            "--x".to_string(),
            String::new(),
        ];
        assert_eq!(
            with_device_code(&args),
            r"xoauth --scope 'openid email' --user 'o'\''brien@example.com' --x '' --flow device-code"
        );
    }
}
