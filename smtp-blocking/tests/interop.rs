//! Interop over real sockets with mail software we did not write: Python's
//! smtplib and swaks against the blocking example server, the blocking
//! example `send` against Postfix's smtp-sink and, with TLS, against the
//! blocking example server.
//!
//! The helpers are smtp-tokio's (`#[path]`); a missing peer program skips its
//! test with a message unless `SMTP_INTEROP_REQUIRED` is set.

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/peers.rs"]
mod peers;

use std::process::Command;

use common::{ExampleServer, example, peer, run, split_delivered};

const SERVER: &str = "blocking-server";
const SEND: &str = "blocking-send";

fn smtplib_client() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../smtp-tokio/tests/peers/smtplib_client.py")
}

/// Reads the `<len>\n<bytes>` records the Python client prints.
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
    let server = ExampleServer::start_program(SERVER, false, &[]);
    let (status, out, err) = run_bytes(Command::new(python).arg(smtplib_client()).args([
        "127.0.0.1",
        &server.addr.port().to_string(),
        "plain",
    ]));
    assert!(status.success(), "smtplib failed: {err}");
    let sent = records(&out);
    assert_eq!(sent.len(), 3);
    let delivered = server.wait_delivered(3, 10);
    assert_eq!(delivered.len(), 3);
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
        assert!(
            headers.contains(
                "\r\nReceived: from smtplib.example ([127.0.0.1])\r\n\tby localhost with ESMTP id "
            ),
            "{headers}"
        );
    }
    assert!(server.stop().success());
}

#[test]
fn smtplib_starttls_with_auth_plain_and_login() {
    let Some(python) = peer("python3") else {
        return;
    };
    let server = ExampleServer::start_program(SERVER, true, &["--auth", "alice:s3cret"]);
    let (status, out, err) = run_bytes(
        Command::new(python)
            .arg(smtplib_client())
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
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
    }
}

#[test]
fn swaks_pipelining() {
    let Some(swaks) = peer("swaks") else { return };
    let server = ExampleServer::start_program(SERVER, false, &[]);
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
    assert!(
        out.contains(" -> MAIL FROM:<a@example.org>\n -> RCPT TO:<x@example.org>\n -> RCPT TO:<y@example.org>\n -> DATA\n"),
        "{out}"
    );
    let delivered = server.wait_delivered(1, 10);
    let (headers, body) = split_delivered(&delivered[0]);
    assert!(
        headers.contains("Delivered-To: x@example.org\r\nDelivered-To: y@example.org\r\n"),
        "{headers}"
    );
    // Dot-stuffed on the wire, unstuffed in the Maildir.
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("\r\n\r\npipelined\r\n.dot\r\n"), "{text}");
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
        Command::new(example(SEND))
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
    // A load: 200 messages over 4 connections (threads).
    let (status, out, err) = run(
        Command::new(example(SEND))
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
    assert_eq!(dumped.len(), 201, "smtp-sink dumped {}", dumped.len());
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
fn example_send_over_implicit_tls_and_starttls_with_chunking() {
    let server = ExampleServer::start_program(SERVER, true, &["--auth", "u:p"]);
    let ca = server.cert.clone().unwrap();
    let msg = server.dir.path().join("m");
    std::fs::write(&msg, b"Subject: tls\r\n\r\n.dot\r\nbinary \xff ok\r\n").unwrap();
    for (mode, addr) in [
        ("--tls", server.tls_addr.unwrap()),
        ("--starttls", server.addr),
    ] {
        let target = format!("localhost:{}", addr.port());
        let (status, out, err) = run(
            Command::new(example(SEND))
                .args([
                    "--server",
                    &target,
                    mode,
                    "--auth",
                    "u:p",
                    "--chunking",
                    "--from",
                    "a@example.org",
                    "--to",
                    "b@example.org",
                    "--ca",
                ])
                .arg(&ca)
                .arg("--message")
                .arg(&msg),
            30,
        );
        assert!(status.success(), "{mode}: {out}\n{err}");
        assert_eq!(out, "b@example.org 250 2.0.0 Ok: queued\n", "{mode}");
    }
    let delivered = server.wait_delivered(2, 10);
    assert_eq!(delivered.len(), 2);
    for file in &delivered {
        let (headers, body) = split_delivered(file);
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
        assert_eq!(body, b"Subject: tls\r\n\r\n.dot\r\nbinary \xff ok\r\n");
    }
    // Without --ca the self-signed certificate is not trusted: exit 2.
    let target = format!("localhost:{}", server.tls_addr.unwrap().port());
    let (status, _, err) = run(
        Command::new(example(SEND))
            .args([
                "--server",
                &target,
                "--tls",
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "--message",
            ])
            .arg(&msg),
        30,
    );
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.starts_with("send: TLS failed: "), "{err}");
    // SIGTERM: a graceful exit, status 0.
    assert!(server.stop().success());
}

#[test]
fn example_send_exit_codes_against_the_blocking_server() {
    let server = ExampleServer::start_program(SERVER, false, &["--max-recipients", "100"]);
    let msg = server.dir.path().join("m");
    std::fs::write(&msg, b"Subject: x\r\n\r\nx\r\n").unwrap();
    // 101 recipients, the last refused: exit 1, every one reported.
    let mut cmd = Command::new(example(SEND));
    cmd.args([
        "--server",
        &server.addr.to_string(),
        "--from",
        "a@example.org",
        "--message",
    ])
    .arg(&msg);
    for i in 0..101 {
        cmd.arg("--to").arg(format!("r{i}@example.org"));
    }
    let (status, out, _) = run(&mut cmd, 30);
    assert_eq!(status.code(), Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 101, "{out}");
    assert_eq!(lines[0], "r0@example.org 250 2.0.0 Ok: queued");
    assert!(
        lines[100].starts_with("r100@example.org 452 4.5.3 "),
        "{out}"
    );
    // Nobody listening: exit 2 with a message.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (status, _, err) = run(
        Command::new(example(SEND))
            .args([
                "--server",
                &closed.to_string(),
                "--from",
                "a@example.org",
                "--to",
                "x@example.org",
                "--message",
            ])
            .arg(&msg),
        30,
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.starts_with("send: connection failed: "), "{err}");
    // LMTP through both example programs: one reply per recipient.
    let lmtp = ExampleServer::start_program(SERVER, false, &["--lmtp"]);
    let (status, out, err) = run(
        Command::new(example(SEND))
            .args([
                "--server",
                &lmtp.addr.to_string(),
                "--lmtp",
                "--from",
                "a@example.org",
                "--to",
                "x@example.org",
                "--to",
                "y@example.org",
                "--message",
            ])
            .arg(&msg),
        30,
    );
    assert!(status.success(), "{out}\n{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let delivered = lmtp.wait_delivered(1, 10);
    assert!(String::from_utf8_lossy(&delivered[0]).contains(" with LMTP id "));
}

#[test]
fn example_send_load_against_the_blocking_server() {
    let server = ExampleServer::start_program(SERVER, false, &[]);
    let msg = server.dir.path().join("m");
    std::fs::write(&msg, b"Subject: load\r\n\r\n.dot\r\nbody\r\n").unwrap();
    let (status, out, err) = run(
        Command::new(example(SEND))
            .args([
                "--server",
                &server.addr.to_string(),
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "--count",
                "200",
                "--connections",
                "8",
                "--message",
            ])
            .arg(&msg),
        60,
    );
    assert!(status.success(), "{out}\n{err}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("sent 200 messages in ")
    );
    let delivered = server.wait_delivered(200, 20);
    assert_eq!(delivered.len(), 200);
    for file in &delivered {
        assert_eq!(
            split_delivered(file).1,
            b"Subject: load\r\n\r\n.dot\r\nbody\r\n"
        );
    }
    assert_eq!(server.in_tmp(), 0);
    assert!(server.stop().success());
}

#[test]
fn postfix_smtp_source_2000_messages() {
    peers::smtp_source_2000(&ExampleServer::start_program("blocking-server", false, &[]));
}

#[test]
fn lettre_sends_to_the_blocking_example_server() {
    peers::lettre_sends(&ExampleServer::start_program("blocking-server", false, &[]));
}

/// The blocking client against a real Postfix smtpd (STARTTLS with its CA,
/// SMTPUTF8, BDAT) and against aiosmtpd (STARTTLS required, AUTH).
#[test]
fn blocking_client_to_postfix_smtpd_and_aiosmtpd() {
    use smtp_adapter::options::{ClientOptions, Security};
    use smtp_adapter::tls::Trust;
    use smtp_proto::client::Envelope;
    if let Some(postfix) = peers::Postfix::start() {
        let mut options = ClientOptions::new("localhost", postfix.port);
        options.security = Security::StartTlsRequired;
        options.trust = Trust::ca_file(&postfix.cert).unwrap();
        options.chunking = true;
        let mut c = smtp_blocking::client::Connection::connect(&options).unwrap();
        assert!(c.is_tls());
        let envelope =
            Envelope::parse("jörg@example.org", ["b@example.org", "ü@example.org"]).unwrap();
        let result = c
            .send(envelope, &b"Subject: to postfix\r\n\r\nhello\r\n"[..])
            .unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().unwrap();
        peers::postfix_logged_starttls_smtputf8_bdat(&postfix);
    }
    if let Some(aiosmtpd) = peers::Aiosmtpd::start() {
        let mut options = ClientOptions::new("localhost", aiosmtpd.port);
        options.security = Security::StartTlsRequired;
        options.trust = Trust::ca_file(&aiosmtpd.cert).unwrap();
        options.credentials = Some(smtp_proto::wire::sasl::Credentials::password(
            "user", "pass",
        ));
        let mut c = smtp_blocking::client::Connection::connect(&options).unwrap();
        let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
        let result = c
            .send(envelope, &b"Subject: aiosmtpd\r\n\r\n.dot\r\n"[..])
            .unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().unwrap();
        let got = std::fs::read(aiosmtpd.spool.join("0.eml")).unwrap();
        assert!(got.ends_with(b"Subject: aiosmtpd\r\n\r\n.dot\r\n"));
    }
}
