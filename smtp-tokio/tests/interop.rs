//! Interop with mail software we did not write, over real sockets: Python's
//! smtplib, swaks, Postfix's smtp-source and smtp-sink, aiosmtpd and the
//! lettre crate, against the example server (a child process) and with the
//! example `send` client and the library client.
//!
//! Each peer is looked up first; a missing one skips its test with a message,
//! unless `SMTP_INTEROP_REQUIRED` is set (as in CI, where `.ci/run` installs
//! them all), which makes it a failure.

mod common;
#[path = "common/peers.rs"]
mod peers;

use std::process::Command;

use common::{ExampleServer, example, peer, run, split_delivered};

fn peers_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Reads the `<len>\n<bytes>` records the Python clients print.
fn records(mut out: &[u8]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let nl = out.iter().position(|&b| b == b'\n').expect("a length");
        let len: usize = std::str::from_utf8(&out[..nl]).unwrap().parse().unwrap();
        all.push(out[nl + 1..nl + 1 + len].to_vec());
        out = &out[nl + 1 + len..];
    }
    all
}

fn run_bytes(cmd: &mut Command) -> (std::process::ExitStatus, Vec<u8>, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status,
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn smtplib_plain_dots_smtputf8_and_a_large_message() {
    let Some(python) = peer("python3") else {
        return;
    };
    let server = ExampleServer::start(false, &[]);
    let (status, out, err) = run_bytes(
        Command::new(python)
            .arg(peers_dir().join("smtplib_client.py"))
            .args(["127.0.0.1", &server.addr.port().to_string(), "plain"]),
    );
    assert!(status.success(), "smtplib failed: {err}");
    let sent = records(&out);
    assert_eq!(sent.len(), 3);
    let delivered = server.wait_delivered(3, 10);
    assert_eq!(delivered.len(), 3);
    // Files are named by time; match each sent message to its file.
    let mut bodies: Vec<_> = delivered.iter().map(|f| split_delivered(f)).collect();
    for msg in &sent {
        let i = bodies
            .iter()
            .position(|(_, body)| body == msg)
            .unwrap_or_else(|| {
                panic!(
                    "not delivered byte for byte: {:?}",
                    String::from_utf8_lossy(&msg[..msg.len().min(60)])
                )
            });
        let (headers, _) = bodies.remove(i);
        assert!(headers.starts_with("Return-Path: <"), "{headers}");
        assert!(
            headers.contains(
                "\r\nReceived: from smtplib.example ([127.0.0.1])\r\n\tby localhost with ESMTP id "
            ),
            "{headers}"
        );
    }
    let utf8 = delivered
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .find(|f| f.contains("über alles"))
        .expect("the UTF-8 message");
    assert!(
        utf8.starts_with(
            "Return-Path: <jörg@bücher.example>\r\nDelivered-To: müller@example.org\r\n"
        ),
        "{utf8}"
    );
    assert!(server.stop().success());
}

#[test]
fn smtplib_starttls_with_auth_plain_and_login() {
    let Some(python) = peer("python3") else {
        return;
    };
    let server = ExampleServer::start(true, &["--auth", "alice:s3cret"]);
    let (status, out, err) = run_bytes(
        Command::new(python)
            .arg(peers_dir().join("smtplib_client.py"))
            .args(["localhost", &server.addr.port().to_string(), "starttls"])
            .arg(server.cert.as_ref().unwrap()),
    );
    assert!(status.success(), "smtplib failed: {err}");
    let sent = records(&out);
    let delivered = server.wait_delivered(2, 10);
    assert_eq!(delivered.len(), 2);
    for file in &delivered {
        let (headers, body) = split_delivered(file);
        assert_eq!(body, sent[0]);
        // RFC 3848: TLS and AUTH are in the trace header.
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
    }
}

#[test]
fn swaks_pipelining_and_starttls_auth() {
    let Some(swaks) = peer("swaks") else { return };
    let server = ExampleServer::start(true, &["--auth", "bob:pw"]);
    let port = server.addr.port().to_string();
    let (status, out, err) = run(
        Command::new(&swaks).args([
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--pipeline",
            "--from",
            "a@example.org",
            "--to",
            "x@example.org,y@example.org",
            "--body",
            "pipelined\n.dot\n",
            "--helo",
            "swaks.example",
        ]),
        30,
    );
    assert!(status.success(), "swaks --pipeline failed:\n{out}\n{err}");
    // The whole MAIL/RCPT/RCPT/DATA group went out before any reply.
    assert!(out.contains("<-  250 2.1.5 Ok\n<-  250 2.1.5 Ok"), "{out}");
    for auth in ["PLAIN", "LOGIN"] {
        let (status, out, err) = run(
            Command::new(&swaks).args([
                "--server",
                "127.0.0.1",
                "--port",
                &port,
                "--tls",
                "--auth",
                auth,
                "--auth-user",
                "bob",
                "--auth-password",
                "pw",
                "--from",
                "bob@example.org",
                "--to",
                "z@example.org",
            ]),
            30,
        );
        assert!(
            status.success(),
            "swaks --tls --auth {auth} failed:\n{out}\n{err}"
        );
        assert!(out.contains("235 2.7.0"), "{out}");
    }
    let delivered = server.wait_delivered(3, 10);
    assert_eq!(delivered.len(), 3);
    let all: String = delivered
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    assert!(all.contains("Delivered-To: x@example.org\r\nDelivered-To: y@example.org\r\n"));
    assert!(all.contains("\r\n.dot\r\n"), "dot-unstuffed content");
    assert_eq!(all.matches(" with ESMTPSA id ").count(), 2);
}

#[test]
fn postfix_smtp_source_2000_messages() {
    peers::smtp_source_2000(&ExampleServer::start(false, &[]));
}

#[test]
fn example_send_to_postfix_smtp_sink() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = peers::SmtpSink::start(dir.path()) else {
        return;
    };
    let port = sink.port;
    let msg = dir.path().join("msg");
    std::fs::write(&msg, b"Subject: to the sink\r\n\r\n.a dot\r\nend\r\n").unwrap();
    let server = format!("127.0.0.1:{port}");
    let (status, out, err) = run(
        Command::new(example("send"))
            .args([
                "--server",
                &server,
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "--to",
                "c@example.org",
                "--message",
            ])
            .arg(&msg),
        30,
    );
    assert!(status.success(), "send failed: {out}\n{err}");
    assert_eq!(
        out,
        "b@example.org 250 2.0.0 Ok\nc@example.org 250 2.0.0 Ok\n"
    );
    // A load: 200 messages over 4 connections.
    let (status, out, err) = run(
        Command::new(example("send"))
            .args([
                "--server",
                &server,
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "--count",
                "200",
                "--connections",
                "4",
                "--message",
            ])
            .arg(&msg),
        60,
    );
    assert!(status.success(), "send --count failed: {out}\n{err}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("sent 200 messages in "),
        "{out}"
    );
    drop(sink);
    let dumped: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.file_name() != msg.file_name())
        .collect();
    assert_eq!(
        dumped.len(),
        201,
        "smtp-sink dumped {} messages",
        dumped.len()
    );
    let first = dumped
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|t| t.contains("X-Rcpt-Args: <c@example.org>"))
        .unwrap();
    // smtp-sink writes its dump with LF line ends; the dot was unstuffed.
    assert!(
        first.contains("\nSubject: to the sink\n\n.a dot\nend"),
        "{first}"
    );
}

#[test]
fn library_client_to_aiosmtpd_with_starttls_and_auth() {
    let Some(aiosmtpd) = peers::Aiosmtpd::start() else {
        return;
    };
    let (port, cert) = (aiosmtpd.port, aiosmtpd.cert.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use smtp_tokio::client::{ClientOptions, Connection, Error, Security};
        use smtp_tokio::proto::client::Envelope;
        use smtp_tokio::tls::Trust;
        let mut options = ClientOptions::new("localhost", port);
        options.security = Security::StartTlsRequired;
        options.trust = Trust::ca_file(&cert).unwrap();
        options.credentials = Some(smtp_tokio::proto::wire::sasl::Credentials::password(
            "user", "pass",
        ));
        let mut c = Connection::connect(&options)
            .await
            .expect("connect, STARTTLS, AUTH");
        assert!(c.is_tls());
        let envelope =
            Envelope::parse("a@example.org", ["b@example.org", "c@example.org"]).unwrap();
        let result = c
            .send(envelope, &b"Subject: aiosmtpd\r\n\r\n.dot\r\nhello\r\n"[..])
            .await
            .unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().await.unwrap();
        // A wrong password is a session error carrying the 535.
        options.credentials = Some(smtp_tokio::proto::wire::sasl::Credentials::password(
            "user", "nope",
        ));
        let err = Connection::connect(&options).await.unwrap_err();
        assert!(matches!(err, Error::Session(_)), "{err:?}");
        // An untrusted certificate fails the TLS handshake: never plaintext.
        options.trust = Trust::WebPki;
        let err = Connection::connect(&options).await.unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
    });
    let got = std::fs::read(aiosmtpd.spool.join("0.eml")).expect("aiosmtpd stored the message");
    assert!(
        got.ends_with(b"Subject: aiosmtpd\r\n\r\n.dot\r\nhello\r\n"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn lettre_sends_to_the_example_server() {
    peers::lettre_sends(&ExampleServer::start(false, &[]));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
