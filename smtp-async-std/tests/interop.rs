//! The smtp-async-std example programs on smol and on async-std, over real
//! sockets, against mail software we did not write: Python's smtplib (plain,
//! dot lines, SMTPUTF8, a 3 MiB message, STARTTLS with AUTH PLAIN and LOGIN),
//! swaks with pipelining, Postfix's smtp-sink; and the server's shutdown and
//! deadlines. A missing peer skips its test unless `SMTP_INTEROP_REQUIRED`
//! is set (as in CI).

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/peers.rs"]
mod peers;

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ExampleServer, example, peer, run, split_delivered};

const RUNTIMES: [&str; 2] = ["smol", "async-std"];

fn peers_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../smtp-tokio/tests/peers")
}

/// The `<len>\n<bytes>` records the Python client prints.
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

#[test]
fn smtplib_plain_and_starttls_auth_on_both_runtimes() {
    let Some(python) = peer("python3") else {
        return;
    };
    for rt in RUNTIMES {
        let server = ExampleServer::start_program(
            "async-server",
            true,
            &["--runtime", rt, "--auth", "alice:s3cret"],
        );
        let port = server.addr.port().to_string();
        let out = Command::new(&python)
            .arg(peers_dir().join("smtplib_client.py"))
            .args(["127.0.0.1", &port, "plain"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut sent = records(&out.stdout);
        let out = Command::new(&python)
            .arg(peers_dir().join("smtplib_client.py"))
            .args(["localhost", &port, "starttls"])
            .arg(server.cert.as_ref().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        sent.extend(records(&out.stdout));
        let delivered = server.wait_delivered(5, 10);
        assert_eq!(delivered.len(), 5, "{rt}");
        let mut bodies: Vec<Vec<u8>> = delivered.iter().map(|f| split_delivered(f).1).collect();
        for msg in &sent {
            let i = bodies
                .iter()
                .position(|b| b == msg)
                .unwrap_or_else(|| panic!("{rt}: not delivered byte for byte"));
            bodies.remove(i);
        }
        assert!(server.stop().success(), "{rt}: SIGTERM exit status");
    }
}

#[test]
fn swaks_pipelining_and_send_to_smtp_sink_on_both_runtimes() {
    let (Some(swaks), Some(_)) = (peer("swaks"), peer("smtp-sink")) else {
        return;
    };
    for rt in RUNTIMES {
        let server = ExampleServer::start_program("async-server", false, &["--runtime", rt]);
        let (status, out, err) = run(
            Command::new(&swaks).args([
                "--server",
                "127.0.0.1",
                "--port",
                &server.addr.port().to_string(),
                "--pipeline",
                "--from",
                "a@example.org",
                "--to",
                "x@example.org,y@example.org",
                "--body",
                ".dot\n",
            ]),
            30,
        );
        assert!(status.success(), "{rt}: {out}\n{err}");
        assert!(
            out.contains("<-  250 2.1.5 Ok\n<-  250 2.1.5 Ok"),
            "{rt}: {out}"
        );
        let delivered = server.wait_delivered(1, 10);
        assert!(String::from_utf8_lossy(&delivered[0]).contains("\r\n.dot\r\n"));

        let dir = tempfile::tempdir().unwrap();
        let sink = peers::SmtpSink::start(dir.path()).expect("smtp-sink");
        let port = sink.port;
        let msg = dir.path().join("msg");
        std::fs::write(&msg, b"Subject: sink\r\n\r\n.a dot\r\n").unwrap();
        let (status, out, err) = run(
            Command::new(example("async-send"))
                .args([
                    "--runtime",
                    rt,
                    "--server",
                    &format!("127.0.0.1:{port}"),
                    "--from",
                    "a@example.org",
                    "--to",
                    "b@example.org",
                    "--count",
                    "50",
                    "--connections",
                    "3",
                    "--message",
                ])
                .arg(&msg),
            60,
        );
        drop(sink);
        assert!(status.success(), "{rt}: {out}\n{err}");
        assert_eq!(
            out.lines()
                .filter(|l| *l == "b@example.org 250 2.0.0 Ok")
                .count(),
            50,
            "{rt}: {out}"
        );
        assert!(
            out.lines()
                .last()
                .unwrap()
                .starts_with("sent 50 messages in "),
            "{rt}: {out}"
        );
    }
}

#[test]
fn send_over_implicit_tls_with_a_ca_on_both_runtimes() {
    for rt in RUNTIMES {
        let server =
            ExampleServer::start_program("async-server", true, &["--runtime", rt, "--auth", "u:p"]);
        let msg = server.dir.path().join("m");
        std::fs::write(&msg, b"Subject: tls\r\n\r\nbinary \xff\r\n").unwrap();
        let target = format!("localhost:{}", server.tls_addr.unwrap().port());
        let (status, out, err) = run(
            Command::new(example("async-send"))
                .args([
                    "--runtime",
                    rt,
                    "--server",
                    &target,
                    "--tls",
                    "--auth",
                    "u:p",
                    "--chunking",
                    "--from",
                    "a@example.org",
                    "--to",
                    "b@example.org",
                    "--ca",
                ])
                .arg(server.cert.as_ref().unwrap())
                .arg("--message")
                .arg(&msg),
            30,
        );
        assert!(status.success(), "{rt}: {out}\n{err}");
        assert_eq!(out, "b@example.org 250 2.0.0 Ok: queued\n");
        let delivered = server.wait_delivered(1, 10);
        let (headers, body) = split_delivered(&delivered[0]);
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
        assert_eq!(body, b"Subject: tls\r\n\r\nbinary \xff\r\n");
    }
}

#[test]
fn idle_deadline_and_graceful_shutdown_on_both_runtimes() {
    for rt in RUNTIMES {
        let server = ExampleServer::start_program(
            "async-server",
            false,
            &["--runtime", rt, "--timeout", "1"],
        );
        // Idle: 421 4.4.2 at the deadline, then EOF.
        let mut idle = std::net::TcpStream::connect(server.addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
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
        // A session in progress at SIGTERM may finish its exchange, then the
        // server exits 0 once it has quit.
        let mut busy = std::net::TcpStream::connect(server.addr).unwrap();
        busy.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 512];
        let _ = busy.read(&mut buf).unwrap();
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
}

#[test]
fn postfix_smtp_source_2000_messages_on_both_runtimes() {
    for rt in RUNTIMES {
        peers::smtp_source_2000(&ExampleServer::start_program(
            "async-server",
            false,
            &["--runtime", rt],
        ));
    }
}

#[test]
fn lettre_sends_on_both_runtimes() {
    for rt in RUNTIMES {
        peers::lettre_sends(&ExampleServer::start_program(
            "async-server",
            false,
            &["--runtime", rt],
        ));
    }
}

/// The smtp-async-std client, on smol and on async-std, against a real
/// Postfix smtpd (STARTTLS with its CA, SMTPUTF8, BDAT) and against aiosmtpd
/// (STARTTLS required, AUTH).
#[test]
fn async_client_to_postfix_smtpd_and_aiosmtpd_on_both_runtimes() {
    use smtp_adapter::options::{ClientOptions, Security};
    use smtp_adapter::tls::Trust;
    use smtp_proto::client::Envelope;
    for rt in RUNTIMES {
        if let Some(postfix) = peers::Postfix::start() {
            let mut options = ClientOptions::new("localhost", postfix.port);
            options.security = Security::StartTlsRequired;
            options.trust = Trust::ca_file(&postfix.cert).unwrap();
            options.chunking = true;
            block_on(rt, async {
                let mut c = smtp_async_std::client::Connection::connect(&options)
                    .await
                    .unwrap();
                assert!(c.is_tls());
                let envelope =
                    Envelope::parse("jörg@example.org", ["b@example.org", "ü@example.org"])
                        .unwrap();
                let result = c
                    .send(envelope, &b"Subject: to postfix\r\n\r\nhello\r\n"[..])
                    .await
                    .unwrap();
                assert!(result.all_delivered(), "{rt}: {result:?}");
                c.quit().await.unwrap();
            });
            peers::postfix_logged_starttls_smtputf8_bdat(&postfix);
        }
        if let Some(aiosmtpd) = peers::Aiosmtpd::start() {
            let mut options = ClientOptions::new("localhost", aiosmtpd.port);
            options.security = Security::StartTlsRequired;
            options.trust = Trust::ca_file(&aiosmtpd.cert).unwrap();
            options.credentials = Some(smtp_proto::wire::sasl::Credentials::password(
                "user", "pass",
            ));
            block_on(rt, async {
                let mut c = smtp_async_std::client::Connection::connect(&options)
                    .await
                    .unwrap();
                let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
                let result = c
                    .send(envelope, &b"Subject: aiosmtpd\r\n\r\n.dot\r\n"[..])
                    .await
                    .unwrap();
                assert!(result.all_delivered(), "{rt}: {result:?}");
                c.quit().await.unwrap();
            });
            let got = std::fs::read(aiosmtpd.spool.join("0.eml")).unwrap();
            assert!(got.ends_with(b"Subject: aiosmtpd\r\n\r\n.dot\r\n"), "{rt}");
        }
    }
}

/// Runs `f` on the runtime named `rt`.
fn block_on(rt: &str, f: impl Future<Output = ()>) {
    match rt {
        "smol" => smol::block_on(f),
        _ => async_std::task::block_on(f),
    }
}
