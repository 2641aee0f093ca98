//! smtp-blocking's example programs (`blocking-server`, `blocking-send`)
//! under the tests every adapter's examples share
//! (`smtp-tokio/tests/common/example_tests.rs`): their command lines, real
//! mail software as peers, hostile and unlucky peers.

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/peers.rs"]
mod peers;
#[macro_use]
#[path = "../../smtp-tokio/tests/common/example_tests.rs"]
mod example_tests;

example_tests!(on_blocking => crate::common::BLOCKING);
