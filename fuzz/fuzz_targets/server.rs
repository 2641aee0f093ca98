//! A whole `ServerSession` dialogue: the input is a configuration header and a
//! stream of ops (peer bytes with a read size, application decisions, time
//! passing with or without the timer firing, EOF, TLS handshakes completing),
//! played through `smtp_proto_fuzz::server::ServerHarness`, a correct adapter that
//! asserts the session's invariants after every call. The format and the full
//! list of invariants are documented in `src/server.rs`; in short: no panic,
//! bounded buffers and output, well-formed replies and at most one per line fed,
//! nothing after Close or during a handshake, no unanswered complete line while
//! waiting for the peer, one decision at a time with `respond` succeeding exactly
//! when documented (and a refused one having no effect), events in protocol
//! order, at most one MessageEnd per accepted data start with content adding up,
//! deadlines that close, STARTTLS discarding pipelined input. Every input is
//! played twice, under different read sizes, and both runs must send the same
//! bytes and produce the same events (ARCHITECTURE.md R7).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    smtp_proto_fuzz::server::run_ops(data);
});
