//! The queue: a spool directory with one content file and one record per
//! message. A message is durable before its `250` is sent (RFC 5321 §6.1):
//! the content is written to `tmp/`, fsynced and renamed into `content/`,
//! then the record likewise into `queue/`, and each directory is fsynced
//! after its rename. A content file without a record was never acknowledged
//! and is removed at start. After a crash a message is delivered or still
//! queued, never lost; one whose delivery finished but whose record was not
//! yet updated is delivered again (the window between a remote `250` and
//! the record's rename).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
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
    /// Opens (creating it if needed) the spool at `dir`, and removes the
    /// content files that have no record (never acknowledged).
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Spool> {
        let dir = dir.into();
        for sub in ["tmp", "content", "queue"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let spool = Spool { dir };
        for entry in fs::read_dir(spool.dir.join("tmp"))? {
            let _ = fs::remove_file(entry?.path());
        }
        for entry in fs::read_dir(spool.dir.join("content"))? {
            let entry = entry?;
            let id = entry.file_name().to_string_lossy().into_owned();
            if !spool.record_path(&id).exists() {
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
    fn new_id() -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{nanos:x}{n:04x}{:x}", std::process::id())
    }

    /// Queues a message: `parts` concatenated are its content. Returns once
    /// content and record are both on disk.
    pub fn enqueue(
        &self,
        sender: &str,
        recipients: &[String],
        parts: &[&[u8]],
    ) -> io::Result<Record> {
        let id = Self::new_id();
        let tmp = self.dir.join("tmp").join(&id);
        let size = {
            let mut file = File::create(&tmp)?;
            let mut size = 0;
            for part in parts {
                file.write_all(part)?;
                size += part.len() as u64;
            }
            file.sync_all()?;
            size
        };
        let content = self.content_path(&id);
        if let Err(e) =
            fs::rename(&tmp, &content).and_then(|()| sync_dir(&self.dir.join("content")))
        {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let record = Record {
            id,
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
        };
        if let Err(e) = self.save(&record) {
            let _ = fs::remove_file(&content);
            return Err(e);
        }
        Ok(record)
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

    /// A record by id.
    pub fn load(&self, id: &str) -> io::Result<Record> {
        if id.contains(['/', '.']) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad queue id"));
        }
        let bytes = fs::read(self.record_path(id))?;
        serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Every record, oldest first.
    pub fn list(&self) -> io::Result<Vec<Record>> {
        let mut records = Vec::new();
        for entry in fs::read_dir(self.dir.join("queue"))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                match self.load(id) {
                    Ok(r) => records.push(r),
                    // Removed meanwhile (delivered, or `queue delete`).
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(id, error = %e, "unreadable queue record"),
                }
            }
        }
        records.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(records)
    }

    /// A message's content.
    pub fn content(&self, id: &str) -> io::Result<Vec<u8>> {
        fs::read(self.content_path(id))
    }

    /// Removes a message: its record first, so a crash in between leaves an
    /// orphan content file (removed at the next start), never a record
    /// without content.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        fs::remove_file(self.record_path(id))?;
        sync_dir(&self.dir.join("queue"))?;
        let _ = fs::remove_file(self.content_path(id));
        Ok(())
    }
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
    fn content_without_a_record_is_removed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let kept = spool.enqueue("", &["b@x.test".into()], &[b"x"]).unwrap();
        fs::write(spool.content_path("orphan"), b"never acknowledged").unwrap();
        fs::write(dir.path().join("tmp/half"), b"half written").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(!spool.content_path("orphan").exists());
        assert!(!dir.path().join("tmp/half").exists());
        assert!(spool.content_path(&kept.id).exists());
    }
}
