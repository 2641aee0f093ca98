//! The example programs' command lines, as the README and the issue give
//! them: what the server advertises and enforces per flag, and what `send`
//! prints and exits with.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{ExampleServer, example, run};

/// Sends `lines` one at a time and returns every reply text.
fn dialogue(addr: std::net::SocketAddr, lines: &[&str]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut all = String::new();
    let read_reply = |s: &mut TcpStream, all: &mut String| {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // A reply ends with a line "DDD " (not "DDD-").
        loop {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed; got {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if text.ends_with("\r\n")
                && text
                    .lines()
                    .last()
                    .is_some_and(|l| l.len() >= 4 && &l[3..4] == " ")
            {
                break;
            }
        }
        all.push_str(&String::from_utf8_lossy(&got));
    };
    read_reply(&mut s, &mut all);
    for line in lines {
        s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        read_reply(&mut s, &mut all);
    }
    all
}

#[test]
fn the_server_advertises_what_the_issue_lists() {
    let server = ExampleServer::start(true, &["--auth", "u:p", "--max-size", "1000"]);
    let ehlo = dialogue(server.addr, &["EHLO c.example"]);
    for ext in [
        "PIPELINING",
        "SIZE 1000",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "SMTPUTF8",
        "DSN",
        "STARTTLS",
    ] {
        assert!(
            ehlo.contains(&format!("250-{ext}\r\n")) || ehlo.contains(&format!("250 {ext}\r\n")),
            "{ext} missing:\n{ehlo}"
        );
    }
    // AUTH only under TLS (no --allow-insecure-auth).
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    // Over the size limit: 552 (RFC 1870).
    let size = dialogue(
        server.addr,
        &["EHLO c.example", "MAIL FROM:<a@example.org> SIZE=2000"],
    );
    assert!(size.contains("552 5.3.4 "), "{size}");
    let insecure = ExampleServer::start(false, &["--auth", "u:p", "--allow-insecure-auth"]);
    let ehlo = dialogue(insecure.addr, &["EHLO c.example"]);
    assert!(
        ehlo.contains("250 AUTH PLAIN LOGIN\r\n") || ehlo.contains("250-AUTH PLAIN LOGIN\r\n"),
        "{ehlo}"
    );
}

#[test]
fn require_tls_require_auth_and_max_recipients() {
    let server = ExampleServer::start(true, &["--require-tls"]);
    let text = dialogue(
        server.addr,
        &["EHLO c.example", "MAIL FROM:<a@example.org>", "NOOP"],
    );
    assert!(text.contains("530 5.7.0 "), "{text}");
    assert!(text.ends_with("250 2.0.0 Ok\r\n"), "{text}");
    let server = ExampleServer::start(
        false,
        &[
            "--auth",
            "u:p",
            "--allow-insecure-auth",
            "--require-auth",
            "--max-recipients",
            "100",
        ],
    );
    let text = dialogue(
        server.addr,
        &["EHLO c.example", "MAIL FROM:<a@example.org>"],
    );
    assert!(
        text.ends_with("530 5.7.0 Error: authentication required\r\n")
            || text.contains("530 5.7.0 "),
        "{text}"
    );
    // AUTH PLAIN u/p, then 101 recipients: the last is over the limit (100,
    // the RFC 5321 §4.5.3.1.8 minimum, which the core does not go below).
    let rcpts: Vec<String> = (0..101)
        .map(|i| format!("RCPT TO:<r{i}@example.org>"))
        .collect();
    let mut lines = vec![
        "EHLO c.example",
        "AUTH PLAIN AHUAcA==",
        "MAIL FROM:<a@example.org>",
    ];
    lines.extend(rcpts.iter().map(String::as_str));
    let text = dialogue(server.addr, &lines);
    assert!(text.contains("235 2.7.0 "), "{text}");
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("452 4.5.3 "), "{text}");
    // A wrong password.
    let text = dialogue(server.addr, &["EHLO c.example", "AUTH PLAIN AHUAbm8="]);
    assert!(
        text.ends_with("535 5.7.8 Error: authentication failed\r\n"),
        "{text}"
    );
}

#[test]
fn lmtp_answers_per_recipient() {
    let server = ExampleServer::start(false, &["--lmtp"]);
    let msg = server.dir.path().join("m");
    std::fs::write(&msg, b"Subject: lmtp\r\n\r\nhi\r\n").unwrap();
    let (status, out, err) = run(
        Command::new(example("send"))
            .args([
                "--server",
                &server.addr.to_string(),
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
    assert!(out.lines().all(|l| l.contains(" 250 2.0.0 ")), "{out}");
    let delivered = server.wait_delivered(1, 10);
    assert!(String::from_utf8_lossy(&delivered[0]).contains(" with LMTP id "));
}

#[test]
fn send_over_implicit_tls_and_starttls_with_chunking() {
    let server = ExampleServer::start(true, &["--auth", "u:p"]);
    let ca = server.cert.clone().unwrap();
    let msg = server.dir.path().join("m");
    std::fs::write(&msg, b"Subject: tls\r\n\r\n.dot\r\nbinary \xff ok\r\n").unwrap();
    for (mode, addr) in [
        ("--tls", server.tls_addr.unwrap()),
        ("--starttls", server.addr),
    ] {
        let target = format!("localhost:{}", addr.port());
        let (status, out, err) = run(
            Command::new(example("send"))
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
    for file in &delivered {
        let (headers, body) = common::split_delivered(file);
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
        assert_eq!(body, b"Subject: tls\r\n\r\n.dot\r\nbinary \xff ok\r\n");
    }
    // Without --ca the self-signed certificate is not trusted: exit 2.
    let target = format!("localhost:{}", server.tls_addr.unwrap().port());
    let (status, _, err) = run(
        Command::new(example("send"))
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
}

#[test]
fn send_exit_codes() {
    let server = ExampleServer::start(false, &["--max-recipients", "100"]);
    let msg = server.dir.path().join("m");
    std::fs::write(&msg, b"Subject: x\r\n\r\nx\r\n").unwrap();
    // 101 recipients, the last refused: exit 1, every one reported.
    let mut cmd = Command::new(example("send"));
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
        Command::new(example("send"))
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
}

#[test]
fn discard_accepts_and_stores_nothing() {
    let server = ExampleServer::start(false, &["--discard"]);
    let msg = server.dir.path().join("m");
    std::fs::write(&msg, b"Subject: x\r\n\r\nx\r\n").unwrap();
    let (status, out, err) = run(
        Command::new(example("send"))
            .args([
                "--server",
                &server.addr.to_string(),
                "--from",
                "a@example.org",
                "--to",
                "x@example.org",
                "--message",
            ])
            .arg(&msg),
        30,
    );
    assert!(status.success(), "{out}\n{err}");
    assert_eq!(out, "x@example.org 250 2.0.0 Ok: queued\n");
    assert!(!server.maildir.exists(), "--discard created a Maildir");
}
