//! Two MTA instances and a DNS server of the test's own (hickory-server on a
//! loopback port) deliver to each other by MX, over real sockets. Each MTA
//! listens on its own loopback address (127.0.0.2, 127.0.0.3) on one port,
//! which is also the delivery port; scripted destinations on 127.0.0.4-6
//! answer 451 then 250, 550, or drop the connection in the middle of DATA.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::rr::rdata::{A, MX, SOA};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::Server as DnsServer;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use smtp_mta::{Config, Shared};
use smtp_proto::client::Envelope;
use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, ServerConfig};
use smtp_proto::wire::params::RcptParameters;
use smtp_proto::wire::path::ForwardPath;
use smtp_proto::wire::sasl::Credentials;
use smtp_tokio::client::Connection;
use smtp_tokio::client::{ClientOptions, Security};
use smtp_tokio::server::{Handler, Message, Server};
use smtp_tokio::tls::Trust;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The authoritative server for `test.`, with the records of every test and
/// `extra` ones (owner, data).
async fn dns(extra: Vec<(String, RData)>) -> (DnsServer<Catalog>, SocketAddr) {
    let origin = Name::from_str("test.").unwrap();
    let mut zone: InMemoryZoneHandler =
        InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
    let name = |s: &str| Name::from_str(s).unwrap();
    let soa = SOA::new(
        name("ns.test."),
        name("root.test."),
        1,
        3600,
        600,
        86400,
        60,
    );
    zone.upsert_mut(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1);
    let mut add = |owner: &str, data: RData| {
        zone.upsert_mut(Record::from_rdata(name(owner), 60, data), 1);
    };
    for (domain, ip) in [
        ("a", 2),
        ("b", 3),
        ("tempfail", 4),
        ("reject", 5),
        ("drop", 6),
    ] {
        add(
            &format!("{domain}.test."),
            RData::MX(MX::new(10, name(&format!("mx.{domain}.test.")))),
        );
        add(
            &format!("mx.{domain}.test."),
            RData::A(A(Ipv4Addr::new(127, 0, 0, ip))),
        );
    }
    // A second, less preferred MX for b.test that does not answer.
    add("b.test.", RData::MX(MX::new(20, name("backup.b.test."))));
    add("backup.b.test.", RData::A(A(Ipv4Addr::new(127, 0, 0, 9))));
    // RFC 7505: this domain accepts no mail.
    add("nullmx.test.", RData::MX(MX::new(0, Name::root())));
    for (owner, data) in extra {
        add(&owner, data);
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let mut server = DnsServer::new(catalog);
    server.register_socket(socket);
    (server, addr)
}

/// A port free on every loopback address the test uses.
fn port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let free =
            |i: u8, p: u16| std::net::TcpListener::bind((Ipv4Addr::new(127, 0, 0, i), p)).is_ok();
        // Relay, submission and submissions ports of the MTAs on .2 and .3;
        // the destinations' on .4 to .6.
        if (3..=6).all(|i| free(i, port)) && (2..=3).all(|i| free(i, port + 1) && free(i, port + 2))
        {
            return port;
        }
    }
}

struct Mta {
    shared: Arc<Shared>,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Mta {
    /// An MTA for `<name>.test` on 127.0.0.`ip`, with `extra` configuration
    /// (top-level TOML keys and tables, appended).
    async fn start(
        root: &Path,
        name: &str,
        ip: u8,
        port: u16,
        dns: SocketAddr,
        extra: &str,
    ) -> Mta {
        let dir = root.join(name);
        let config = format!(
            r#"
hostname = "mx.{name}.test"
shutdown_grace_secs = 1
spool = "{spool}"
maildirs = "{maildirs}"
local_domains = ["{name}.test"]
[listen]
relay = ["127.0.0.{ip}:{port}"]
submission = ["127.0.0.{ip}:{sub}"]
submissions = ["127.0.0.{ip}:{subs}"]
[tls]
self_signed = true
[[users]]
name = "alice@{name}.test"
password = "secret"
[delivery]
port = {port}
dns = "{dns}"
retry_initial_secs = 1
retry_max_secs = 2
scan_secs = 1
source = "127.0.0.{ip}"
{extra}
"#,
            spool = dir.join("spool").display(),
            maildirs = dir.join("mail").display(),
            sub = port + 1,
            subs = port + 2,
        );
        let shared = Shared::new(Config::parse(&config).unwrap()).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(smtp_mta::run(shared.clone(), async move {
            let _ = stopped.await;
        }));
        // Listening once the port answers.
        let end = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect((Ipv4Addr::new(127, 0, 0, ip), port))
            .await
            .is_err()
        {
            assert!(Instant::now() < end, "the MTA does not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Mta {
            shared,
            dir,
            stop: Some(stop),
            task,
        }
    }

    /// Submits a message as alice over 587 (STARTTLS, AUTH).
    async fn submit(&self, ip: u8, port: u16, to: &[&str], body: &str) {
        assert!(self.try_submit(ip, port, to, body).await.all_delivered());
    }

    async fn try_submit(
        &self,
        ip: u8,
        port: u16,
        to: &[&str],
        body: &str,
    ) -> smtp_proto::client::TransactionResult {
        self.submit_with(ip, port + 1, Security::StartTlsRequired, to, body)
            .await
    }

    /// Submits as alice over `security` on `port`.
    async fn submit_with(
        &self,
        ip: u8,
        port: u16,
        security: Security,
        to: &[&str],
        body: &str,
    ) -> smtp_proto::client::TransactionResult {
        let mut options = ClientOptions::new(&format!("127.0.0.{ip}"), port);
        options.security = security;
        options.trust = Trust::Insecure;
        let domain = self.shared.config.local_domains[0].clone();
        options.credentials = Some(Credentials::password(format!("alice@{domain}"), "secret"));
        let mut c = Connection::connect(&options).await.expect("submission");
        let envelope = Envelope::parse(&format!("alice@{domain}"), to.iter().copied()).unwrap();
        let result = c.send(envelope, body.as_bytes()).await.expect("accepted");
        c.quit().await.unwrap();
        result
    }

    /// The messages in `user`'s Maildir.
    fn mailbox(&self, user: &str) -> Vec<String> {
        let new = self.dir.join("mail").join(user).join("new");
        let mut files: Vec<String> = std::fs::read_dir(new)
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    async fn wait_mailbox(&self, user: &str, n: usize) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let m = self.mailbox(user);
            if m.len() >= n || Instant::now() > end {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_queue_empty(&self) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.shared.queue.list().await.unwrap().is_empty() {
            assert!(Instant::now() < end, "the queue did not drain");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

fn reject(code: u16, e: (u8, u16, u16), text: &str) -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(code).unwrap(),
        EnhancedCode::new(e.0, e.1, e.2),
        text,
    ))
}

/// A destination: refuses the first `fail` RCPTs with `code`, then accepts;
/// keeps what it accepted.
#[derive(Clone)]
struct Destination {
    rcpts: Arc<AtomicUsize>,
    fail: usize,
    code: u16,
    got: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Handler for Destination {
    const BUFFER_CONTENT: bool = true;

    async fn rcpt_to(&mut self, _: &ForwardPath<'static>, _: &RcptParameters<'static>) -> Decision {
        if self.rcpts.fetch_add(1, Ordering::SeqCst) < self.fail {
            match self.code {
                451 => reject(451, (4, 3, 0), "Try again later"),
                _ => reject(550, (5, 1, 1), "No such user here"),
            }
        } else {
            Decision::Accept
        }
    }

    async fn message(&mut self, message: &Message) -> Decision {
        self.got.lock().unwrap().push(message.content.to_vec());
        Decision::Accept
    }
}

async fn destination(ip: u8, port: u16, fail: usize, code: u16) -> Destination {
    let d = Destination {
        rcpts: Arc::default(),
        fail,
        code,
        got: Arc::default(),
    };
    let server = Server::builder(ServerConfig::new(format!("mx{ip}.test")))
        .listen(SocketAddr::from((Ipv4Addr::new(127, 0, 0, ip), port)))
        .bind()
        .await
        .unwrap();
    tokio::spawn(server.run(d.clone()));
    d
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mtas_deliver_by_mx_retry_and_bounce() {
    let root = tempfile::tempdir().unwrap();
    let (_dns, dns_addr) = dns(Vec::new()).await;
    let port = port();
    let a = Mta::start(root.path(), "a", 2, port, dns_addr, "").await;
    let b = Mta::start(root.path(), "b", 3, port, dns_addr, "").await;

    // 1. Submission on a, MX delivery to b (its first MX), local delivery
    //    on b; the queue of a drains.
    a.submit(
        2,
        port,
        &["bob@b.test"],
        "Subject: hello b\r\n\r\nfrom a to b\r\n",
    )
    .await;
    let got = b.wait_mailbox("bob", 1).await;
    assert_eq!(got.len(), 1, "b got the message");
    assert!(got[0].contains("Subject: hello b\r\n\r\nfrom a to b\r\n"));
    assert!(got[0].contains("Return-Path: <alice@a.test>"));
    // The trace: a's submission (ESMTPSA) and b's relay hop (ESMTPS: a used
    // STARTTLS), from a's source address.
    assert!(got[0].contains("by mx.a.test with ESMTPSA"), "{}", got[0]);
    assert!(
        got[0].contains("Received: from mx.a.test ([127.0.0.2])\r\n\tby mx.b.test with ESMTPS"),
        "{}",
        got[0]
    );
    a.wait_queue_empty().await;

    // Submission over implicit TLS (465) works the same.
    let r = a
        .submit_with(
            2,
            port + 2,
            Security::ImplicitTls,
            &["bob@b.test"],
            "Subject: over 465\r\n\r\nx\r\n",
        )
        .await;
    assert!(r.all_delivered());
    assert_eq!(b.wait_mailbox("bob", 2).await.len(), 2);
    // On 587, MAIL before STARTTLS and AUTH is refused.
    let tcp = tokio::net::TcpStream::connect((Ipv4Addr::new(127, 0, 0, 2), port + 1))
        .await
        .unwrap();
    let (r, mut w) = tcp.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"EHLO x.test\r\nMAIL FROM:<alice@a.test>\r\nQUIT\r\n")
        .await
        .unwrap();
    let mut replies = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        replies.push(line);
    }
    assert!(
        replies.iter().any(|l| l.starts_with("530 5.7.0")),
        "{replies:?}"
    );
    a.wait_queue_empty().await;

    // 2. Never an open relay: port 25 of a refuses a foreign domain without AUTH.
    let tcp = tokio::net::TcpStream::connect((Ipv4Addr::new(127, 0, 0, 2), port))
        .await
        .unwrap();
    let (r, mut w) = tcp.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"EHLO x.test\r\nMAIL FROM:<x@x.test>\r\nRCPT TO:<bob@b.test>\r\nRCPT TO:<carol@a.test>\r\nQUIT\r\n").await.unwrap();
    let mut replies = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        replies.push(line);
    }
    assert!(
        replies.iter().any(|l| l.starts_with("554 5.7.1")),
        "{replies:?}"
    );
    assert!(
        replies
            .iter()
            .filter(|l| l.starts_with("250 2.1.5"))
            .count()
            == 1,
        "{replies:?}"
    );

    // 3. A destination that answers 451 then 250: retried, then delivered.
    let tempfail = destination(4, port, 1, 451).await;
    // 4. One that answers 550: a bounce to the sender (local on a).
    let _rejecting = destination(5, port, usize::MAX, 550).await;
    a.submit(
        2,
        port,
        &["u@tempfail.test"],
        "Subject: retried\r\n\r\nbody\r\n",
    )
    .await;
    a.submit(
        2,
        port,
        &["u@reject.test"],
        "Subject: refused\r\n\r\nbody\r\n",
    )
    .await;
    // 5. A null MX (RFC 7505): bounced at once.
    a.submit(
        2,
        port,
        &["u@nullmx.test"],
        "Subject: null mx\r\n\r\nbody\r\n",
    )
    .await;
    wait_for("the retried message", || {
        tempfail.got.lock().unwrap().len() == 1
    })
    .await;
    assert!(tempfail.rcpts.load(Ordering::SeqCst) >= 2);
    let bounces = a.wait_mailbox("alice", 2).await;
    assert_eq!(bounces.len(), 2, "{bounces:?}");
    let rejected = bounces
        .iter()
        .find(|m| m.contains("u@reject.test"))
        .expect("the 550 bounce");
    assert!(rejected.contains("Return-Path: <>"));
    assert!(rejected.contains("Content-Type: multipart/report; report-type=delivery-status"));
    assert!(
        rejected.contains("Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 No such user here")
    );
    assert!(rejected.contains("Subject: refused"));
    let null = bounces
        .iter()
        .find(|m| m.contains("u@nullmx.test"))
        .expect("the null MX bounce");
    assert!(null.contains("Status: 5.1.10"));
    a.wait_queue_empty().await;
    let (received, delivered, deferred, bounced) = a.shared.counters.snapshot();
    // Five submissions; delivered: b's two, the retried one and the two bounces.
    assert_eq!((received, delivered, bounced), (5, 5, 2));
    assert!(deferred >= 1);

    a.stop().await;
    b.stop().await;
}

/// A destination that drops the connection in the middle of the content:
/// the message is retried and delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_data_is_retried() {
    let root = tempfile::tempdir().unwrap();
    let (_dns, dns_addr) = dns(Vec::new()).await;
    let port = port();
    let a = Mta::start(root.path(), "a", 2, port, dns_addr, "").await;
    let addr = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 6), port));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    a.submit(
        2,
        port,
        &["u@drop.test"],
        "Subject: dropped\r\n\r\nline 1\r\nline 2\r\n",
    )
    .await;
    // The first attempt: a scripted server that reads up to the content and
    // closes without answering.
    let (tcp, _) = listener.accept().await.unwrap();
    let (r, mut w) = tcp.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"220 drop.test ESMTP\r\n").await.unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        let reply: &[u8] = match line
            .split(' ')
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
            .as_str()
        {
            "EHLO" => b"250 drop.test\r\n",
            "DATA" => b"354 go on\r\n",
            "MAIL" | "RCPT" => b"250 ok\r\n",
            _ => break, // the content: drop the connection here
        };
        w.write_all(reply).await.unwrap();
    }
    drop((lines, w, listener));
    // The next attempt finds a real server.
    let dest = destination(6, port, 0, 250).await;
    wait_for("the retried message", || {
        dest.got.lock().unwrap().len() == 1
    })
    .await;
    assert!(String::from_utf8_lossy(&dest.got.lock().unwrap()[0]).contains("line 1\r\nline 2\r\n"));
    a.wait_queue_empty().await;
    a.stop().await;
}

/// A key pair made with openssl: the private key's PEM file and the public
/// key's `p=` value (SPKI DER for RSA, the raw 32 octets for Ed25519, in
/// base64, RFC 6376 §3.6.1 and RFC 8463).
fn keypair(dir: &Path, name: &str, algorithm: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.pem"));
    let mut args = vec!["genpkey", "-algorithm", algorithm, "-out"];
    let key_str = key.to_str().unwrap().to_string();
    args.push(&key_str);
    if algorithm == "RSA" {
        args.extend(["-pkeyopt", "rsa_keygen_bits:2048"]);
    }
    let out = std::process::Command::new("openssl")
        .args(&args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in", &key_str])
        .output()
        .unwrap();
    assert!(out.status.success());
    let der = if algorithm == "RSA" {
        &out.stdout[..]
    } else {
        &out.stdout[out.stdout.len() - 32..]
    };
    (key, base64(der))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn txt(owner: &str, text: &str) -> (String, RData) {
    // TXT strings are at most 255 octets each (RFC 1035 §3.3.14).
    let parts: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    (
        owner.to_string(),
        RData::TXT(hickory_proto::rr::rdata::TXT::new(parts)),
    )
}

/// dkimpy (a verifier we did not write) checks the signature of `message`,
/// given the key record `record` for any selector it asks for.
fn dkimpy_verifies(message: &str, record: &str) -> bool {
    let script = "import dkim, sys\nrecord = sys.argv[1].encode()\nmsg = sys.stdin.buffer.read()\nok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: record)\nprint('pass' if ok else 'fail')\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, record])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "pass"
}

/// DKIM signing on submission (RSA-SHA256 on a, Ed25519-SHA256 on b), SPF,
/// DKIM and DMARC checks on arrival into `Authentication-Results`, dkimpy
/// verifying both signatures, and a forged message refused by DMARC
/// `p=reject`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkim_spf_and_dmarc_between_two_mtas() {
    let works = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for (ok, what) in [
        (
            works("python3", &["-c", "import dkim, nacl"]),
            "dkimpy (pip install dkimpy pynacl)",
        ),
        (works("openssl", &["version"]), "openssl"),
    ] {
        if !ok {
            assert!(
                std::env::var_os("SMTP_INTEROP_REQUIRED").is_none(),
                "{what} is not installed"
            );
            eprintln!("SKIPPED: {what} is not installed");
            return;
        }
    }
    let root = tempfile::tempdir().unwrap();
    let (rsa_key, rsa_pub) = keypair(root.path(), "rsa", "RSA");
    let (ed_key, ed_pub) = keypair(root.path(), "ed", "ED25519");
    let rsa_record = format!("v=DKIM1; k=rsa; p={rsa_pub}");
    let ed_record = format!("v=DKIM1; k=ed25519; p={ed_pub}");
    let (_dns, dns_addr) = dns(vec![
        txt("rsa1._domainkey.a.test.", &rsa_record),
        txt("ed1._domainkey.b.test.", &ed_record),
        // Each MTA sends from its own address (`delivery.source`).
        txt("a.test.", "v=spf1 ip4:127.0.0.2 -all"),
        txt("b.test.", "v=spf1 ip4:127.0.0.3 -all"),
        txt("_dmarc.a.test.", "v=DMARC1; p=reject"),
        txt("_dmarc.b.test.", "v=DMARC1; p=reject"),
    ])
    .await;
    let port = port();
    let dkim = |domain: &str, selector: &str, key: &Path, algorithm: &str| {
        format!(
            "[[dkim]]\ndomain = \"{domain}\"\nselector = \"{selector}\"\nkey = \"{}\"\nalgorithm = \"{algorithm}\"\n",
            key.display()
        )
    };
    let a = Mta::start(
        root.path(),
        "a",
        2,
        port,
        dns_addr,
        &dkim("a.test", "rsa1", &rsa_key, "rsa-sha256"),
    )
    .await;
    let b = Mta::start(
        root.path(),
        "b",
        3,
        port,
        dns_addr,
        &dkim("b.test", "ed1", &ed_key, "ed25519-sha256"),
    )
    .await;

    let body = "From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: signed\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@a.test>\r\n\r\nHello Bob.\r\n";
    a.submit(2, port, &["bob@b.test"], body).await;
    let got = b.wait_mailbox("bob", 1).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(m.contains("DKIM-Signature: v=1; a=rsa-sha256;"), "{m}");
    let results = m
        .lines()
        .skip_while(|l| !l.starts_with("Authentication-Results:"))
        .take(8)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(results.contains("dkim=pass"), "{results}");
    assert!(results.contains("spf=pass"), "{results}");
    assert!(results.contains("dmarc=pass"), "{results}");
    assert!(
        dkimpy_verifies(m, &rsa_record),
        "dkimpy rejects the RSA signature:\n{m}"
    );

    let body =
        "From: alice@b.test\r\nTo: alice@a.test\r\nSubject: signed with ed25519\r\n\r\nHello.\r\n";
    b.submit(3, port, &["alice@a.test"], body).await;
    let got = a.wait_mailbox("alice", 1).await;
    let m = &got[0];
    assert!(m.contains("DKIM-Signature: v=1; a=ed25519-sha256;"), "{m}");
    assert!(m.contains("dkim=pass") && m.contains("dmarc=pass"), "{m}");
    assert!(
        dkimpy_verifies(m, &ed_record),
        "dkimpy rejects the Ed25519 signature:\n{m}"
    );

    // A forgery: a.test's address, from an address its SPF does not list,
    // unsigned: DMARC fails and a.test says p=reject.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 9), 0)))
        .unwrap();
    let to = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 3), port));
    let (r, mut w) = socket.connect(to).await.unwrap().into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(
        b"EHLO forger.test\r\nMAIL FROM:<alice@a.test>\r\nRCPT TO:<bob@b.test>\r\nDATA\r\n",
    )
    .await
    .unwrap();
    let mut replies = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let done = line.starts_with("354");
        replies.push(line);
        if done {
            break;
        }
    }
    w.write_all(b"From: alice@a.test\r\nSubject: forged\r\n\r\nsend money\r\n.\r\nQUIT\r\n")
        .await
        .unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        replies.push(line);
    }
    assert!(
        replies.iter().any(|l| l.starts_with("550 5.7.1")),
        "{replies:?}"
    );
    assert_eq!(b.mailbox("bob").len(), 1, "the forgery was not delivered");
    a.stop().await;
    b.stop().await;
}
