//! The test message's envelope (MAIL FROM, RCPT TO, DATA) and how the replies to it read when
//! the three go to the server as one group (RFC 2920 §3.1): the first refusal is the cause,
//! and a `354` that follows a refusal leaves a data phase to end without sending the message.
//!
//! ```text
//! C: MAIL FROM:<alice@contoso.example>
//! C: RCPT TO:<bob@contoso.example>
//! C: DATA                                   (one write; DATA last in the group)
//! S: 250 2.1.0 Sender OK
//! S: 250 2.1.5 Recipient OK
//! S: 354 Start mail input; end with <CRLF>.<CRLF>
//! ```

use super::response::Reply;
use crate::plan::SendPlan;

/// One envelope command and the replies that accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub line: String,
    /// How a refusal names the command ("the server refused RCPT TO").
    pub what: &'static str,
    pub accepted: &'static [u16],
}

impl Command {
    pub fn accepts(&self, reply: &Reply) -> bool {
        self.accepted.contains(&reply.code)
    }

    fn is_rcpt(&self) -> bool {
        self.what == RCPT
    }
}

const RCPT: &str = "RCPT TO";

/// MAIL FROM, one RCPT TO per recipient, DATA: in the order they are sent.
pub fn commands(send: &SendPlan) -> Vec<Command> {
    let mut v = vec![Command {
        line: format!("MAIL FROM:<{}>", send.from),
        what: "MAIL FROM",
        accepted: &[250],
    }];
    v.extend(send.to.iter().map(|to| Command {
        line: format!("RCPT TO:<{to}>"),
        what: RCPT,
        accepted: &[250, 251],
    }));
    v.push(Command {
        line: "DATA".to_string(),
        what: "DATA",
        accepted: &[354],
    });
    v
}

/// The whole group as one write, each command with its CRLF.
pub fn group(commands: &[Command]) -> String {
    commands.iter().map(|c| format!("{}\r\n", c.line)).collect()
}

/// What is left to do after a refused group whose DATA was nevertheless answered `354`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenData {
    /// DATA was refused too: the server is back to waiting for commands.
    No,
    /// No recipient was accepted: RFC 2920 §3.1 says to send a single dot, which delivers
    /// nothing.
    EndEmpty,
    /// Some recipient was accepted, so a dot would deliver an empty message to it, which the
    /// sequential check never does: close the connection instead, which cancels the open
    /// transaction (RFC 5321 §3.8).
    Abort,
}

/// How the replies to a group read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every command accepted: the message follows.
    Accepted,
    /// `commands[at]` was the first refused; the replies after it were read as well.
    Refused { at: usize, open: OpenData },
}

/// Reads `replies` (one per command, in order; fewer when the server stopped answering) as
/// the answer to `commands`.
pub fn verdict(commands: &[Command], replies: &[Reply]) -> Verdict {
    let first = commands
        .iter()
        .zip(replies)
        .position(|(c, r)| !c.accepts(r));
    let Some(at) = first else {
        return if replies.len() >= commands.len() {
            Verdict::Accepted
        } else {
            // Not every reply came: the caller reports why (a timeout, a closed connection).
            Verdict::Refused {
                at: replies.len(),
                open: OpenData::No,
            }
        };
    };
    let data_open = commands.len() == replies.len()
        && replies.last().is_some_and(|r| r.code == 354)
        && commands.last().is_some_and(|c| c.what == "DATA");
    let recipients = commands
        .iter()
        .zip(replies)
        .any(|(c, r)| c.is_rcpt() && c.accepts(r));
    let open = match (data_open, recipients) {
        (false, _) => OpenData::No,
        (true, false) => OpenData::EndEmpty,
        (true, true) => OpenData::Abort,
    };
    Verdict::Refused { at, open }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(to: &[&str]) -> SendPlan {
        SendPlan::new(
            "alice@contoso.example".into(),
            to.iter().map(|t| t.to_string()).collect(),
            "0123456789ab".into(),
        )
    }

    fn replies(lines: &[&str]) -> Vec<Reply> {
        lines
            .iter()
            .map(|l| Reply::from_lines(&[l.to_string()]).unwrap())
            .collect()
    }

    #[test]
    fn the_group_is_mail_rcpts_then_data_last() {
        let c = commands(&plan(&["bob@contoso.example", "carol@contoso.example"]));
        assert_eq!(
            group(&c),
            "MAIL FROM:<alice@contoso.example>\r\nRCPT TO:<bob@contoso.example>\r\n\
             RCPT TO:<carol@contoso.example>\r\nDATA\r\n"
        );
    }

    #[test]
    fn all_accepted() {
        let c = commands(&plan(&["bob@contoso.example"]));
        let r = replies(&[
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "354 Start mail input; end with <CRLF>.<CRLF>",
        ]);
        assert_eq!(verdict(&c, &r), Verdict::Accepted);
    }

    #[test]
    fn the_first_refusal_is_the_cause_whatever_follows() {
        let c = commands(&plan(&["bob@contoso.example"]));
        // Exchange's SendAs refusal at MAIL FROM, then the consequences.
        let r = replies(&[
            "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
            "503 5.5.2 Need mail command",
            "503 5.5.2 Need mail command",
        ]);
        assert_eq!(
            verdict(&c, &r),
            Verdict::Refused {
                at: 0,
                open: OpenData::No
            }
        );
    }

    #[test]
    fn a_354_after_a_refusal_is_ended_without_the_message() {
        let c = commands(&plan(&["bob@contoso.example"]));
        let r = replies(&[
            "250 2.1.0 Sender OK",
            "550 5.1.1 User unknown",
            "354 Start mail input",
        ]);
        assert_eq!(
            verdict(&c, &r),
            Verdict::Refused {
                at: 1,
                open: OpenData::EndEmpty
            }
        );
        let c = commands(&plan(&["bob@contoso.example", "nobody@contoso.example"]));
        let r = replies(&[
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "550 5.1.1 User unknown",
            "354 Start mail input",
        ]);
        assert_eq!(
            verdict(&c, &r),
            Verdict::Refused {
                at: 2,
                open: OpenData::Abort
            }
        );
    }

    #[test]
    fn missing_replies_are_a_refusal_at_the_first_unanswered() {
        let c = commands(&plan(&["bob@contoso.example"]));
        let r = replies(&["250 2.1.0 Sender OK"]);
        assert_eq!(
            verdict(&c, &r),
            Verdict::Refused {
                at: 1,
                open: OpenData::No
            }
        );
    }
}
