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
//! | `C: bytes` | the client sends these bytes; escapes `\r \n \t \0 \\ \* \xHH`, and `\z` for nothing (a trailing space marker) |
//! | `C* N bytes` | the client sends `bytes` N times (floods) |
//! | `C! bytes` | the client sends these bytes and they arrive **in one read**, whatever the chunking: for the timing rules (input that arrived behind a refused DATA before its reply went out, RFC 2920 §3.1) |
//! | `S: line` | the next server line (without CRLF) is exactly these bytes (same escapes, compared byte for byte); a trailing `*` matches any rest, `\*` is a literal star |
//! | `S+ bytes` | the server's output continues with exactly these bytes, not ended by CRLF |
//! | `S~ close` | the session has closed |
//! | `S~ starttls` | the session asked for a TLS upgrade; the runner completes it here |
//! | `S~ starttls-pending` | the session asked for a TLS upgrade; the handshake never finishes (a stalled peer) |
//! | `S~ silent` | the server has sent nothing more |
//! | `E: Event description -> decision` | the next event is one that needs a decision, looks like this (a pattern, as for `S:`) and gets this decision: `accept`, `accept CODE [X.Y.Z] text`, `reject CODE [X.Y.Z] text`, or (LMTP) `per CODE text \| CODE text ...` |
//! | `E: Event description` | the next event is an informational one (no decision) and looks like this: `TransactionReset`, `TlsEstablished`, `ClientFault CODE X.Y.Z text`, `TransactionFinished` (the reply as sent, lines joined by `\n`) |
//! | `E: Event description -> hold` | the application holds this decision: input keeps arriving (up to the session's buffer) until an `R:` step answers it |
//! | `R: decision` | the held decision is given now (`accept`, `reject CODE ...`, ...) |
//! | `S~ not-reading` | the session does not want input now (its buffer is full: backpressure) |
//! | `D: bytes` | the last completed message's content was exactly these bytes |
//! | `T+ 300s` | the virtual clock advances (`s`, `ms`); the runner calls `handle_timeout` |
//! | `C~ eof` | the client closes its side |
//!
//! # Events
//!
//! Every event the session emits but `MessageData` (whose bytes `D:` lines
//! check) must be matched by an `E:` line: the events form one ordered stream,
//! and the `E:` lines, in file order, are that stream. An event is matched
//! against the next `E:` line as soon as it appears, and a decision is applied
//! at once, so nothing depends on how the input was split.
//!
//! Each `E:` line belongs to the *input step* before it (`C:`, `C*`, `T+`,
//! `C~ eof`, `S~ starttls`; or the start of the session, for `Connected`): its
//! event must come while that step is played. Within that stretch the order of
//! `E:` and `S:` lines is free (`S:` lines check the output, `E:` lines the
//! events, each in its own order); by convention an event's `E:` line comes
//! right after the input that caused it, before the replies.
//!
//! `S:` lines are checked after everything before them was fed, so a
//! transcript's result is the same under every [`Chunking`].
//!
//! At the end, everything the session did must have been expected: no line
//! left unmatched, no output without CRLF (use `S+`), no close without
//! `S~ close`, no TLS upgrade asked for and not completed, no event unmatched.
//!
//! # Bless mode
//!
//! `TRANSCRIPT_BLESS=1 cargo test -p smtp-proto --all-features --test transcripts`
//! rewrites every server transcript in place ([`bless_server_transcript`]):
//! its informational `E:` lines (those without ` -> `) are dropped, the
//! transcript is played whole, and an `E:` line is written for each
//! informational event, right after the line of the input step that caused it
//! (after the `E:` line of the event before it, if that came from the same
//! input). Every other line, comments included, is left as it was. Use it
//! after changing what informational events the session emits, then review
//! the diff: each inserted event must make sense where it stands.
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
//! | `S! bytes` | the server sends these bytes and they arrive in one read, whatever the chunking (a reply ahead of its command is premature only if it arrived before the command was handed out) |
//! | `C: line` | the next line the client wrote (without CRLF) is exactly these bytes (same escapes as `S:`, compared byte for byte); a trailing `*` matches any rest, `\*` is a literal star (the SASL cancel line is `C: \*`) |
//! | `C+ bytes` | the client's output continues with exactly these bytes, not ended by CRLF (BDAT chunk data at the end of the output) |
//! | `A: call [-> ok \| -> error PATTERN]` | the application calls the session: `send_mail from=<a@b> to=<c@d>,<e@f> [body="..."] [stream] [size=N] [body_type=7bit\|8bitmime\|binarymime] [smtputf8] [ret=full\|hdrs] [envid=X] [notify=success,failure] [orcpt=rfc822;x@y] [requiretls]`, `body "..."`, `end_body`, `rset`, `noop`, `quit`; the error is matched against its `Debug` form |
//! | `E: description` | the next client event looks like this ([`describe_client_event`]; a pattern, as for `C:`); every event but `BodyWanted` must be matched, by an `E:` line of the input step (`S:`, `S*`, `A:`, `S~`, `T+`) during which it came, as on the server side |
//! | `S~ starttls` | the client asked for the TLS upgrade; the runner completes it here (`C~ starttls` is the same) |
//! | `S~ starttls-pending` | the client asked for the TLS upgrade; the handshake never finishes |
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
//! (`C: abcdBDAT 4 LAST`), or, at the end of the output, is matched by `C+`.
//! Client transcripts have no bless mode: all their `E:` lines are written by
//! hand (often as prefixes, `E: Ready*`).

mod client;
mod common;
pub mod pair;
mod runner;
mod script;

pub use client::{
    AppCall, ClientScript, ClientStep, apply_client_config, describe_client_event, parse_app_call,
    parse_client_script, run_client_transcript,
};
pub use common::{Chunking, Splitter, Transcript, TranscriptError, escape, matches, written};
pub use runner::{
    bless_server_transcript, describe_server_event, parse_decision, run_server_transcript,
};
pub use script::{Script, Step, apply_config, parse_script};

/// Every transcript (`*.smtp`) in `dir`, sorted by file name, as
/// `(file name, text)`: how the core's tests and every adapter's replay load
/// the corpus (`smtp-proto/tests/transcripts/server` and `.../client`).
///
/// # Panics
///
/// When the directory or a file cannot be read: a broken test setup.
#[cfg(feature = "std")]
pub fn load_transcripts(
    dir: &std::path::Path,
) -> alloc::vec::Vec<(alloc::string::String, alloc::string::String)> {
    use alloc::borrow::ToOwned;
    let mut files: alloc::vec::Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "smtp"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable transcript");
            let name = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (name, text.to_owned())
        })
        .collect()
}
