//! # smtp-proto
//!
//! A sans-IO implementation of SMTP ([RFC 5321]) and LMTP ([RFC 2033]) with the
//! extensions real mail systems use. This crate consumes bytes and produces bytes:
//! it never opens a socket, reads a clock, spawns a thread or links a TLS library,
//! so it runs on any runtime (and on none: it is `no_std` + `alloc`).
//!
//! ## Layers
//!
//! * [`wire`]: pure parsers and encoders for everything that crosses the wire —
//!   [commands](wire::command), [paths](wire::path), [MAIL/RCPT parameters](wire::params),
//!   the [DATA and BDAT codecs](wire::data), [SASL](wire::sasl) and line framing.
//! * [`reply`]: SMTP replies, reply codes and enhanced status codes (RFC 3463).
//! * [`ext`]: the EHLO capability model.
//!
//! Parsers are strict by default, bounded by [`limits`], borrow from their input
//! (zero-copy) and offer `into_owned` conversions. Every wire type encodes back to
//! bytes, and `parse(encode(x)) == x` holds (tested with proptest).
//!
//! ## Example
//!
//! ```
//! use smtp_proto::wire::command::{parse_command, Command, ParseOptions};
//!
//! let cmd = parse_command(b"MAIL FROM:<alice@example.org> SIZE=1024", &ParseOptions::default())?;
//! match &cmd {
//!     Command::Mail { from, params } => {
//!         assert_eq!(from.to_string(), "<alice@example.org>");
//!         assert_eq!(params.size, Some(1024));
//!     }
//!     _ => unreachable!(),
//! }
//! // Every command encodes back to its canonical wire form.
//! assert_eq!(cmd.to_bytes(), b"MAIL FROM:<alice@example.org> SIZE=1024\r\n");
//! # Ok::<(), smtp_proto::wire::command::CommandError>(())
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

pub mod ext;
pub mod limits;
pub mod output;
pub mod reply;
pub mod server;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod time;
pub mod wire;
