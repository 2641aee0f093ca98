//! Delivery into a Maildir: [`Maildir`] is a [`Handler`] (and a
//! [`SyncHandler`]) that writes each
//! accepted message to `DIR/tmp/`, syncs it to disk and renames it into
//! `DIR/new/` before the `250` goes out (RFC 5321 §6.1: accepting a message
//! takes responsibility for it).
//!
//! The file work is plain `std::fs` ([`MaildirStore`] and [`Delivery`]); the
//! asynchronous [`Handler`] runs it on the `blocking` crate's thread pool, so
//! it works the same under every runtime, and a blocking adapter calls it
//! directly.

use std::fs::File;
use std::io::{self, Write};
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
use tracing::warn;

use crate::handler::{ConnectionInfo, Envelope, Handler, Message, SyncHandler};

/// A Maildir on disk: `tmp/`, `new/` and `cur/` under one directory.
#[derive(Debug)]
pub struct MaildirStore {
    dir: PathBuf,
    hostname: String,
}

/// What a connection said so far, for the `Received:` trace header.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// The client's address.
    pub peer: Option<IpAddr>,
    /// HELO, EHLO or LHLO and the name given.
    pub helo: Option<(HelloKind, String)>,
    /// Whether TLS is up.
    pub tls: bool,
    /// Whether the client authenticated.
    pub authenticated: bool,
}

impl Trace {
    /// `with` of the trace header (RFC 3848): SMTP, ESMTP or LMTP, with `S`
    /// for TLS and `A` for AUTH.
    pub fn protocol(&self) -> String {
        let base = match self.helo.as_ref().map(|h| h.0) {
            Some(HelloKind::Helo) => "SMTP",
            Some(HelloKind::Lhlo) => "LMTP",
            _ => "ESMTP",
        };
        let mut with = base.to_string();
        if base != "SMTP" {
            if self.tls {
                with.push('S');
            }
            if self.authenticated {
                with.push('A');
            }
        }
        with
    }

    /// Adjusts to an event: after TLS, everything said before is forgotten.
    pub fn notice(&mut self, event: &ServerEvent) {
        if matches!(event, ServerEvent::TlsEstablished) {
            self.tls = true;
            self.helo = None;
            self.authenticated = false;
        }
    }
}

/// One message being written into `tmp/`. Dropped before
/// [`Delivery::commit`], it removes its file: nothing is left behind.
#[derive(Debug)]
pub struct Delivery {
    tmp: PathBuf,
    new: PathBuf,
    file: Option<File>,
    failed: bool,
    committed: bool,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl Delivery {
    /// Appends content. After a failed write every later one is skipped and
    /// [`Delivery::commit`] fails.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write failed"));
        }
        let result = match self.file.as_mut() {
            Some(file) => file.write_all(bytes),
            None => Err(io::Error::other("no file")),
        };
        self.failed = result.is_err();
        result
    }

    /// Syncs the file, renames it into `new/` and syncs the directory: the
    /// message is safe once this returns.
    pub fn commit(mut self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write failed"));
        }
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("no file"))?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.new)?;
        self.committed = true;
        if let Some(dir) = self.new.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl MaildirStore {
    /// A Maildir at `dir`, created with `tmp/`, `new/` and `cur/` if missing.
    /// `hostname` names this server in the trace header and in file names.
    pub fn new(dir: impl Into<PathBuf>, hostname: &str) -> io::Result<MaildirStore> {
        let dir = dir.into();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        // File names must not contain '/' or ':' (the Maildir info separator).
        let hostname = hostname.replace(['/', ':'], "_");
        Ok(MaildirStore { dir, hostname })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
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
            self.hostname
        )
    }

    /// `Return-Path: <SENDER>`, one `Delivered-To: RCPT` per recipient in
    /// envelope order (the bare address), and a `Received:` trace header
    /// (RFC 5321 §4.4) with the date.
    pub fn header(&self, envelope: &Envelope, trace: &Trace, id: &str) -> String {
        let mut h = format!("Return-Path: {}\r\n", envelope.sender);
        for rcpt in &envelope.recipients {
            let bare = match rcpt {
                ForwardPath::Mailbox(m) => m.to_string(),
                other => other.to_string().trim_matches(['<', '>']).to_string(),
            };
            h.push_str(&format!("Delivered-To: {bare}\r\n"));
        }
        let helo = trace.helo.as_ref().map_or("unknown", |h| h.1.as_str());
        let peer = trace
            .peer
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        h.push_str(&format!(
            "Received: from {helo} ([{peer}])\r\n\tby {} with {} id {id};\r\n\t{}\r\n",
            self.hostname,
            trace.protocol(),
            rfc5322_date(SystemTime::now())
        ));
        h
    }

    /// Starts a message: creates its file in `tmp/` and writes the header.
    pub fn begin(&self, envelope: &Envelope, trace: &Trace) -> io::Result<Delivery> {
        let name = self.unique_name();
        let mut delivery = Delivery {
            tmp: self.dir.join("tmp").join(&name),
            new: self.dir.join("new").join(&name),
            file: None,
            failed: false,
            committed: true, // nothing to remove until the file exists
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&delivery.tmp)?;
        delivery.committed = false;
        delivery.file = Some(file);
        delivery.write(self.header(envelope, trace, &name).as_bytes())?;
        Ok(delivery)
    }
}

/// Delivers every message into one Maildir, as the asynchronous [`Handler`]
/// of one connection (clone it per connection, as servers do).
///
/// It accepts every sender and recipient and refuses AUTH; wrap it in a
/// handler of your own for policy (delegate to it). A failed write answers
/// `451 4.3.0` and leaves nothing behind, nor does a client that disconnects
/// before the end of its message.
#[derive(Debug)]
pub struct Maildir {
    store: Arc<MaildirStore>,
    trace: Trace,
    current: Option<Delivery>,
}

impl Clone for Maildir {
    /// A handler for a new connection: the same store, nothing in progress.
    fn clone(&self) -> Self {
        Maildir {
            store: self.store.clone(),
            trace: self.trace.clone(),
            current: None,
        }
    }
}

impl Maildir {
    /// A Maildir at `dir` (see [`MaildirStore::new`]).
    pub fn new(dir: impl Into<PathBuf>, hostname: &str) -> io::Result<Maildir> {
        Ok(Maildir {
            store: Arc::new(MaildirStore::new(dir, hostname)?),
            trace: Trace::default(),
            current: None,
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<MaildirStore> {
        &self.store
    }

    /// Records that the client authenticated (for the `A` of `ESMTPA`), for a
    /// handler that checks credentials and delegates the rest here.
    pub fn set_authenticated(&mut self) {
        self.trace.authenticated = true;
    }
}

/// `451 4.3.0`: the message is not taken; the client tries again later.
pub fn write_error() -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(451).expect("a reply code"),
        EnhancedCode::new(4, 3, 0),
        "Error: queue file write error",
    ))
}

/// `535 5.7.8`: what a handler that knows nobody answers to AUTH.
pub fn auth_failed() -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(535).expect("a reply code"),
        EnhancedCode::new(5, 7, 8),
        "Error: authentication failed",
    ))
}

// The bodies both handler impls share: the asynchronous one runs the file
// work on the `blocking` crate's pool, the synchronous one calls it directly.
impl Maildir {
    fn on_connect(&mut self, info: &ConnectionInfo) -> Decision {
        self.trace = Trace {
            peer: Some(info.peer.ip()),
            tls: info.implicit_tls,
            ..Trace::default()
        };
        Decision::Accept
    }

    fn on_hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.trace.helo = Some((kind, name.to_string()));
        Decision::Accept
    }

    /// What to begin a delivery with: the store, the envelope and the trace.
    fn begin_args(&self, envelope: &Envelope) -> (Arc<MaildirStore>, Envelope, Trace) {
        (self.store.clone(), envelope.clone(), self.trace.clone())
    }

    fn began(&mut self, result: io::Result<Delivery>) -> Decision {
        match result {
            Ok(delivery) => {
                self.current = Some(delivery);
                Decision::Accept
            }
            Err(e) => {
                warn!(error = %e, dir = %self.store.dir().display(), "cannot write to the Maildir");
                write_error()
            }
        }
    }

    fn on_notice(&mut self, event: &ServerEvent) {
        // The content so far is forgotten: the file goes (on drop).
        if matches!(
            event,
            ServerEvent::TransactionReset | ServerEvent::TransactionFinished
        ) {
            self.current = None;
        }
        self.trace.notice(event);
    }
}

fn begin(store: &MaildirStore, envelope: &Envelope, trace: &Trace) -> io::Result<Delivery> {
    store.begin(envelope, trace)
}

fn write_piece(mut delivery: Delivery, piece: &[u8]) -> Delivery {
    if let Err(e) = delivery.write(piece) {
        warn!(error = %e, "Maildir write failed");
    }
    delivery
}

fn commit(delivery: Option<Delivery>) -> Decision {
    let Some(delivery) = delivery else {
        return write_error();
    };
    match delivery.commit() {
        Ok(()) => Decision::Accept,
        Err(e) => {
            warn!(error = %e, "Maildir delivery failed");
            write_error()
        }
    }
}

impl Handler for Maildir {
    async fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        self.on_connect(info)
    }

    async fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.on_hello(kind, name)
    }

    async fn auth(&mut self, _: &Mechanism<'static>, _: &Credentials) -> Decision {
        auth_failed()
    }

    async fn data_start(&mut self, envelope: &Envelope) -> Decision {
        let (store, envelope, trace) = self.begin_args(envelope);
        let result = blocking::unblock(move || begin(&store, &envelope, &trace)).await;
        self.began(result)
    }

    async fn data(&mut self, piece: Bytes) {
        let Some(delivery) = self.current.take() else {
            return;
        };
        self.current = Some(blocking::unblock(move || write_piece(delivery, &piece)).await);
    }

    async fn message(&mut self, _: &Message) -> Decision {
        let delivery = self.current.take();
        blocking::unblock(move || commit(delivery)).await
    }

    async fn notice(&mut self, event: &ServerEvent) {
        self.on_notice(event);
    }
}

/// The same as the asynchronous [`Handler`], with the file work done on the
/// calling (worker) thread.
impl SyncHandler for Maildir {
    fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        self.on_connect(info)
    }

    fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.on_hello(kind, name)
    }

    fn auth(&mut self, _: &Mechanism<'static>, _: &Credentials) -> Decision {
        auth_failed()
    }

    fn data_start(&mut self, envelope: &Envelope) -> Decision {
        let result = begin(&self.store, envelope, &self.trace);
        self.began(result)
    }

    fn data(&mut self, piece: Bytes) {
        if let Some(delivery) = self.current.take() {
            self.current = Some(write_piece(delivery, &piece));
        }
    }

    fn message(&mut self, _: &Message) -> Decision {
        commit(self.current.take())
    }

    fn notice(&mut self, event: &ServerEvent) {
        self.on_notice(event);
    }
}

/// An RFC 5322 §3.3 date in UTC: `Sun, 06 Dec 2026 07:50:48 +0000`.
pub fn rfc5322_date(t: SystemTime) -> String {
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
        let dir = tempfile::tempdir().unwrap();
        let m = MaildirStore::new(dir.path(), "mx").unwrap();
        let envelope = Envelope {
            sender: ReversePath::Null,
            recipients: vec![ForwardPath::Postmaster],
        };
        let h = m.header(&envelope, &Trace::default(), "id");
        assert!(
            h.starts_with("Return-Path: <>\r\nDelivered-To: Postmaster\r\nReceived: from unknown")
        );
    }
}

#[cfg(test)]
mod delivery_tests {
    use super::*;
    use smtp_proto::wire::path::ReversePath;

    fn envelope() -> Envelope {
        Envelope {
            sender: ReversePath::Null,
            recipients: vec![ForwardPath::Postmaster],
        }
    }

    #[test]
    fn a_committed_message_is_in_new_and_a_dropped_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = MaildirStore::new(dir.path(), "mx").unwrap();
        let mut d = store.begin(&envelope(), &Trace::default()).unwrap();
        d.write(b"Subject: x\r\n\r\nbody\r\n").unwrap();
        d.commit().unwrap();
        let dropped = store.begin(&envelope(), &Trace::default()).unwrap();
        drop(dropped);
        let count = |sub: &str| std::fs::read_dir(dir.path().join(sub)).unwrap().count();
        assert_eq!((count("new"), count("tmp")), (1, 0));
        let file = std::fs::read_dir(dir.path().join("new"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(
            text.starts_with(
                "Return-Path: <>\r\nDelivered-To: Postmaster\r\nReceived: from unknown"
            )
        );
        assert!(text.ends_with("\r\nSubject: x\r\n\r\nbody\r\n"));
    }

    #[test]
    fn the_handler_delivers_on_any_executor() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Maildir::new(dir.path(), "mx").unwrap();
        futures_lite::future::block_on(async {
            assert_eq!(
                Handler::data_start(&mut m, &envelope()).await,
                Decision::Accept
            );
            Handler::data(&mut m, Bytes::from_static(b"hi\r\n")).await;
            let message = Message {
                envelope: envelope(),
                findings: Default::default(),
                content: Bytes::new(),
            };
            assert_eq!(Handler::message(&mut m, &message).await, Decision::Accept);
        });
        assert_eq!(
            std::fs::read_dir(dir.path().join("new")).unwrap().count(),
            1
        );
    }

    /// Mutation-testing finds: every day from 1970 to 2200 against a
    /// calendar counted one day at a time (leap years, centuries, 2000).
    #[test]
    fn dates_match_a_day_by_day_calendar() {
        let (mut y, mut m, mut d, mut wd) = (1970i64, 1usize, 1i64, 4usize); // Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        for day in 0..84_000u64 {
            let t = UNIX_EPOCH + std::time::Duration::from_secs(day * 86_400 + 3_661);
            let expected = format!("{}, {d:02} {} {y} 01:01:01 +0000", names[wd], months[m - 1]);
            assert_eq!(rfc5322_date(t), expected);
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][m - 1];
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
            wd = (wd + 1) % 7;
        }
    }

    #[test]
    fn the_handler_records_the_connection_in_the_trace_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Maildir::new(dir.path(), "mx.example").unwrap();
        let info = ConnectionInfo {
            peer: "192.0.2.7:4000".parse().unwrap(),
            local: "192.0.2.1:465".parse().unwrap(),
            implicit_tls: true,
        };
        let name = HeloName::Unchecked("client.example".into());
        futures_lite::future::block_on(async {
            Handler::connect(&mut m, &info).await;
            Handler::hello(&mut m, HelloKind::Ehlo, &name).await;
            m.set_authenticated();
            assert_eq!(
                Handler::data_start(&mut m, &envelope()).await,
                Decision::Accept
            );
            Handler::data(&mut m, Bytes::from_static(b"Subject: a\r\n")).await;
            Handler::data(&mut m, Bytes::from_static(b"\r\nbody\r\n")).await;
            let message = Message {
                envelope: envelope(),
                findings: Default::default(),
                content: Bytes::new(),
            };
            assert_eq!(Handler::message(&mut m, &message).await, Decision::Accept);
            // A transaction abandoned after DATA leaves nothing behind.
            assert_eq!(
                Handler::data_start(&mut m, &envelope()).await,
                Decision::Accept
            );
            Handler::data(&mut m, Bytes::from_static(b"half")).await;
            Handler::notice(&mut m, &ServerEvent::TransactionReset).await;
        });
        let count = |sub: &str| std::fs::read_dir(dir.path().join(sub)).unwrap().count();
        assert_eq!((count("new"), count("tmp")), (1, 0));
        let file = std::fs::read_dir(dir.path().join("new"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(
            text.contains(
                "Received: from client.example ([192.0.2.7])\r\n\tby mx.example with ESMTPSA id "
            ),
            "{text}"
        );
        assert!(text.ends_with("\r\nSubject: a\r\n\r\nbody\r\n"), "{text}");
    }

    #[test]
    fn file_names_are_unique_and_name_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let store = MaildirStore::new(dir.path(), "a/b:c").unwrap();
        let (one, two) = (store.unique_name(), store.unique_name());
        assert_ne!(one, two);
        assert!(
            one.ends_with(".a_b_c") && one.contains(&format!("P{}Q", std::process::id())),
            "{one}"
        );
    }

    #[test]
    fn tls_forgets_what_was_said_before() {
        let mut t = Trace {
            peer: None,
            helo: Some((HelloKind::Ehlo, "x".into())),
            tls: false,
            authenticated: true,
        };
        t.notice(&ServerEvent::TransactionReset);
        assert!(t.helo.is_some() && t.authenticated && !t.tls);
        t.notice(&ServerEvent::TlsEstablished);
        assert!(t.helo.is_none() && !t.authenticated && t.tls);
    }

    #[test]
    fn the_sync_handler_delivers_and_a_reset_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Maildir::new(dir.path(), "mx").unwrap();
        assert_eq!(
            SyncHandler::data_start(&mut m, &envelope()),
            Decision::Accept
        );
        SyncHandler::data(&mut m, Bytes::from_static(b"half"));
        SyncHandler::notice(&mut m, &ServerEvent::TransactionReset);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert_eq!(
            SyncHandler::data_start(&mut m, &envelope()),
            Decision::Accept
        );
        SyncHandler::data(&mut m, Bytes::from_static(b"hi\r\n"));
        let message = Message {
            envelope: envelope(),
            findings: Default::default(),
            content: Bytes::new(),
        };
        assert_eq!(SyncHandler::message(&mut m, &message), Decision::Accept);
        let new: Vec<_> = std::fs::read_dir(dir.path().join("new")).unwrap().collect();
        assert_eq!(new.len(), 1);
        let text = std::fs::read(new[0].as_ref().unwrap().path()).unwrap();
        assert!(text.ends_with(b"\r\n\r\nhi\r\n") || text.ends_with(b"hi\r\n"));
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[test]
    fn protocols_per_rfc_3848() {
        let mut t = Trace::default();
        assert_eq!(t.protocol(), "ESMTP");
        t.tls = true;
        t.authenticated = true;
        assert_eq!(t.protocol(), "ESMTPSA");
        t.helo = Some((HelloKind::Lhlo, "x".into()));
        assert_eq!(t.protocol(), "LMTPSA");
        t.helo = Some((HelloKind::Helo, "x".into()));
        assert_eq!(t.protocol(), "SMTP");
    }
}
