//! Checks a stream of server output: every byte must belong to a well-formed
//! reply (RFC 5321 §4.2), so nothing a peer or an application writes can make a
//! client see a reply that was not sent, or half of one.

use smtp_proto::reply::{Reply, ReplyParse, ReplyParseOptions, parse_reply};
use smtp_proto::wire::line::LineEnding;

/// Accumulates transmitted bytes and splits them into replies.
#[derive(Debug)]
pub struct ReplyStream {
    buf: Vec<u8>,
    opts: ReplyParseOptions,
    /// Complete replies seen so far (334 challenges included).
    pub count: u64,
}

impl Default for ReplyStream {
    fn default() -> Self {
        ReplyStream::new()
    }
}

impl ReplyStream {
    /// Strict CRLF, 512-octet lines (what every reply the crate builds fits in),
    /// any number of lines.
    pub fn new() -> Self {
        ReplyStream {
            buf: Vec::new(),
            opts: ReplyParseOptions {
                max_line_len: 512,
                max_lines: usize::MAX,
                line_ending: LineEnding::Strict,
            },
            count: 0,
        }
    }

    /// Adds bytes; returns the replies they completed, or why they are not replies.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Reply>, String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            match parse_reply(&self.buf, &self.opts) {
                Ok(ReplyParse::Complete { reply, consumed }) => {
                    self.buf.drain(..consumed);
                    self.count += 1;
                    out.push(reply);
                }
                Ok(ReplyParse::Partial) => return Ok(out),
                Err(e) => {
                    return Err(format!(
                        "not a reply ({e}): {:?}",
                        String::from_utf8_lossy(&self.buf[..self.buf.len().min(600)])
                    ));
                }
            }
        }
    }

    /// Whether the bytes so far end exactly at the end of a reply.
    pub fn at_boundary(&self) -> bool {
        self.buf.is_empty()
    }
}
