//! Shared code for the smtp-proto fuzz targets.
//!
//! * [`input`]: a forgiving cursor over the fuzzer's bytes (reads past the end give zeros).
//! * [`chunks`]: deterministic ways to split a byte string, for split-invariance checks.
//! * [`replies`]: a checker for a stream of server replies (every byte belongs to a
//!   well-formed reply; counts final replies).
//! * [`decisions`]: application decisions built from fuzzer bytes (codes, texts that
//!   try to inject lines, LMTP per-recipient replies).
//! * [`client`]: a `ClientSession` against an arbitrary server byte stream.
//! * [`server`]: [`server::ServerHarness`], a conforming adapter around a
//!   `ServerSession` that checks the session's invariants after every call. The
//!   `server` target drives it with an op stream; the client targets (to come) use it
//!   as the peer of a `ClientSession` (see `README.md`).

pub mod chunks;
pub mod client;
pub mod decisions;
pub mod input;
pub mod replies;
pub mod server;
