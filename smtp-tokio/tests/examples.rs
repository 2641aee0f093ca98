//! smtp-tokio's example programs (`server`, `send`) under the tests every
//! adapter's examples share (`common/example_tests.rs`): their command lines,
//! real mail software as peers, hostile and unlucky peers.

mod common;
#[path = "common/peers.rs"]
mod peers;
#[macro_use]
#[path = "common/example_tests.rs"]
mod example_tests;

example_tests!(on_tokio => crate::common::TOKIO);
