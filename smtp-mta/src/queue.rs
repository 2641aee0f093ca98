//! The queue: a spool directory with one file per message. A message is
//! durable before its `250` is sent (RFC 5321 §6.1): its first record (one
//! line of JSON) and its content are written to one file in `tmp/`,
//! fsynced, renamed into `content/`, and that directory fsynced: two
//! fsyncs per message. Later states of the record (deliveries, retries) go
//! to `queue/<id>.json` the same way and take precedence. A message is
//! removed content first, so a crash in between leaves only a record
//! without content, removed at start. After a crash a message is delivered
//! or still queued, never lost; one whose delivery finished but whose record
//! was not yet updated is delivered again (the window between a remote `250`
//! and the record's rename).
//!
//! Why files and not an embedded database: `examples/queue_choice.rs`
//! measures both (see the README); the files are what an operator can look
//! at, move and repair with ordinary tools.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where a recipient stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Not delivered yet; `last` is the last temporary failure, if any.
    Pending {
        /// The last attempt's reply or error.
        last: Option<String>,
    },
    /// Delivered, with the reply that took it.
    Delivered {
        /// The reply.
        reply: String,
    },
    /// Failed for good (a 5xx, or too old); a bounce was queued.
    Failed {
        /// Why.
        reply: String,
    },
}

/// One recipient of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The address (`local@domain`).
    pub address: String,
    /// Where it stands.
    pub status: Status,
}

/// What the queue knows of a message besides its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The queue id.
    pub id: String,
    /// The envelope sender (`""` for the null sender of a bounce).
    pub sender: String,
    /// The recipients.
    pub recipients: Vec<Recipient>,
    /// When it was queued (seconds since the epoch).
    pub created: u64,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt: u64,
    /// The content's size in octets.
    pub size: u64,
}

impl Record {
    /// A new message's record: every recipient pending, due now.
    pub fn new(sender: &str, recipients: &[String], size: u64) -> Record {
        Record {
            id: Spool::new_id(),
            sender: sender.to_string(),
            recipients: recipients
                .iter()
                .map(|address| Recipient {
                    address: address.clone(),
                    status: Status::Pending { last: None },
                })
                .collect(),
            created: now(),
            attempts: 0,
            next_attempt: 0,
            size,
        }
    }

    /// Recipients not delivered and not failed yet.
    pub fn pending(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients
            .iter()
            .filter(|r| matches!(r.status, Status::Pending { .. }))
    }

    /// Whether nothing is left to do.
    pub fn is_done(&self) -> bool {
        self.pending().next().is_none()
    }
}

/// The spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Spool {
    /// Opens (creating it if needed) the spool at `dir`, and removes what a
    /// crash can leave: half-written files in `tmp/`, and records whose
    /// message was removed.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Spool> {
        let dir = dir.into();
        for sub in ["tmp", "content", "queue"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let spool = Spool { dir };
        for entry in fs::read_dir(spool.dir.join("tmp"))? {
            let _ = fs::remove_file(entry?.path());
        }
        for entry in fs::read_dir(spool.dir.join("queue"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".json").unwrap_or(&name);
            if !spool.content_path(id).exists() {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(spool)
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join("queue").join(format!("{id}.json"))
    }

    /// The path of a message's content.
    pub fn content_path(&self, id: &str) -> PathBuf {
        self.dir.join("content").join(id)
    }

    /// A new queue id: time, a counter and the process id, so that ids from
    /// restarts and from several instances on one spool do not collide.
    pub(crate) fn new_id() -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{nanos:x}{n:04x}{:x}", std::process::id())
    }

    /// Queues a message: `parts` concatenated are its content. Returns once
    /// the message (its first record and its content, in one file) is on
    /// disk.
    pub fn enqueue(
        &self,
        sender: &str,
        recipients: &[String],
        parts: &[&[u8]],
    ) -> io::Result<Record> {
        let size = parts.iter().map(|p| p.len() as u64).sum();
        let record = Record::new(sender, recipients, size);
        let tmp = self.dir.join("tmp").join(&record.id);
        let written = (|| {
            let mut file = File::create(&tmp)?;
            let mut line = serde_json::to_vec(&record).map_err(io::Error::other)?;
            line.push(b'\n');
            file.write_all(&line)?;
            for part in parts {
                file.write_all(part)?;
            }
            file.sync_all()?;
            fs::rename(&tmp, self.content_path(&record.id))?;
            sync_dir(&self.dir.join("content"))
        })();
        match written {
            Ok(()) => Ok(record),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                let _ = fs::remove_file(self.content_path(&record.id));
                Err(e)
            }
        }
    }

    /// A message file: its first record's line, and where its content starts.
    fn read_message(&self, id: &str) -> io::Result<(Vec<u8>, usize)> {
        check_id(id)?;
        let bytes = fs::read(self.content_path(id))?;
        let start = (bytes.iter().position(|&b| b == b'\n'))
            .map(|i| i + 1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no record line"))?;
        Ok((bytes, start))
    }

    /// Writes a record (write, fsync, rename, fsync the directory).
    pub fn save(&self, record: &Record) -> io::Result<()> {
        let tmp = self.dir.join("tmp").join(format!("{}.json", record.id));
        {
            let mut file = File::create(&tmp)?;
            file.write_all(&serde_json::to_vec_pretty(record).map_err(io::Error::other)?)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, self.record_path(&record.id))?;
        sync_dir(&self.dir.join("queue"))
    }

    /// A record by id: its latest state.
    pub fn load(&self, id: &str) -> io::Result<Record> {
        check_id(id)?;
        let bytes = match fs::read(self.record_path(id)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (mut bytes, start) = self.read_message(id)?;
                bytes.truncate(start);
                bytes
            }
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Every record, oldest first.
    pub fn list(&self) -> io::Result<Vec<Record>> {
        let mut records = Vec::new();
        for entry in fs::read_dir(self.dir.join("content"))? {
            let id = entry?.file_name().to_string_lossy().into_owned();
            match self.load(&id) {
                Ok(r) => records.push(r),
                // Removed meanwhile (delivered, or `queue delete`).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(id, error = %e, "unreadable queue record"),
            }
        }
        records.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(records)
    }

    /// A message's content.
    pub fn content(&self, id: &str) -> io::Result<Vec<u8>> {
        let (mut bytes, start) = self.read_message(id)?;
        bytes.drain(..start);
        Ok(bytes)
    }

    /// Removes a message: its file first (then it is gone, whatever happens
    /// next), then its latest record, which [`Spool::open`] would remove.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        check_id(id)?;
        fs::remove_file(self.content_path(id))?;
        sync_dir(&self.dir.join("content"))?;
        let _ = fs::remove_file(self.record_path(id));
        Ok(())
    }
}

/// The queue a node works from: its own spool directory, or a PostgreSQL
/// database shared by a fleet ([`crate::pg`]).
#[derive(Debug, Clone)]
pub enum Queue {
    /// A spool directory of this node.
    Spool(Arc<Spool>),
    /// A database shared by several nodes.
    Postgres(crate::pg::PgQueue),
}

/// Runs `f` on the spool on a thread where blocking is allowed.
async fn blocking<T: Send + 'static>(
    spool: &Arc<Spool>,
    f: impl FnOnce(&Spool) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let spool = spool.clone();
    tokio::task::spawn_blocking(move || f(&spool))
        .await
        .map_err(io::Error::other)?
}

impl Queue {
    /// The queue of a configuration: PostgreSQL if it names a database,
    /// else the spool directory.
    pub async fn open(config: &crate::Config) -> io::Result<Queue> {
        Ok(match &config.queue.postgres {
            Some(conninfo) => Queue::Postgres(
                crate::pg::PgQueue::connect(conninfo, config.queue.claim_secs).await?,
            ),
            None => Queue::Spool(Arc::new(Spool::open(&config.spool)?)),
        })
    }

    /// Queues a message; durable when this returns.
    pub async fn enqueue(
        &self,
        sender: &str,
        recipients: &[String],
        parts: &[&[u8]],
    ) -> io::Result<Record> {
        match self {
            Queue::Spool(spool) => {
                let (sender, recipients, content) =
                    (sender.to_string(), recipients.to_vec(), parts.concat());
                blocking(spool, move |s| s.enqueue(&sender, &recipients, &[&content])).await
            }
            Queue::Postgres(pg) => {
                let record = Record::new(
                    sender,
                    recipients,
                    parts.iter().map(|p| p.len() as u64).sum(),
                );
                pg.insert(&record, &parts.concat()).await?;
                Ok(record)
            }
        }
    }

    /// Messages due now, claimed for `node` (a spool has one node: every
    /// due message; the queue runner keeps its own set of those in flight).
    pub async fn claim_due(&self, node: &str, limit: usize) -> io::Result<Vec<Record>> {
        match self {
            Queue::Spool(spool) => {
                let t = now();
                blocking(spool, move |s| {
                    let mut due = s.list()?;
                    due.retain(|r| r.next_attempt <= t && !r.is_done());
                    due.truncate(limit);
                    Ok(due)
                })
                .await
            }
            Queue::Postgres(pg) => pg.claim(node, limit).await,
        }
    }

    /// A message's content.
    pub async fn content(&self, id: &str) -> io::Result<Vec<u8>> {
        let id = id.to_string();
        match self {
            Queue::Spool(spool) => blocking(spool, move |s| s.content(&id)).await,
            Queue::Postgres(pg) => pg.content(&id).await,
        }
    }

    /// Saves a record (releasing its claim).
    pub async fn save(&self, record: &Record) -> io::Result<()> {
        match self {
            Queue::Spool(spool) => {
                let record = record.clone();
                blocking(spool, move |s| s.save(&record)).await
            }
            Queue::Postgres(pg) => pg.save(record).await,
        }
    }

    /// Removes a message.
    pub async fn remove(&self, id: &str) -> io::Result<()> {
        let id = id.to_string();
        match self {
            Queue::Spool(spool) => blocking(spool, move |s| s.remove(&id)).await,
            Queue::Postgres(pg) => pg.remove(&id).await,
        }
    }

    /// Every record, oldest first.
    pub async fn list(&self) -> io::Result<Vec<Record>> {
        match self {
            Queue::Spool(spool) => blocking(spool, Spool::list).await,
            Queue::Postgres(pg) => pg.list().await,
        }
    }

    /// One record.
    pub async fn load(&self, id: &str) -> io::Result<Record> {
        let id = id.to_string();
        match self {
            Queue::Spool(spool) => blocking(spool, move |s| s.load(&id)).await,
            Queue::Postgres(pg) => pg.load(&id).await,
        }
    }
}

/// A queue id names a file: nothing that could step out of its directory.
fn check_id(id: &str) -> io::Result<()> {
    if id.is_empty() || id.contains(['/', '.']) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad queue id"));
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_list_save_remove() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let rcpts = vec!["b@example.net".to_string(), "c@example.net".to_string()];
        let r = spool
            .enqueue("a@example.org", &rcpts, &[b"Received: x\r\n", b"body\r\n"])
            .unwrap();
        assert_eq!(r.size, 19);
        assert_eq!(spool.content(&r.id).unwrap(), b"Received: x\r\nbody\r\n");
        let mut listed = spool.list().unwrap();
        assert_eq!(listed, vec![r.clone()]);
        listed[0].recipients[0].status = Status::Delivered {
            reply: "250 ok".into(),
        };
        spool.save(&listed[0]).unwrap();
        assert_eq!(spool.load(&r.id).unwrap().pending().count(), 1);
        assert!(spool.load("../x").is_err());
        spool.remove(&r.id).unwrap();
        assert!(spool.list().unwrap().is_empty());
        assert!(!spool.content_path(&r.id).exists());
    }

    #[test]
    fn what_a_crash_leaves_is_cleaned_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let kept = spool.enqueue("", &["b@x.test".into()], &[b"x"]).unwrap();
        let mut later = kept.clone();
        later.attempts = 3;
        spool.save(&later).unwrap();
        // A record whose message was removed, and a half-written file.
        fs::write(dir.path().join("queue/gone.json"), b"{}").unwrap();
        fs::write(dir.path().join("tmp/half"), b"half written").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(!dir.path().join("queue/gone.json").exists());
        assert!(!dir.path().join("tmp/half").exists());
        // The message is there, in its latest state, content intact.
        assert_eq!(spool.list().unwrap(), vec![later]);
        assert_eq!(spool.content(&kept.id).unwrap(), b"x");
    }

    #[test]
    fn a_message_is_queued_whole_in_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let r = spool
            .enqueue(
                "a@x.test",
                &["b@x.test".into()],
                &[b"Subject: s\r\n\r\nbody\r\n"],
            )
            .unwrap();
        // No separate record until the first update.
        assert!(!dir.path().join(format!("queue/{}.json", r.id)).exists());
        assert_eq!(spool.load(&r.id).unwrap(), r);
        assert_eq!(spool.content(&r.id).unwrap(), b"Subject: s\r\n\r\nbody\r\n");
        assert!(spool.remove("").is_err() && spool.remove("../x").is_err());
    }
}
