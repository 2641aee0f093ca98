//! The library client against a real Postfix smtpd, started by this test on a
//! loopback port with its own configuration and queue directories (Debian's
//! `postfix` package; its system instance is not touched): STARTTLS, BDAT and
//! SMTPUTF8 as Postfix logs them, and PIPELINING seen on the wire through a
//! recording relay. Postfix runs as root-started `master -d`, so the test
//! needs root (as CI has); otherwise it is skipped with a message, unless
//! `SMTP_INTEROP_REQUIRED` is set.

mod common;
#[path = "common/peers.rs"]
mod peers;

use std::sync::{Arc, Mutex};

use smtp_tokio::client::{ClientOptions, Connection, Security};
use smtp_tokio::proto::client::Envelope;

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
    // STARTTLS (the certificate checked against its CA), SMTPUTF8, BDAT.
    let Some(postfix) = peers::client_to_postfix(peers::tokio_session) else {
        return;
    };
    common::block_on_tokio(async {
        // PIPELINING on the wire: plaintext through a recording relay.
        let record: Record = Arc::default();
        let port = relay(postfix.port, record.clone()).await;
        let mut options = ClientOptions::new("127.0.0.1", port);
        options.security = Security::Plain;
        let mut c = Connection::connect(&options).await.unwrap();
        let envelope = Envelope::parse(
            "a@example.org",
            ["x@example.org", "y@example.org", "z@example.org"],
        )
        .unwrap();
        let result = c
            .send(envelope, &b"Subject: pipelined\r\n\r\n.dot\r\n"[..])
            .await
            .unwrap();
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
    // The pipelined message went with DATA (no CHUNKING asked for).
    postfix.wait_logged(&["< localhost[127.0.0.1]: DATA"]);
}
