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

/// `--threads`, which only the tokio examples have: the load test with both
/// programs on a current-thread runtime (`--threads 1`, how the benchmarks
/// run them beside single-process peers) and on two worker threads.
#[test]
fn the_load_test_with_one_thread_and_with_two() {
    for args in [&["--threads", "1"], &["--threads", "2"]] {
        example_tests::send_load_against_the_example_server(&common::Adapter {
            name: "tokio with --threads",
            args,
            ..common::TOKIO
        });
    }
}
