//! Delivery into a Maildir: a [`Handler`] that writes each accepted message
//! to `DIR/tmp/`, syncs it to disk and renames it into `DIR/new/` before the
//! `250` goes out (RFC 5321 §6.1: accepting a message takes responsibility
//! for it).

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, HelloKind, ServerEvent};
use smtp_proto::wire::command::HeloName;
use smtp_proto::wire::path::ForwardPath;
use smtp_proto::wire::sasl::{Credentials, Mechanism};
use tokio::io::AsyncWriteExt;
use tracing::warn;

use crate::server::{ConnectionInfo, Envelope, Handler, Message};

/// Delivers every message into one Maildir (`tmp/`, `new/`, `cur/`).
///
/// Each file is `Return-Path: <SENDER>`, one `Delivered-To: RCPT` per
/// accepted recipient in envelope order, a `Received:` trace header (RFC 5321
/// §4.4), then the message exactly as received (dot-unstuffed, CRLF kept).
/// A failed write answers `451 4.3.0` and leaves nothing behind, nor does a
/// client that disconnects before the end of its message.
///
/// It accepts every sender and recipient and refuses AUTH; wrap it in a
/// handler of your own for policy (it is a [`Handler`], so delegate to it).
#[derive(Debug, Clone)]
pub struct Maildir {
    shared: Arc<Shared>,
    conn: ConnState,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    hostname: String,
}

/// What the connection said so far, for the trace header.
#[derive(Debug, Clone, Default)]
struct ConnState {
    peer: Option<IpAddr>,
    helo: Option<(HelloKind, String)>,
    tls: bool,
    authenticated: bool,
    current: Option<Arc<tokio::sync::Mutex<Delivery>>>,
}

/// The message being written.
#[derive(Debug)]
struct Delivery {
    tmp: PathBuf,
    name: String,
    file: Option<tokio::fs::File>,
    failed: bool,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        // Not renamed into new/: the message was not accepted.
        if self.file.is_some() || self.failed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Maildir {
    /// A Maildir at `dir`, created with `tmp/`, `new/` and `cur/` if missing.
    /// `hostname` names this server in the trace header and in file names.
    pub fn new(dir: impl Into<PathBuf>, hostname: &str) -> io::Result<Maildir> {
        let dir = dir.into();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        // File names must not contain '/' or ':' (the Maildir info separator).
        let hostname = hostname.replace(['/', ':'], "_");
        Ok(Maildir {
            shared: Arc::new(Shared { dir, hostname }),
            conn: ConnState::default(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    fn unique_name(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed),
            self.shared.hostname
        )
    }

    /// `with` of the trace header (RFC 3848).
    fn protocol(&self) -> String {
        let base = match self.conn.helo.as_ref().map(|h| h.0) {
            Some(HelloKind::Helo) => "SMTP",
            Some(HelloKind::Lhlo) => "LMTP",
            _ => "ESMTP",
        };
        let mut with = base.to_string();
        if base != "SMTP" {
            if self.conn.tls {
                with.push('S');
            }
            if self.conn.authenticated {
                with.push('A');
            }
        }
        with
    }

    fn header(&self, envelope: &Envelope, id: &str) -> String {
        let mut h = format!("Return-Path: {}\r\n", envelope.sender);
        for rcpt in &envelope.recipients {
            let bare = match rcpt {
                ForwardPath::Mailbox(m) => m.to_string(),
                other => other.to_string().trim_matches(['<', '>']).to_string(),
            };
            h.push_str(&format!("Delivered-To: {bare}\r\n"));
        }
        let helo = self.conn.helo.as_ref().map_or("unknown", |h| h.1.as_str());
        let peer = self
            .conn
            .peer
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        h.push_str(&format!(
            "Received: from {helo} ([{peer}])\r\n\tby {} with {} id {id};\r\n\t{}\r\n",
            self.shared.hostname,
            self.protocol(),
            rfc5322_date(SystemTime::now())
        ));
        h
    }

    async fn start(&mut self, envelope: &Envelope) -> io::Result<()> {
        let name = self.unique_name();
        let tmp = self.shared.dir.join("tmp").join(&name);
        let header = self.header(envelope, &name);
        let delivery = Arc::new(tokio::sync::Mutex::new(Delivery {
            tmp: tmp.clone(),
            name,
            file: None,
            failed: false,
        }));
        self.conn.current = Some(delivery.clone());
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await?;
        let mut d = delivery.lock().await;
        d.failed = true; // until the header is written
        file.write_all(header.as_bytes()).await?;
        d.file = Some(file);
        d.failed = false;
        Ok(())
    }

    async fn finish(&mut self) -> io::Result<()> {
        let delivery = self
            .conn
            .current
            .take()
            .ok_or_else(|| io::Error::other("no message in progress"))?;
        let mut d = delivery.lock().await;
        if d.failed {
            return Err(io::Error::other("an earlier write failed"));
        }
        let mut file = d.file.take().ok_or_else(|| io::Error::other("no file"))?;
        d.failed = true; // removed on drop unless renamed below
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let new = self.shared.dir.join("new").join(&d.name);
        tokio::fs::rename(&d.tmp, &new).await?;
        d.failed = false;
        // The rename itself is durable once the directory is synced.
        let dir = self.shared.dir.join("new");
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
            .await
            .map_err(io::Error::other)??;
        Ok(())
    }
}

/// `451 4.3.0`: the message is not taken; the client tries again later.
fn write_error() -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(451).expect("a reply code"),
        EnhancedCode::new(4, 3, 0),
        "Error: queue file write error",
    ))
}

impl Handler for Maildir {
    async fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        self.conn = ConnState {
            peer: Some(info.peer.ip()),
            tls: info.implicit_tls,
            ..ConnState::default()
        };
        Decision::Accept
    }

    async fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.conn.helo = Some((kind, name.to_string()));
        Decision::Accept
    }

    async fn auth(&mut self, _: &Mechanism<'static>, _: &Credentials) -> Decision {
        Decision::Reject(Reply::new(
            ReplyCode::new(535).expect("a reply code"),
            EnhancedCode::new(5, 7, 8),
            "Error: authentication failed",
        ))
    }

    async fn data_start(&mut self, envelope: &Envelope) -> Decision {
        match self.start(envelope).await {
            Ok(()) => Decision::Accept,
            Err(e) => {
                warn!(error = %e, dir = %self.shared.dir.display(), "cannot write to the Maildir");
                self.conn.current = None;
                write_error()
            }
        }
    }

    async fn data(&mut self, piece: Bytes) {
        let Some(delivery) = self.conn.current.clone() else {
            return;
        };
        let mut d = delivery.lock().await;
        if d.failed {
            return;
        }
        let result = match d.file.as_mut() {
            Some(file) => file.write_all(&piece).await,
            None => Err(io::Error::other("no file")),
        };
        if let Err(e) = result {
            warn!(error = %e, "Maildir write failed");
            d.failed = true;
        }
    }

    async fn message(&mut self, _: &Message) -> Decision {
        match self.finish().await {
            Ok(()) => Decision::Accept,
            Err(e) => {
                warn!(error = %e, "Maildir delivery failed");
                write_error()
            }
        }
    }

    async fn notice(&mut self, event: &ServerEvent) {
        match event {
            // The content so far is forgotten: the file goes (on drop).
            ServerEvent::TransactionReset | ServerEvent::TransactionFinished => {
                self.conn.current = None;
            }
            ServerEvent::TlsEstablished => {
                self.conn.tls = true;
                self.conn.helo = None;
                self.conn.authenticated = false;
            }
            _ => {}
        }
    }
}

impl Maildir {
    /// Records that the client authenticated (for the `A` of `ESMTPA`), for a
    /// handler that checks credentials and delegates the rest here.
    pub fn set_authenticated(&mut self) {
        self.conn.authenticated = true;
    }
}

/// An RFC 5322 §3.3 date in UTC: `Sun, 06 Dec 2026 07:50:48 +0000`.
pub(crate) fn rfc5322_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::wire::path::ReversePath;
    use std::time::Duration;

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_543_448);
        assert_eq!(rfc5322_date(t), "Sun, 06 Dec 2026 07:50:48 +0000");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc5322_date(leap), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn null_sender_keeps_its_brackets() {
        let m = Maildir::new(tempfile::tempdir().unwrap().path(), "mx").unwrap();
        let envelope = Envelope {
            sender: ReversePath::Null,
            recipients: vec![ForwardPath::Postmaster],
        };
        let h = m.header(&envelope, "id");
        assert!(
            h.starts_with("Return-Path: <>\r\nDelivered-To: Postmaster\r\nReceived: from unknown")
        );
    }
}
