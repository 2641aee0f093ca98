//! Conformance transcripts: a readable script format, and a runner that plays a
//! script against the bare [`ServerSession`](crate::server::ServerSession) under
//! several chunkings of the client's bytes (feature `testkit`).
//!
//! The same files are meant to be replayed by every adapter over real sockets.
//!
//! # Format
//!
//! One step per line; `#` starts a comment line; blank lines are ignored.
//!
//! | line | meaning |
//! |---|---|
//! | `# name: text` | the transcript's name (optional) |
//! | `@config key=value ...` | server configuration (see [`apply_config`]) |
//! | `C: bytes` | the client sends these bytes; escapes `\r \n \t \\ \xHH`, and `\z` for nothing (a trailing space marker) |
//! | `C* N bytes` | the client sends `bytes` N times (floods) |
//! | `S: line` | the next server line (without CRLF) is exactly this; a trailing `*` matches any rest |
//! | `S~ close` | the session has closed |
//! | `S~ starttls` | the session asked for a TLS upgrade; the runner completes it here |
//! | `S~ silent` | the server has sent nothing more |
//! | `E: Event description -> decision` | the next event that needs a decision looks like this (a trailing `*` matches any rest) and gets this decision: `accept`, `accept CODE [X.Y.Z] text`, `reject CODE [X.Y.Z] text`, or (LMTP) `per CODE text \| CODE text ...` |
//! | `D: bytes` | the last completed message's content was exactly these bytes |
//! | `T+ 300s` | the virtual clock advances (`s`, `ms`); the runner calls `handle_timeout` |
//! | `C~ eof` | the client closes its side |
//!
//! Decisions are applied as soon as their event appears, so they do not depend on
//! how the input was split; `S:` lines are checked after everything before them
//! was fed, so a transcript's result is the same under every [`Chunking`].

mod runner;
mod script;

pub use runner::{Chunking, TranscriptError, run_server_transcript};
pub use script::{Script, Step, apply_config, parse_script};
