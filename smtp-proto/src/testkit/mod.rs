//! Conformance transcripts: a readable script format, and runners that play a
//! script against the bare [`ServerSession`](crate::server::ServerSession) or
//! [`ClientSession`](crate::client::ClientSession) under several chunkings of
//! the peer's bytes (feature `testkit`).
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
//!
//! # Client transcripts
//!
//! Client transcripts (`tests/transcripts/client/`, [`parse_client_script`],
//! [`run_client_transcript`]) use the same format with the roles seen from the
//! client's side: the peer's bytes are given raw, the session's output is
//! matched line by line.
//!
//! | line | meaning |
//! |---|---|
//! | `@config key=value ...` | client configuration (see [`apply_client_config`]) |
//! | `@implicit-tls` | the session starts with TLS already up (`ClientSession::new_tls`) |
//! | `S: bytes` | the scripted server sends these bytes; same escapes as `C:` above, so line ends are explicit (`\r\n`) |
//! | `S* N bytes` | the server sends `bytes` N times |
//! | `C: line` | the next line the client wrote (without CRLF) is exactly this; a trailing `*` matches any rest |
//! | `A: call [-> ok \| -> error PATTERN]` | the application calls the session: `send_mail from=<a@b> to=<c@d>,<e@f> [body="..."] [stream] [size=N] [body_type=7bit\|8bitmime\|binarymime] [smtputf8] [ret=full\|hdrs] [envid=X] [notify=success,failure] [orcpt=rfc822;x@y] [requiretls]`, `body "..."`, `end_body`, `rset`, `noop`, `quit`; the error is matched against its `Debug` form |
//! | `E: description` | the next client event looks like this ([`describe_client_event`]; a trailing `*` matches any rest); every event but `BodyWanted` must be matched |
//! | `S~ starttls` | the client asked for the TLS upgrade; the runner completes it here (`C~ starttls` is the same) |
//! | `S~ eof` | the server closes the connection |
//! | `C~ close` | the client has closed |
//! | `C~ silent` | the client has written nothing more |
//! | `T+ 300s` | the virtual clock advances; the runner calls `handle_timeout` |
//!
//! `send_mail` without `stream` hands over its body (empty by default) and ends
//! it at once; with `stream`, `A: body` and `A: end_body` follow. The runner
//! answers `BodyWanted` with whatever body is pending.
//!
//! Both kinds parse into a [`Transcript`] ([`Script`] is `Transcript<Step>`,
//! [`ClientScript`] is `Transcript<ClientStep>`), and both runners drive their
//! session with the same code: the chunking of the peer's bytes, and the
//! checks of the session's lines, silence, close, STARTTLS, EOF and the clock
//! behave the same on either side.
//!
//! The client's output is split at CRLF only, so BDAT chunk data, which need
//! not end with a line ending, runs into the line that follows it
//! (`C: abcdBDAT 4 LAST`).

mod client;
mod common;
pub mod pair;
mod runner;
mod script;

pub use client::{
    ClientScript, ClientStep, apply_client_config, describe_client_event, parse_client_script,
    run_client_transcript,
};
pub use common::{Chunking, Transcript, TranscriptError};
pub use runner::run_server_transcript;
pub use script::{Script, Step, apply_config, parse_script};
