//! Real peers: Postfix (smtpd, smtp-sink, smtp-source), aiosmtpd and the
//! lettre crate, started or driven for the tests of every adapter; and what
//! every adapter's client sends to Postfix and aiosmtpd and must get there.
//! Include beside `common` with `#[path = ".../common/peers.rs"] mod peers;`.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use smtp_adapter::options::{ClientOptions, Security};
use smtp_adapter::tls::Trust;
use smtp_proto::client::Envelope;
use smtp_proto::wire::sasl::Credentials;

use crate::common::{ExampleServer, peer, run, split_delivered};

/// Postfix's smtp-source sends 2,000 messages over 20 sessions; all must be
/// in the Maildir, nothing left in `tmp/`.
pub fn smtp_source_2000(server: &ExampleServer) {
    let Some(source) = peer("smtp-source") else {
        return;
    };
    let target = format!("127.0.0.1:{}", server.addr.port());
    let (status, out, err) = run(
        Command::new(source).args([
            "-m",
            "2000",
            "-s",
            "20",
            "-l",
            "2048",
            "-f",
            "source@example.org",
            "-t",
            "sink@example.org",
            "-M",
            "source.example",
            &target,
        ]),
        300,
    );
    assert!(status.success(), "smtp-source failed:\n{out}\n{err}");
    let delivered = server.wait_delivered(2000, 30);
    assert_eq!(delivered.len(), 2000);
    assert_eq!(server.in_tmp(), 0);
    for file in &delivered {
        let (headers, body) = split_delivered(file);
        assert!(headers.starts_with(
            "Return-Path: <source@example.org>\r\nDelivered-To: sink@example.org\r\n"
        ));
        assert!(body.len() >= 2048, "{}", body.len());
    }
}

/// The lettre crate sends one message (a line starting with a dot inside).
pub fn lettre_sends(server: &ExampleServer) {
    use lettre::{Message, SmtpTransport, Transport};
    let email = Message::builder()
        .from("Lettre <lettre@example.org>".parse().unwrap())
        .to("Someone <someone@example.org>".parse().unwrap())
        .subject("from lettre")
        .body(String::from("Hello from lettre\n.with a dot\n"))
        .unwrap();
    let mailer = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(server.addr.port())
        .build();
    mailer.send(&email).expect("lettre sent");
    let delivered = server.wait_delivered(1, 10);
    let text = String::from_utf8_lossy(&delivered[0]).into_owned();
    assert!(
        text.starts_with(
            "Return-Path: <lettre@example.org>\r\nDelivered-To: someone@example.org\r\n"
        ),
        "{text}"
    );
    assert!(text.contains("Subject: from lettre\r\n"), "{text}");
    assert!(text.contains("\r\n.with a dot\r\n"), "{text}");
}

const MASTER: &str = "/usr/lib/postfix/sbin/master";

/// A Postfix smtpd on a loopback port, with its own configuration and queue
/// in a temporary directory (the system instance is not touched), verbose
/// logging of the dialogue to a file, and every message discarded after it
/// is queued. Needs root.
pub struct Postfix {
    master: Child,
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its certificate (PEM), the CA to trust.
    pub cert: PathBuf,
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // SIGTERM: master stops its children and exits.
        let _ = Command::new("kill")
            .args(["-TERM", &self.master.id().to_string()])
            .status();
        for _ in 0..100 {
            if self.master.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.master.kill();
    }
}

fn skip(why: &str) -> Option<Postfix> {
    assert!(
        std::env::var_os("SMTP_INTEROP_REQUIRED").is_none(),
        "cannot run Postfix: {why}"
    );
    eprintln!("SKIPPED: cannot run Postfix: {why}");
    None
}

fn chown(path: &Path, owner: &str) {
    let ok = Command::new("chown")
        .arg(owner)
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "chown {owner} {}", path.display());
}

impl Postfix {
    /// Starts it; `None` (skipped, with a message) without root or Postfix,
    /// unless `SMTP_INTEROP_REQUIRED` is set.
    pub fn start() -> Option<Postfix> {
        crate::common::peer("postconf")?;
        if !Path::new(MASTER).is_file() {
            return skip("no master daemon");
        }
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default();
        if uid != b"0\n" {
            return skip("not root");
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (cert, key) = crate::common::certificate(root);
        let queue = root.join("queue");
        for d in [
            "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
            "private", "saved", "trace",
        ] {
            let p = queue.join(d);
            std::fs::create_dir_all(&p).unwrap();
            chown(&p, "postfix");
        }
        for (d, owner, mode) in [
            ("pid", "root", 0o755),
            ("maildrop", "postfix:postdrop", 0o730),
            ("public", "postfix:postdrop", 0o710),
        ] {
            let p = queue.join(d);
            std::fs::create_dir_all(&p).unwrap();
            chown(&p, owner);
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap();
        }
        std::fs::create_dir_all(root.join("data")).unwrap();
        chown(&root.join("data"), "postfix");
        let r = root.display();
        std::fs::write(
            root.join("main.cf"),
            format!(
                "compatibility_level = 3.6\n\
                 queue_directory = {r}/queue\n\
                 data_directory = {r}/data\n\
                 mail_owner = postfix\n\
                 setgid_group = postdrop\n\
                 inet_interfaces = 127.0.0.1\n\
                 inet_protocols = ipv4\n\
                 myhostname = postfix.test\n\
                 mydestination =\n\
                 mynetworks = 127.0.0.0/8\n\
                 default_transport = discard\n\
                 relay_transport = discard\n\
                 smtpd_tls_cert_file = {}\n\
                 smtpd_tls_key_file = {}\n\
                 smtpd_tls_security_level = may\n\
                 smtputf8_enable = yes\n\
                 maillog_file_prefixes = {r}\n\
                 maillog_file = {r}/maillog\n\
                 debug_peer_list = 127.0.0.1\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        // The system master.cf, with smtpd on our port and nothing chrooted.
        let master_cf = std::fs::read_to_string("/etc/postfix/master.cf").unwrap();
        let mut out = String::new();
        for line in master_cf.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if line.starts_with('#') || line.starts_with(' ') || fields.len() < 8 {
                out.push_str(line);
            } else if fields[0] == "smtp" && fields[1] == "inet" {
                out.push_str(&format!("127.0.0.1:{port} inet n - n - - smtpd"));
            } else {
                let mut f = fields.clone();
                f[4] = "n";
                out.push_str(&f.join(" "));
            }
            out.push('\n');
        }
        std::fs::write(root.join("master.cf"), out).unwrap();
        let master = Command::new(MASTER)
            .arg("-c")
            .arg(root)
            .arg("-d")
            .spawn()
            .unwrap();
        let mut postfix = Postfix {
            master,
            dir,
            port,
            cert,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(postfix);
            }
            if let Ok(Some(status)) = postfix.master.try_wait() {
                panic!("postfix master exited: {status}; log: {}", postfix.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("postfix did not listen on {port}: {}", postfix.log());
    }

    /// smtpd's verbose log of the dialogue.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// Waits (up to 10 s) until the log has each of `expected`: smtpd's
    /// lines reach the file through postlogd, a moment after the client
    /// has its reply.
    pub fn wait_logged(&self, expected: &[&str]) {
        let end = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            let Some(missing) = expected.iter().find(|e| !log.contains(*e)) else {
                return;
            };
            assert!(
                std::time::Instant::now() < end,
                "Postfix did not log {missing:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// aiosmtpd (Python) as a server: STARTTLS required, AUTH `user`/`pass`
/// required, messages stored as `spool/<n>.eml`.
pub struct Aiosmtpd {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its certificate (PEM), the CA to trust.
    pub cert: PathBuf,
    /// Where it stores messages.
    pub spool: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Aiosmtpd {
    /// Starts it; `None` (skipped) without Python or aiosmtpd, unless
    /// `SMTP_INTEROP_REQUIRED` is set.
    pub fn start() -> Option<Aiosmtpd> {
        use std::io::BufRead;
        if crate::common::peer("python3").is_none() || !crate::common::python_module("aiosmtpd") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = crate::common::certificate(dir.path());
        let spool = dir.path().join("spool");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../smtp-tokio/tests/peers/aiosmtpd_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&cert)
            .arg(&key)
            .arg(&spool)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("aiosmtpd");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        Some(Aiosmtpd {
            child,
            port,
            cert,
            spool,
            _dir: dir,
        })
    }
}

/// How a test runs a session of its library client: connect with the
/// options (TLS checked), send the message, every recipient accepted, QUIT.
pub trait Session: FnMut(&ClientOptions, Envelope, &[u8]) {}
impl<F: FnMut(&ClientOptions, Envelope, &[u8])> Session for F {}

/// A [`Session`] of smtp-tokio's client.
pub fn tokio_session(options: &ClientOptions, envelope: Envelope, message: &[u8]) {
    crate::common::block_on_tokio(async {
        let mut c = smtp_tokio::client::Connection::connect(options)
            .await
            .expect("connect, STARTTLS (and AUTH)");
        assert!(c.is_tls());
        let result = c.send(envelope, message).await.unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().await.unwrap();
    });
}

/// A library client against a real Postfix smtpd: `session` sends
/// [`postfix_envelope`] and [`POSTFIX_MESSAGE`] with [`postfix_options`],
/// then Postfix's log must show STARTTLS, SMTPUTF8 and BDAT. Returns
/// Postfix, still running, for more; `None` where it cannot run (see
/// [`Postfix::start`]).
pub fn client_to_postfix(mut session: impl Session) -> Option<Postfix> {
    let postfix = Postfix::start()?;
    session(
        &postfix_options(&postfix),
        postfix_envelope(),
        POSTFIX_MESSAGE,
    );
    postfix_logged_starttls_smtputf8_bdat(&postfix);
    Some(postfix)
}

/// A library client against aiosmtpd: `session` sends
/// [`aiosmtpd_envelope`] and [`AIOSMTPD_MESSAGE`] with [`aiosmtpd_options`]
/// (STARTTLS, AUTH), then aiosmtpd must have stored it as sent. Returns
/// aiosmtpd, still running, for more; `None` where it is missing.
pub fn client_to_aiosmtpd(mut session: impl Session) -> Option<Aiosmtpd> {
    let aiosmtpd = Aiosmtpd::start()?;
    session(
        &aiosmtpd_options(&aiosmtpd),
        aiosmtpd_envelope(),
        AIOSMTPD_MESSAGE,
    );
    aiosmtpd_stored(&aiosmtpd);
    Some(aiosmtpd)
}

/// A client's options for [`Postfix`]: STARTTLS required (its certificate
/// checked against its CA), CHUNKING on.
pub fn postfix_options(postfix: &Postfix) -> ClientOptions {
    let mut options = ClientOptions::new("localhost", postfix.port);
    options.security = Security::StartTlsRequired;
    options.trust = Trust::ca_file(&postfix.cert).unwrap();
    options.chunking = true;
    options
}

/// What every client sends to Postfix (with [`postfix_options`]): a UTF-8
/// sender (SMTPUTF8) and recipient, and [`POSTFIX_MESSAGE`].
pub fn postfix_envelope() -> Envelope {
    Envelope::parse("jörg@example.org", ["b@example.org", "ü@example.org"]).unwrap()
}

/// The 30-octet message of [`postfix_envelope`].
pub const POSTFIX_MESSAGE: &[u8] = b"Subject: to postfix\r\n\r\nhello\r\n";

/// What every client must show against Postfix: STARTTLS, SMTPUTF8 and BDAT
/// as Postfix logs them (after a client sent [`postfix_envelope`] and
/// [`POSTFIX_MESSAGE`] with [`postfix_options`]).
pub fn postfix_logged_starttls_smtputf8_bdat(postfix: &Postfix) {
    postfix.wait_logged(&[
        "< localhost[127.0.0.1]: STARTTLS",
        "< localhost[127.0.0.1]: MAIL FROM:<jörg@example.org> SMTPUTF8",
        "< localhost[127.0.0.1]: RCPT TO:<ü@example.org>",
        "< localhost[127.0.0.1]: BDAT 30 LAST",
        "> localhost[127.0.0.1]: 250 2.0.0 Ok: 30 bytes queued as",
    ]);
}

/// A client's options for [`Aiosmtpd`]: STARTTLS required (its certificate
/// checked against its CA), AUTH `user`/`pass`.
pub fn aiosmtpd_options(aiosmtpd: &Aiosmtpd) -> ClientOptions {
    let mut options = ClientOptions::new("localhost", aiosmtpd.port);
    options.security = Security::StartTlsRequired;
    options.trust = Trust::ca_file(&aiosmtpd.cert).unwrap();
    options.credentials = Some(Credentials::password("user", "pass"));
    options
}

/// What every client sends to aiosmtpd (with [`aiosmtpd_options`]): two
/// recipients and [`AIOSMTPD_MESSAGE`].
pub fn aiosmtpd_envelope() -> Envelope {
    Envelope::parse("a@example.org", ["b@example.org", "c@example.org"]).unwrap()
}

/// The message of [`aiosmtpd_envelope`]: a line starting with a dot.
pub const AIOSMTPD_MESSAGE: &[u8] = b"Subject: aiosmtpd\r\n\r\n.dot\r\nhello\r\n";

/// aiosmtpd stored [`AIOSMTPD_MESSAGE`] (its first message) as sent.
pub fn aiosmtpd_stored(aiosmtpd: &Aiosmtpd) {
    let got = std::fs::read(aiosmtpd.spool.join("0.eml")).expect("aiosmtpd stored the message");
    assert!(
        got.ends_with(AIOSMTPD_MESSAGE),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

/// Postfix's smtp-sink on a free loopback port, dumping each message into a
/// file of `dir` (`-d DIR/%M`). A port picked free can be taken by another
/// test before smtp-sink binds it: then smtp-sink exits, and it is started
/// again on another port.
pub struct SmtpSink {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    /// Starts it, dumping into `dir` (made writable for the `nobody` user it
    /// runs as); `None` (skipped) without Postfix, unless
    /// `SMTP_INTEROP_REQUIRED` is set.
    pub fn start(dir: &Path) -> Option<SmtpSink> {
        let sink = crate::common::peer("smtp-sink")?;
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(&sink)
                .args(["-u", "nobody", "-d"])
                .arg(dir.join("%M"))
                .arg(format!("127.0.0.1:{port}"))
                .arg("100")
                .spawn()
                .expect("smtp-sink");
            let end = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                if child.try_wait().ok().flatten().is_some() {
                    break; // lost the port: try another
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Ours, and still running after the connection?
                    std::thread::sleep(Duration::from_millis(20));
                    if child.try_wait().ok().flatten().is_none() {
                        return Some(SmtpSink { child, port });
                    }
                    break;
                }
                assert!(
                    std::time::Instant::now() < end,
                    "smtp-sink did not listen on {port}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("smtp-sink could not be started");
    }
}
