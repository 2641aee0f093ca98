//! The tests of the example programs, written once and run against every
//! adapter's `server` and `send` (the same flags everywhere): their command
//! lines as the README gives them, real mail software we did not write
//! (Python's smtplib, swaks, Postfix's smtp-source and smtp-sink, the lettre
//! crate), and hostile or unlucky peers (a peer that never reads, a command
//! injected behind STARTTLS, a client gone mid-DATA, a Maildir that cannot be
//! written or fills up, idle connections, SIGTERM).
//!
//! Each test is a function taking the [`Adapter`]; an adapter's test file
//! includes this file beside `common` and `peers` and instantiates them:
//!
//! ```ignore
//! #[macro_use]
//! #[path = "../../smtp-tokio/tests/common/example_tests.rs"]
//! mod example_tests;
//! example_tests!(on_blocking => crate::common::BLOCKING);
//! ```
//!
//! A missing peer program skips its test with a message unless
//! `SMTP_INTEROP_REQUIRED` is set (as in CI, where `.ci/run` installs them
//! all); the tests that need root (a tmpfs) skip likewise.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{
    Adapter, ExampleServer, connect, peer, peers_dir, read_until, records, run, run_bytes,
    split_delivered, walk,
};
use crate::peers;

/// One `#[test]` per function of this file, for each `module => adapter`.
macro_rules! example_tests {
    ($($module:ident => $adapter:expr),+ $(,)?) => {$(
        mod $module {
            example_tests!(@tests $adapter;
                smtplib_plain_dots_smtputf8_and_a_large_message,
                smtplib_starttls_with_auth_plain_and_login_then_plain,
                swaks_pipelining_and_starttls_auth,
                postfix_smtp_source_2000_messages,
                send_to_postfix_smtp_sink,
                lettre_sends,
                send_load_against_the_example_server,
                the_server_advertises_what_the_issue_lists,
                require_tls_require_auth_and_max_recipients,
                lmtp_answers_per_recipient,
                send_over_implicit_tls_and_starttls_with_chunking,
                send_exit_codes,
                discard_accepts_and_stores_nothing,
                idle_deadline_and_graceful_shutdown,
                a_peer_that_never_reads_is_cut_off_with_memory_flat,
                a_command_injected_after_starttls_is_never_executed,
                a_client_gone_mid_data_leaves_nothing_in_the_maildir,
                an_unwritable_maildir_answers_451,
                a_full_disk_answers_451_and_leaves_nothing,
            );
        }
    )+};
    (@tests $adapter:expr; $($test:ident),+ $(,)?) => {$(
        #[test]
        fn $test() {
            crate::example_tests::$test(&$adapter);
        }
    )+};
}

/// Runs Python's smtplib (`peers/smtplib_client.py`) against the server:
/// `plain` to 127.0.0.1, or `starttls` to localhost (its certificate as the
/// CA); it must succeed. The messages it sent.
fn smtplib(python: &std::path::Path, server: &ExampleServer, mode: &str) -> Vec<Vec<u8>> {
    let host = if mode == "plain" {
        "127.0.0.1"
    } else {
        "localhost"
    };
    let mut cmd = Command::new(python);
    cmd.arg(peers_dir().join("smtplib_client.py")).args([
        host,
        &server.addr.port().to_string(),
        mode,
    ]);
    if mode == "starttls" {
        cmd.arg(server.cert.as_ref().unwrap());
    }
    let (status, out, err) = run_bytes(&mut cmd);
    assert!(status.success(), "smtplib {mode} failed: {err}");
    records(&out)
}

/// Each of `sent` is one of `delivered` byte for byte after our trace
/// headers (files are named by time: matched by content, each file once).
/// The headers of each, in `sent`'s order.
fn delivered_as_sent(delivered: &[Vec<u8>], sent: &[Vec<u8>]) -> Vec<String> {
    assert_eq!(delivered.len(), sent.len());
    let mut files: Vec<_> = delivered.iter().map(|f| split_delivered(f)).collect();
    let mut headers = Vec::new();
    for msg in sent {
        let i = files
            .iter()
            .position(|(_, body)| body == msg)
            .unwrap_or_else(|| {
                panic!(
                    "not delivered byte for byte: {:?}",
                    String::from_utf8_lossy(&msg[..msg.len().min(60)])
                )
            });
        headers.push(files.remove(i).0);
    }
    headers
}

/// Python's smtplib over one plain connection: lines starting with dots, a
/// UTF-8 sender and recipient with SMTPUTF8, a 3 MiB message; each body byte
/// for byte in the Maildir, with our trace headers; SIGTERM exits 0.
pub fn smtplib_plain_dots_smtputf8_and_a_large_message(a: &Adapter) {
    let Some(python) = peer("python3") else {
        return;
    };
    let server = a.start(false, &[]);
    let sent = smtplib(&python, &server, "plain");
    assert_eq!(sent.len(), 3);
    let delivered = server.wait_delivered(3, 10);
    for headers in delivered_as_sent(&delivered, &sent) {
        assert!(headers.starts_with("Return-Path: <"), "{headers}");
        assert!(
            headers.contains(
                "\r\nReceived: from smtplib.example ([127.0.0.1])\r\n\tby localhost with ESMTP id "
            ),
            "{}: {headers}",
            a.name
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
    assert!(server.stop().success(), "{}: SIGTERM exit status", a.name);
}

/// smtplib with STARTTLS (the certificate verified), AUTH PLAIN and LOGIN, a
/// wrong password refused; then plain sessions to the same server (TLS and
/// AUTH on, not used); every body byte for byte, SIGTERM exits 0.
pub fn smtplib_starttls_with_auth_plain_and_login_then_plain(a: &Adapter) {
    let Some(python) = peer("python3") else {
        return;
    };
    let server = a.start(true, &["--auth", "alice:s3cret"]);
    let mut sent = smtplib(&python, &server, "starttls");
    let delivered = server.wait_delivered(2, 10);
    for headers in delivered_as_sent(&delivered, &sent) {
        // RFC 3848: TLS and AUTH are in the trace header.
        assert!(
            headers.contains(" with ESMTPSA id "),
            "{}: {headers}",
            a.name
        );
    }
    sent.extend(smtplib(&python, &server, "plain"));
    let delivered = server.wait_delivered(5, 10);
    delivered_as_sent(&delivered, &sent);
    assert!(server.stop().success(), "{}: SIGTERM exit status", a.name);
}

/// swaks with PIPELINING (the MAIL/RCPT/RCPT/DATA group out before any
/// reply; dot-stuffed on the wire, unstuffed in the Maildir), then with
/// STARTTLS and AUTH PLAIN and LOGIN.
pub fn swaks_pipelining_and_starttls_auth(a: &Adapter) {
    let Some(swaks_path) = peer("swaks") else {
        return;
    };
    let server = a.start(true, &["--auth", "bob:pw"]);
    let port = server.addr.port().to_string();
    let out = swaks(
        &swaks_path,
        &port,
        "--pipeline --from a@example.org --to x@example.org,y@example.org \
         --body pipelined\n.dot\n --helo swaks.example",
    );
    // The whole MAIL/RCPT/RCPT/DATA group went out before any reply.
    assert!(
        out.contains(" -> MAIL FROM:<a@example.org>\n -> RCPT TO:<x@example.org>\n -> RCPT TO:<y@example.org>\n -> DATA\n"),
        "{out}"
    );
    assert!(out.contains("<-  250 2.1.5 Ok\n<-  250 2.1.5 Ok"), "{out}");
    let delivered = server.wait_delivered(1, 10);
    let (headers, body) = split_delivered(&delivered[0]);
    assert!(
        headers.contains("Delivered-To: x@example.org\r\nDelivered-To: y@example.org\r\n"),
        "{headers}"
    );
    // Dot-stuffed on the wire, unstuffed in the Maildir.
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("\r\n\r\npipelined\r\n.dot\r\n"), "{text}");
    for auth in ["PLAIN", "LOGIN"] {
        let out = swaks(
            &swaks_path,
            &port,
            &format!(
                "--tls --auth {auth} --auth-user bob --auth-password pw \
                 --from bob@example.org --to z@example.org"
            ),
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

/// Runs swaks against 127.0.0.1:`port` with `args` (split at spaces; a
/// value may hold a newline); it must succeed. Its output.
fn swaks(swaks: &std::path::Path, port: &str, args: &str) -> String {
    let mut cmd = Command::new(swaks);
    cmd.args(["--server", "127.0.0.1", "--port", port])
        .args(args.split(' '));
    let (status, out, err) = run(&mut cmd, 30);
    assert!(status.success(), "swaks {args} failed:\n{out}\n{err}");
    out
}

/// Postfix's smtp-source: 2,000 messages over 20 sessions.
pub fn postfix_smtp_source_2000_messages(a: &Adapter) {
    peers::smtp_source_2000(&a.start(false, &[]));
}

/// The lettre crate sends one message.
pub fn lettre_sends(a: &Adapter) {
    peers::lettre_sends(&a.start(false, &[]));
}

/// The example `send` against Postfix's smtp-sink: two recipients, then a
/// load of 200 messages over 4 connections; the dot unstuffed.
pub fn send_to_postfix_smtp_sink(a: &Adapter) {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = peers::SmtpSink::start(dir.path()) else {
        return;
    };
    let port = sink.port;
    let msg = dir.path().join("msg");
    std::fs::write(&msg, b"Subject: to the sink\r\n\r\n.a dot\r\nend\r\n").unwrap();
    let server = format!("127.0.0.1:{port}");
    let out = send_ok(
        a,
        &server,
        "--from a@example.org --to b@example.org --to c@example.org",
        &msg,
        30,
    );
    assert_eq!(
        out,
        "b@example.org 250 2.0.0 Ok\nc@example.org 250 2.0.0 Ok\n"
    );
    // A load: 200 messages over 4 connections.
    let out = send_ok(
        a,
        &server,
        "--from a@example.org --to b@example.org --count 200 --connections 4",
        &msg,
        60,
    );
    assert_eq!(
        out.lines()
            .filter(|l| *l == "b@example.org 250 2.0.0 Ok")
            .count(),
        200,
        "{}: {out}",
        a.name
    );
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

/// The example `send` against the example server: 200 messages over 8
/// connections, each byte for byte in the Maildir, nothing left in `tmp/`.
pub fn send_load_against_the_example_server(a: &Adapter) {
    let server = a.start(false, &[]);
    let out = send_to(
        a,
        &server,
        b"Subject: load\r\n\r\n.dot\r\nbody\r\n",
        "--from a@example.org --to b@example.org --count 200 --connections 8",
    );
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

/// Runs the example `send` against `server` with `args` (split at white
/// space) and `--message msg`, for at most `secs`: (status, stdout, stderr).
fn send(
    a: &Adapter,
    server: &str,
    args: &str,
    msg: &std::path::Path,
    secs: u64,
) -> (std::process::ExitStatus, String, String) {
    let mut cmd = a.send();
    cmd.args(["--server", server])
        .args(args.split_whitespace())
        .arg("--message")
        .arg(msg);
    run(&mut cmd, secs)
}

/// [`send`] that must exit 0; its output.
fn send_ok(a: &Adapter, server: &str, args: &str, msg: &std::path::Path, secs: u64) -> String {
    let (status, out, err) = send(a, server, args, msg, secs);
    assert!(status.success(), "{}: send {args}: {out}\n{err}", a.name);
    out
}

/// A small message.
const SMALL: &[u8] = b"Subject: x\r\n\r\nx\r\n";

/// [`send_ok`] of `message` to the example server.
fn send_to(a: &Adapter, server: &ExampleServer, message: &[u8], args: &str) -> String {
    let msg = message_file(server, message);
    send_ok(a, &server.addr.to_string(), args, &msg, 60)
}

/// `message` in a file in the server's directory, for `send --message`.
fn message_file(server: &ExampleServer, message: &[u8]) -> std::path::PathBuf {
    let path = server.dir.path().join("m");
    std::fs::write(&path, message).unwrap();
    path
}

/// A session with the server at `addr`, greeted and past `EHLO`.
fn after_ehlo(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    read_until(&mut s, "220 ");
    s.write_all(b"EHLO c.example\r\n").unwrap();
    read_until(&mut s, "250 ");
    s
}

/// Sends `lines` one at a time and returns every reply text.
fn dialogue(addr: std::net::SocketAddr, lines: &[&str]) -> String {
    let mut s = connect(addr);
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

/// What the server advertises per flag (the issue's list), AUTH only under
/// TLS unless `--allow-insecure-auth`, SIZE enforced.
pub fn the_server_advertises_what_the_issue_lists(a: &Adapter) {
    let server = a.start(true, &["--auth", "u:p", "--max-size", "1000"]);
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
            "{}: {ext} missing:\n{ehlo}",
            a.name
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
    let insecure = a.start(false, &["--auth", "u:p", "--allow-insecure-auth"]);
    let ehlo = dialogue(insecure.addr, &["EHLO c.example"]);
    assert!(
        ehlo.contains("250 AUTH PLAIN LOGIN\r\n") || ehlo.contains("250-AUTH PLAIN LOGIN\r\n"),
        "{ehlo}"
    );
}

/// `--require-tls`, `--require-auth` and `--max-recipients`.
pub fn require_tls_require_auth_and_max_recipients(a: &Adapter) {
    let server = a.start(true, &["--require-tls"]);
    let text = dialogue(
        server.addr,
        &["EHLO c.example", "MAIL FROM:<a@example.org>", "NOOP"],
    );
    assert!(text.contains("530 5.7.0 "), "{text}");
    assert!(text.ends_with("250 2.0.0 Ok\r\n"), "{text}");
    let server = a.start(
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

/// LMTP through both example programs: one reply per recipient.
pub fn lmtp_answers_per_recipient(a: &Adapter) {
    let server = a.start(false, &["--lmtp"]);
    let out = send_to(
        a,
        &server,
        b"Subject: lmtp\r\n\r\nhi\r\n",
        "--lmtp --from a@example.org --to x@example.org --to y@example.org",
    );
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.contains(" 250 2.0.0 ")), "{out}");
    let delivered = server.wait_delivered(1, 10);
    assert!(String::from_utf8_lossy(&delivered[0]).contains(" with LMTP id "));
}

/// `send --tls` and `--starttls` with AUTH, CHUNKING and a CA; without the
/// CA the self-signed certificate is refused (exit 2); SIGTERM exits 0.
pub fn send_over_implicit_tls_and_starttls_with_chunking(a: &Adapter) {
    let server = a.start(true, &["--auth", "u:p"]);
    let ca = server.cert.clone().unwrap();
    let ca = ca.to_str().unwrap();
    let msg = message_file(&server, b"Subject: tls\r\n\r\n.dot\r\nbinary \xff ok\r\n");
    for (mode, addr) in [
        ("--tls", server.tls_addr.unwrap()),
        ("--starttls", server.addr),
    ] {
        let target = format!("localhost:{}", addr.port());
        let out = send_ok(
            a,
            &target,
            &format!(
                "{mode} --auth u:p --chunking --from a@example.org --to b@example.org --ca {ca}"
            ),
            &msg,
            30,
        );
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
    let (status, _, err) = send(
        a,
        &target,
        "--tls --from a@example.org --to b@example.org",
        &msg,
        30,
    );
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.starts_with("send: TLS failed: "), "{err}");
    // SIGTERM: a graceful exit, status 0.
    assert!(server.stop().success());
}

/// `send` exits 1 when a recipient is refused (every one reported), 2 when
/// nobody listens.
pub fn send_exit_codes(a: &Adapter) {
    let server = a.start(false, &["--max-recipients", "100"]);
    let msg = message_file(&server, SMALL);
    // 101 recipients, the last refused: exit 1, every one reported.
    let rcpts: String = (0..101)
        .map(|i| format!(" --to r{i}@example.org"))
        .collect();
    let args = format!("--from a@example.org{rcpts}");
    let (status, out, _) = send(a, &server.addr.to_string(), &args, &msg, 30);
    assert_eq!(status.code(), Some(1), "{}: {out}", a.name);
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
    let (status, _, err) = send(
        a,
        &closed.to_string(),
        "--from a@example.org --to x@example.org",
        &msg,
        30,
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.starts_with("send: connection failed: "), "{err}");
}

/// `--discard` accepts and stores nothing (no Maildir at all).
pub fn discard_accepts_and_stores_nothing(a: &Adapter) {
    let server = a.start(false, &["--discard"]);
    let out = send_to(a, &server, SMALL, "--from a@example.org --to x@example.org");
    assert_eq!(out, "x@example.org 250 2.0.0 Ok: queued\n");
    assert!(!server.maildir.exists(), "--discard created a Maildir");
}

/// `--timeout 1`: an idle connection (before and after EHLO) gets `421
/// 4.4.2` at the deadline, then EOF; a session in progress at SIGTERM may
/// finish its exchange, then the server exits 0.
pub fn idle_deadline_and_graceful_shutdown(a: &Adapter) {
    let rt = a.name;
    let server = a.start(false, &["--timeout", "1"]);
    // Idle from the greeting: 421 4.4.2 at the deadline, then EOF.
    let mut idle = connect(server.addr);
    let started = Instant::now();
    let mut text = Vec::new();
    idle.read_to_end(&mut text).unwrap();
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.starts_with("220 ")
            && text.ends_with("421 4.4.2 localhost Error: timeout exceeded\r\n"),
        "{rt}: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{rt}");
    // Idle after EHLO: the same, the deadline kept.
    let mut s = after_ehlo(server.addr);
    let idle = Instant::now();
    let text = read_until(&mut s, "\r\n");
    let waited = idle.elapsed();
    assert!(text.starts_with("421 4.4.2 "), "{rt}: {text}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{rt}: {waited:?}"
    );
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
    // A session in progress at SIGTERM may finish its exchange, then the
    // server exits 0 once it has quit.
    let mut busy = connect(server.addr);
    read_until(&mut busy, "220 ");
    let pid = server.pid().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    std::thread::sleep(Duration::from_millis(200));
    busy.write_all(b"NOOP\r\nQUIT\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = busy.read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.contains("250 2.0.0 Ok\r\n") && rest.contains("221 2.0.0 Bye\r\n"),
        "{rt}: {rest}"
    );
    assert!(server.stop().success(), "{rt}");
}

/// A peer that floods commands and never reads the replies is cut off at
/// the write timeout, with the server's memory flat.
pub fn a_peer_that_never_reads_is_cut_off_with_memory_flat(a: &Adapter) {
    let server = a.start(false, &["--timeout", "2"]);
    let mut s = connect(server.addr);
    read_until(&mut s, "220 ");
    let before = server.rss_kib();
    s.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let flood = b"NOOP\r\n".repeat(10_000);
    let started = Instant::now();
    let mut sent = 0usize;
    let mut peak = before;
    // Write until the server gives up on us: its replies fill our receive
    // buffer and its send buffer, its write times out, it closes.
    let closed = loop {
        match s.write(&flood) {
            Ok(n) => sent += n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break true,
        }
        peak = peak.max(server.rss_kib());
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
    };
    assert!(closed, "still connected after 30 s ({sent} octets sent)");
    let took = started.elapsed();
    assert!(sent > 1_000_000, "the flood was {sent} octets");
    eprintln!(
        "{}: flood: {sent} octets, cut off after {took:?}, RSS {before} KiB -> peak {peak} KiB",
        a.name
    );
    // Bounded buffers: the server holds at most a batch, whatever was sent.
    assert!(
        peak < before + 8 * 1024,
        "RSS grew from {before} to {peak} KiB"
    );
    assert!(server.stop().success());
}

/// A command sent in plaintext behind STARTTLS, in the same packet, is
/// dropped (ARCHITECTURE.md R9).
pub fn a_command_injected_after_starttls_is_never_executed(a: &Adapter) {
    let server = a.start(true, &[]);
    let mut s = after_ehlo(server.addr);
    // One packet: STARTTLS and a command behind it, in plaintext.
    s.write_all(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
        .unwrap();
    let reply = read_until(&mut s, "\r\n");
    assert!(reply.starts_with("220 2.0.0 "), "{reply}");
    // A TLS client that trusts anything (the certificate is self-signed).
    let config = smtp_adapter::tls::Trust::Insecure.client_config().unwrap();
    let conn = rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, s);
    tls.write_all(b"EHLO c.example\r\n").unwrap();
    read_until(&mut tls, "250 ");
    // Had the injected MAIL survived, this RCPT would be accepted.
    tls.write_all(b"RCPT TO:<victim@example.org>\r\n").unwrap();
    let reply = read_until(&mut tls, "\r\n");
    assert!(reply.starts_with("503 5.5.1 "), "{}: {reply}", a.name);
    tls.write_all(b"QUIT\r\n").unwrap();
    read_until(&mut tls, "221 ");
}

/// A client gone mid-DATA: the message in progress in `tmp/` is removed,
/// nothing is delivered.
pub fn a_client_gone_mid_data_leaves_nothing_in_the_maildir(a: &Adapter) {
    let server = a.start(false, &[]);
    let mut s = connect(server.addr);
    read_until(&mut s, "220 ");
    s.write_all(
        b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
    )
    .unwrap();
    read_until(&mut s, "354 ");
    s.write_all(&b"Subject: half\r\n\r\n".repeat(2000)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Something was written to tmp/ meanwhile...
    assert_eq!(
        server.in_tmp(),
        1,
        "{}: no message in progress in tmp/",
        a.name
    );
    drop(s);
    std::thread::sleep(Duration::from_millis(300));
    // ...and is gone with the client.
    assert_eq!(server.in_tmp(), 0, "a half message stayed in tmp/");
    assert!(server.delivered().is_empty());
    assert!(server.stop().success());
}

/// Sends one message by hand; returns the reply to the end of data (or to
/// DATA, if that was refused).
fn send_by_hand(server: &ExampleServer, body: &[u8]) -> String {
    let mut s = after_ehlo(server.addr);
    s.write_all(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        .unwrap();
    // Three replies: MAIL, RCPT, DATA.
    let mut got = String::new();
    while got.matches("\r\n").count() < 3 {
        got.push_str(&read_until(&mut s, "\r\n"));
    }
    if got.contains("451 ") {
        return got
            .lines()
            .find(|l| l.starts_with("451 "))
            .unwrap()
            .to_string();
    }
    s.write_all(body).unwrap();
    s.write_all(b"\r\n.\r\n").unwrap();
    let reply = read_until(&mut s, "\r\n");
    s.write_all(b"QUIT\r\n").unwrap();
    reply
}

/// A Maildir whose `tmp/` is a file: 451, nothing delivered.
pub fn an_unwritable_maildir_answers_451(a: &Adapter) {
    let server = a.start(false, &[]);
    let tmp = server.maildir.join("tmp");
    std::fs::remove_dir(&tmp).unwrap();
    std::fs::write(&tmp, b"not a directory").unwrap();
    let reply = send_by_hand(&server, b"Subject: x\r\n\r\nhello");
    assert!(reply.starts_with("451 4.3.0 "), "{}: {reply}", a.name);
    assert!(server.delivered().is_empty());
}

/// A full disk (a 256 KiB tmpfs; needs root, as in CI): 451, the partial
/// file removed; a message that fits still goes through.
pub fn a_full_disk_answers_451_and_leaves_nothing(a: &Adapter) {
    let server = a.start(false, &[]);
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&server.maildir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var_os("SMTP_INTEROP_REQUIRED").is_none(),
            "cannot mount a tmpfs (CI runs as root)"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(server.maildir.clone());
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir(server.maildir.join(sub)).unwrap();
    }
    let big =
        b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n".repeat(8 * 1024);
    let reply = send_by_hand(&server, &big);
    assert!(reply.starts_with("451 4.3.0 "), "{}: {reply}", a.name);
    assert!(server.delivered().is_empty());
    assert_eq!(server.in_tmp(), 0, "the partial file stayed in tmp/");
    // A message that fits still goes through.
    let reply = send_by_hand(&server, b"Subject: small\r\n\r\nfits");
    assert!(reply.starts_with("250 "), "{reply}");
    assert_eq!(server.delivered().len(), 1);
}
