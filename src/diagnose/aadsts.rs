//! The identity platform's AADSTS error codes (reference E1): the number in a token
//! endpoint's reply, and per code its cause and fix.

/// The AADSTS number in the provider's reply, if any.
pub fn code(reply: &[String]) -> Option<u32> {
    reply.iter().find_map(|line| {
        let at = line.find("AADSTS")?;
        let digits: String = line[at + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}
