//! The blocking client against the tokio server and the tokio client against
//! the blocking example server, over real sockets: STARTTLS, AUTH, CHUNKING
//! (BDAT), the body byte for byte in the Maildir.

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/cross.rs"]
mod cross;

use cross::{
    blocking_client_sends, body, check_delivered, options, setup, start_tokio, tokio_client_sends,
};

#[test]
fn the_blocking_client_to_the_tokio_example_server() {
    let dir = tempfile::tempdir().unwrap();
    // smtp-tokio's example server: the same flags, the same setup.
    let (setup, cert, maildir) = setup(dir.path());
    let (port, stop) = start_tokio(setup);
    let body = body();
    blocking_client_sends(&options(port, &cert), &body, 2);
    stop();
    check_delivered(&maildir, 2, &body);
}

#[test]
fn the_tokio_client_to_the_blocking_example_server() {
    let server = common::BLOCKING.start(true, &["--auth", "u:p"]);
    let options = options(server.addr.port(), server.cert.as_ref().unwrap());
    let body = body();
    tokio_client_sends(&options, &body, 2);
    server.wait_delivered(2, 10);
    check_delivered(&server.maildir, 2, &body);
    assert!(server.stop().success());
}
