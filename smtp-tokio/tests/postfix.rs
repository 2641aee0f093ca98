//! The library client against a real Postfix smtpd, started by this test on a
//! loopback port with its own configuration and queue directories (Debian's
//! `postfix` package; its system instance is not touched): STARTTLS, BDAT and
//! SMTPUTF8 as Postfix logs them, and PIPELINING seen on the wire through a
//! recording relay. Postfix runs as root-started `master -d`, so the test
//! needs root (as CI has); otherwise it is skipped with a message, unless
//! `SMTP_INTEROP_REQUIRED` is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtp_tokio::client::{ClientOptions, Connection, Security};
use smtp_tokio::proto::client::Envelope;
use smtp_tokio::tls::Trust;

const MASTER: &str = "/usr/lib/postfix/sbin/master";

struct Postfix {
    master: Child,
    dir: tempfile::TempDir,
    port: u16,
    cert: PathBuf,
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
    fn start() -> Option<Postfix> {
        common::peer("postconf")?;
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
        let (cert, key) = common::certificate(root);
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
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

/// What went through the relay, in the order the relay saw it.
type Record = Arc<Mutex<Vec<(bool, Vec<u8>)>>>;

/// A TCP relay to `target` that records each read: (from the client?, bytes).
async fn relay(target: u16, record: Record) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
            .await
            .unwrap();
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let pump = |from_client: bool,
                    mut r: tokio::net::tcp::OwnedReadHalf,
                    mut w: tokio::net::tcp::OwnedWriteHalf,
                    record: Record| async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = vec![0u8; 65536];
            loop {
                let n = r.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    let _ = w.shutdown().await;
                    return;
                }
                // Recorded before it is passed on: the order is the wire's.
                record
                    .lock()
                    .unwrap()
                    .push((from_client, buf[..n].to_vec()));
                if w.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        };
        let a = tokio::spawn(pump(true, cr, sw, record.clone()));
        let b = tokio::spawn(pump(false, sr, cw, record));
        let _ = tokio::join!(a, b);
    });
    port
}

#[test]
fn library_client_against_a_real_postfix_smtpd() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // STARTTLS (the certificate checked against its CA), SMTPUTF8, BDAT.
        let mut options = ClientOptions::new("localhost", postfix.port);
        options.security = Security::StartTlsRequired;
        options.trust = Trust::ca_file(&postfix.cert).unwrap();
        options.chunking = true;
        let mut c = Connection::connect(&options).await.expect("STARTTLS with Postfix");
        assert!(c.is_tls());
        let envelope = Envelope::parse("jörg@example.org", ["b@example.org", "ü@example.org"]).unwrap();
        let result = c.send(envelope, &b"Subject: to postfix\r\n\r\nhello\r\n"[..]).await.unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().await.unwrap();

        // PIPELINING on the wire: plaintext through a recording relay.
        let record: Record = Arc::default();
        let port = relay(postfix.port, record.clone()).await;
        let mut options = ClientOptions::new("127.0.0.1", port);
        options.security = Security::Plain;
        let mut c = Connection::connect(&options).await.unwrap();
        let envelope = Envelope::parse("a@example.org", ["x@example.org", "y@example.org", "z@example.org"]).unwrap();
        let result = c.send(envelope, &b"Subject: pipelined\r\n\r\n.dot\r\n"[..]).await.unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().await.unwrap();
        let record = record.lock().unwrap().clone();
        let client_text = |i: usize| String::from_utf8_lossy(&record[i].1).into_owned();
        let group = (0..record.len())
            .find(|&i| record[i].0 && client_text(i).contains("MAIL FROM:<a@example.org>"))
            .expect("MAIL went out");
        let text = client_text(group);
        assert!(
            text.contains("RCPT TO:<x@example.org>\r\nRCPT TO:<y@example.org>\r\nRCPT TO:<z@example.org>\r\nDATA\r\n"),
            "MAIL, RCPT and DATA were not one pipelined group: {text:?}"
        );
    });
    let log = postfix.log();
    for expected in [
        "< localhost[127.0.0.1]: STARTTLS",
        "< localhost[127.0.0.1]: MAIL FROM:<jörg@example.org> SMTPUTF8",
        "< localhost[127.0.0.1]: RCPT TO:<ü@example.org>",
        "< localhost[127.0.0.1]: BDAT 30 LAST",
        "> localhost[127.0.0.1]: 250 2.0.0 Ok: 30 bytes queued as",
        "< localhost[127.0.0.1]: DATA",
    ] {
        assert!(log.contains(expected), "Postfix did not log {expected:?}");
    }
}
