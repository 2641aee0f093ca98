//! The blocking client against the tokio server and the tokio client against
//! the blocking example server, over real sockets: STARTTLS, AUTH, CHUNKING
//! (BDAT), the body byte for byte in the Maildir.

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;

use clap::Parser;
use common::{ExampleServer, certificate, split_delivered};
use smtp_adapter::cli::ServerArgs;
use smtp_adapter::options::{ClientOptions, Security};
use smtp_adapter::tls::Trust;
use smtp_proto::client::Envelope;
use smtp_proto::wire::sasl::Credentials;

/// A message with what is easy to get wrong: leading dots, a lone `.` line,
/// an 8-bit octet, a long line, and enough of it for several BDAT chunks.
fn body() -> Vec<u8> {
    let mut b =
        b"Subject: across runtimes\r\n\r\n.leading dot\r\n.\r\n..two\r\nbinary \xff\r\n".to_vec();
    for i in 0..20_000 {
        b.extend_from_slice(format!("{i:06} {}\r\n", "y".repeat(60)).as_bytes());
    }
    b.extend_from_slice(b"end\r\n");
    b
}

fn options(port: u16, ca: &std::path::Path) -> ClientOptions {
    let mut o = ClientOptions::new("localhost", port);
    o.security = Security::StartTlsRequired;
    o.trust = Trust::ca_file(ca).unwrap();
    o.credentials = Some(Credentials::password("u", "p"));
    o.chunking = true;
    o
}

fn delivered(maildir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn the_blocking_client_to_the_tokio_example_server() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let maildir = dir.path().join("maildir");
    // smtp-tokio's example server: the same flags, the same setup.
    let args = ServerArgs::try_parse_from([
        "server".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--maildir".as_ref(),
        maildir.as_os_str(),
        "--tls-cert".as_ref(),
        cert.as_os_str(),
        "--tls-key".as_ref(),
        key.as_os_str(),
        "--auth".as_ref(),
        "u:p".as_ref(),
    ])
    .unwrap();
    let setup = args.setup().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(
            smtp_tokio::server::Server::builder(setup.config)
                .listen(setup.listen[0])
                .tls(setup.tls.unwrap())
                .bind(),
        )
        .unwrap();
    let port = server.local_addrs()[0].port();
    rt.spawn(server.run(setup.handler));

    let mut c = smtp_blocking::client::Connection::connect(&options(port, &cert)).unwrap();
    assert!(c.is_tls());
    assert!(c.capabilities().unwrap().chunking());
    let body = body();
    for _ in 0..2 {
        let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
        let result = c.send(envelope, &body[..]).unwrap();
        assert!(result.all_delivered(), "{result:?}");
    }
    assert_eq!(c.noop().unwrap().code().get(), 250);
    assert_eq!(c.rset().unwrap().code().get(), 250);
    c.quit().unwrap();
    let files = delivered(&maildir);
    assert_eq!(files.len(), 2);
    for file in &files {
        let (headers, got) = split_delivered(file);
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
        assert!(got == body, "the body was not delivered byte for byte");
    }
}

#[test]
fn the_tokio_client_to_the_blocking_example_server() {
    let server = ExampleServer::start_program("blocking-server", true, &["--auth", "u:p"]);
    let options = options(server.addr.port(), server.cert.as_ref().unwrap());
    let body = body();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = smtp_tokio::client::Connection::connect(&options)
            .await
            .unwrap();
        assert!(c.is_tls());
        assert!(c.capabilities().unwrap().chunking());
        for _ in 0..2 {
            let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
            let result = c.send(envelope, &body[..]).await.unwrap();
            assert!(result.all_delivered(), "{result:?}");
        }
        c.quit().await.unwrap();
    });
    let files = server.wait_delivered(2, 10);
    assert_eq!(files.len(), 2);
    for file in &files {
        let (headers, got) = split_delivered(file);
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
        assert!(got == body, "the body was not delivered byte for byte");
    }
    assert!(server.stop().success());
}
