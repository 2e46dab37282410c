//! Splits the client's byte stream into complete IMAP messages (lines plus literals) with
//! imap-codec's `Fragmentizer`, under a hard size cap, answering synchronizing literals.
//!
//! ```text
//! C: A1 LOGIN {5}
//! S: + Ready for additional command text.
//! C: alice "pw"
//! ```

use std::io;

use imap_codec::fragmentizer::{FragmentInfo, Fragmentizer, LiteralAnnouncement};
use imap_codec::imap_types::core::LiteralMode;
use tokio::io::AsyncReadExt;

use super::responses as r;
use crate::stream::Transport;

/// Cap on one client message: command line(s) plus literals.
pub(crate) const MAX_MESSAGE: u32 = 64 * 1024;

/// What [`Reader::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A complete message is in [`Reader::message`].
    Message,
    /// The message exceeds [`MAX_MESSAGE`]; the connection must end.
    TooLong,
    /// The client closed the connection.
    Closed,
}

/// Buffered, bounded message reader. Replace it after STARTTLS so pipelined plaintext is
/// dropped instead of being read as if it came over TLS.
pub(crate) struct Reader {
    fragmentizer: Fragmentizer,
}

impl Reader {
    pub fn new() -> Reader {
        Reader {
            fragmentizer: Fragmentizer::new(MAX_MESSAGE),
        }
    }

    /// The bytes of the message last reported complete.
    pub fn message(&self) -> &[u8] {
        self.fragmentizer.message_bytes()
    }

    /// Reads until a whole message is buffered. Not cancel-safe in a way that matters:
    /// callers that time out close the connection.
    pub async fn next(&mut self, io: &mut Transport) -> io::Result<Incoming> {
        let mut buf = [0u8; 8 * 1024];
        loop {
            let fragment = self.fragmentizer.progress();
            if self.fragmentizer.is_max_message_size_exceeded() {
                return Ok(Incoming::TooLong);
            }
            match fragment {
                Some(FragmentInfo::Line {
                    announcement: Some(LiteralAnnouncement { mode, length }),
                    ..
                }) => {
                    if length > MAX_MESSAGE {
                        return Ok(Incoming::TooLong);
                    }
                    if mode == LiteralMode::Sync {
                        io.send(format!("{}\r\n", r::LITERAL_CONTINUE).as_bytes())
                            .await?;
                    }
                }
                Some(_) => {
                    if self.fragmentizer.is_message_complete() {
                        return Ok(Incoming::Message);
                    }
                }
                None => {
                    let n = io.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(Incoming::Closed);
                    }
                    self.fragmentizer.enqueue_bytes(&buf[..n]);
                }
            }
        }
    }
}
