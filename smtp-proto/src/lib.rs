//! # smtp-proto
//!
//! A sans-IO implementation of SMTP ([RFC 5321]) and LMTP ([RFC 2033]) with the
//! extensions real mail systems use. This crate consumes bytes and produces bytes:
//! it never opens a socket, reads a clock, spawns a thread or links a TLS library,
//! so it runs on any runtime (and on none: it is `no_std` + `alloc`).
//!
//! ## Layers
//!
//! * [`server`]: [`ServerSession`](server::ServerSession), the server state machine.
//! * [`client`]: [`ClientSession`](client::ClientSession), the client state machine:
//!   connection setup, STARTTLS, AUTH, pipelined transactions, DATA and BDAT.
//! * [`wire`]: pure parsers and encoders for everything that crosses the wire —
//!   [commands](wire::command), [paths](wire::path), [MAIL/RCPT parameters](wire::params),
//!   the [DATA and BDAT codecs](wire::data), [SASL](wire::sasl) and line framing.
//! * [`reply`]: SMTP replies, reply codes and enhanced status codes (RFC 3463).
//! * [`ext`]: the EHLO capability model.
//! * [`time`]: the caller's clock, as an input; [`output`]: what sessions ask the caller to do.
//!
//! Parsers are strict by default, bounded by [`limits`], borrow from their input
//! (zero-copy) and offer `into_owned` conversions. Every wire type encodes back to
//! bytes, and `parse(encode(x)) == x` holds (tested with proptest).
//!
//! The grammar parsers are small hand-written single-pass scanners over `&str`
//! and `&[u8]` (with `memchr` for the hot loops) rather than `nom` combinators:
//! SMTP's grammar is line-based and shallow, and a scanner gives exact errors
//! per RFC rule, no allocation and no extra dependency.
//!
//! ## The contract: feed, drain, decide
//!
//! A session has these kinds of methods (the full adapter contract is in the
//! [`server`] module docs and in `ARCHITECTURE.md`):
//!
//! * **inputs**, each taking the current time: `handle_bytes`, `handle_eof`,
//!   `handle_timeout`, `handle_tls_established`;
//! * **one output queue**: `poll_output()`, drained until it returns
//!   [`Output::Wait`](output::Output::Wait), which carries the next deadline and
//!   whether the session wants more input (backpressure), or
//!   [`Output::Close`](output::Output::Close); the bytes to write come as one
//!   `Transmit` per batch, last;
//! * **bounded input**: `handle_bytes` takes at most what fits in the session's
//!   buffer and returns how much it took;
//! * **decisions**: events such as MAIL FROM pause the session until `respond`
//!   is called — maybe much later, after an asynchronous lookup. Pipelined input
//!   waits, in order.
//!
//! Peer misbehaviour is never a Rust error: it becomes an SMTP reply (and an
//! informational event). A caller's mistake is [`ApiMisuse`](output::ApiMisuse).
//!
//! ```
//! use std::sync::Arc;
//! use smtp_proto::output::Output;
//! use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
//! use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
//! use smtp_proto::time::Instant;
//! use smtp_proto::wire::path::ForwardPath;
//!
//! let config = Arc::new(ServerConfig::new("mx.example.net"));
//! let mut now = Instant::ZERO;
//! let mut session = ServerSession::new(config, now);
//!
//! // What a client pipelines (in an adapter, this comes from the socket). The
//! // client waits for the reply to DATA before it sends the content.
//! let mut incoming: Vec<&[u8]> = vec![
//!     b"EHLO client.example\r\n",
//!     b"MAIL FROM:<a@client.example>\r\nRCPT TO:<nobody@example.net>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n",
//!     b"Subject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n",
//! ];
//! incoming.reverse();
//! let mut pending: &[u8] = &[]; // read from the socket, not yet taken
//! let (mut sent, mut message) = (Vec::new(), Vec::new());
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(bytes) => sent.extend_from_slice(&bytes), // write to the socket
//!         Output::Event(ServerEvent::MessageData(bytes)) => message.extend_from_slice(&bytes),
//!         Output::Event(event) if event.needs_decision() => {
//!             let decision = match event {
//!                 ServerEvent::RcptTo { to: ForwardPath::Mailbox(m), .. }
//!                     if m.local_part.as_wire() == "nobody" =>
//!                 {
//!                     let code = ReplyCode::new(550).unwrap();
//!                     Decision::Reject(Reply::new(code, EnhancedCode::new(5, 1, 1), "no such user"))
//!                 }
//!                 _ => Decision::Accept,
//!             };
//!             session.respond(now, decision).unwrap();
//!         }
//!         Output::Event(_) => {} // information: TransactionFinished, ClientFault, ...
//!         Output::StartTls => unreachable!("not offered in this configuration"),
//!         Output::Close => break,
//!         Output::Wait { deadline, wants_read } => {
//!             if pending.is_empty() {
//!                 pending = incoming.pop().unwrap_or_default();
//!             }
//!             if wants_read && !pending.is_empty() {
//!                 // The session takes what fits; keep the rest for later.
//!                 let taken = session.handle_bytes(now, pending).unwrap();
//!                 pending = &pending[taken..];
//!             } else {
//!                 // An adapter would sleep until `deadline` here.
//!                 now = deadline.expect("a deadline while waiting for the client");
//!                 session.handle_timeout(now).unwrap();
//!             }
//!         }
//!         _ => {}
//!     }
//! }
//! let sent = String::from_utf8(sent).unwrap();
//! assert!(sent.contains("550 5.1.1 no such user\r\n250 2.1.5 Ok\r\n354 "));
//! assert!(sent.ends_with("250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"));
//! assert_eq!(message, b"Subject: hi\r\n\r\nhello\r\n");
//! ```
//!
//! [RFC 5321]: https://www.rfc-editor.org/rfc/rfc5321
//! [RFC 2033]: https://www.rfc-editor.org/rfc/rfc2033
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod client;
pub mod ext;
pub mod limits;
pub mod output;
pub mod reply;
pub mod server;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod time;
pub mod wire;

/// Whether a session speaks SMTP or LMTP; both sides' configurations use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// SMTP (RFC 5321): HELO/EHLO, one reply after the end of data.
    #[default]
    Smtp,
    /// LMTP (RFC 2033): LHLO only, one reply per accepted recipient after the
    /// end of data.
    Lmtp,
}
