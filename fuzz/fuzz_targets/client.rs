//! A `ClientSession` against an arbitrary server byte stream: no panic, always
//! back to `Wait`, nothing after Close, and nothing the server sent ever echoed
//! into what the client writes. Details in `src/client.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    smtp_proto_fuzz::client::run(data);
});
