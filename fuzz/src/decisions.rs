//! Application decisions built from fuzzer bytes.
//!
//! Texts include attempts to inject reply lines, control characters, text that
//! looks like an enhanced status code, non-ASCII text and lines too long for one
//! reply line, so that the reply framing checks see the worst an application can do.

use smtp_proto::reply::{Reply, ReplyCode};
use smtp_proto::server::Decision;

use crate::input::{Input, pick};

/// Reply texts an application might use (and some it should not).
pub const TEXTS: [&str; 14] = [
    "custom",
    "",
    "no\r\n250 2.1.0 Ok\r\n354 go ahead",
    "2.0.0 looks enhanced",
    "5.7.1 denied by policy",
    "4.2.2 mailbox full",
    "Gr\u{fc}\u{df}e \u{7528}\u{6237}",
    "nul\0 esc\x1b[31m del\x7f bell\x07",
    "trailing newline\n",
    "5.1.1",
    LONG_WORDS,
    LONG_RUN,
    "\r\n\r\n",
    "tab\there",
];

const LONG_WORDS: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod \
tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud \
exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in \
reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur excepteur sint \
occaecat cupidatat non proident sunt in culpa qui officia deserunt mollit anim id est laborum \
lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut \
labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco";

const LONG_RUN: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// The most octets one reply built from [`TEXTS`] can take on the wire (a bound
/// used by the output-size invariant).
pub const MAX_REPLY_LEN: usize = 2048;

/// A reply code from two fuzzer bytes: the value itself when it is a valid code,
/// else one derived from it.
pub fn code(raw: u16) -> ReplyCode {
    ReplyCode::new(raw)
        .or_else(|| ReplyCode::new(200 + raw % 400))
        .or_else(|| ReplyCode::new(200 + (raw % 4) * 100 + (raw / 4 % 6) * 10 + raw % 10))
        .unwrap_or(ReplyCode::TRANSACTION_FAILED)
}

/// A reply with `code` and the text chosen by `text`.
pub fn reply(code_raw: u16, text: u8) -> Reply {
    Reply::new(code(code_raw), None, pick(&TEXTS, text))
}

/// What a `respond` op asks for, before the harness fills in LMTP counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// `Decision::Accept`.
    Accept,
    /// `Decision::AcceptWith` / `Decision::Reject`, whichever fits the code (the
    /// session refuses the wrong one with `InvalidDecision`, which the harness checks
    /// has no effect).
    Reply {
        /// As given to `respond`.
        decision: Decision,
    },
    /// LMTP per-recipient replies: `count` of `None` means "as many as the harness
    /// counted accepted recipients" (which must succeed at the end of a message).
    PerRecipient {
        /// How many replies, or the harness's count.
        count: Option<usize>,
        /// The replies' code.
        code: u16,
        /// The replies' text.
        text: u8,
    },
}

/// Reads a decision: `kind` is the low nibble of a respond op.
///
/// * 1: `AcceptWith(code, text)` (two code bytes, one text byte);
/// * 2: `Reject(code, text)`;
/// * 3: `PerRecipient`: a count byte (0: the harness's count, n: n - 1 replies),
///   code, text;
/// * anything else: `Accept`.
pub fn read(kind: u8, input: &mut Input<'_>) -> Choice {
    match kind {
        1 => {
            let r = reply(input.u16(), input.u8());
            Choice::Reply {
                decision: Decision::AcceptWith(r),
            }
        }
        2 => {
            let r = reply(input.u16(), input.u8());
            Choice::Reply {
                decision: Decision::Reject(r),
            }
        }
        3 => {
            let n = input.u8();
            Choice::PerRecipient {
                count: (n != 0).then(|| usize::from(n - 1)),
                code: input.u16(),
                text: input.u8(),
            }
        }
        _ => Choice::Accept,
    }
}
