//! The queue on PostgreSQL, for a fleet: several MTA instances share one
//! queue and any of them delivers any message. A node claims due messages
//! with `SELECT … FOR UPDATE SKIP LOCKED` inside one `UPDATE`, so two nodes
//! never claim the same message; a claim lasts `claim_secs`, after which a
//! message whose node died is due again (the window in which it may be
//! delivered twice). The content is stored in the database too (`bytea`):
//! one durable store, written in the same transaction as the record, needs
//! no shared file system, and the 250 is sent only after the commit.

use std::io;
use std::sync::Arc;

use tokio_postgres::{Client, NoTls};

use crate::queue::{Record, now};

/// The queue table, created if missing.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS smtp_queue (
    id            text PRIMARY KEY,
    record        text NOT NULL,
    content       bytea NOT NULL,
    created       bigint NOT NULL,
    next_attempt  bigint NOT NULL,
    claimed_by    text,
    claimed_until bigint NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS smtp_queue_due ON smtp_queue (next_attempt);
";

/// A queue in one PostgreSQL database.
#[derive(Clone)]
pub struct PgQueue {
    client: Arc<Client>,
    claim_secs: u64,
}

impl std::fmt::Debug for PgQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgQueue")
    }
}

fn db(e: tokio_postgres::Error) -> io::Error {
    io::Error::other(e)
}

fn parse(text: &str) -> io::Result<Record> {
    serde_json::from_str(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn json(record: &Record) -> io::Result<String> {
    serde_json::to_string(record).map_err(io::Error::other)
}

impl PgQueue {
    /// Connects (`host=… port=… user=… dbname=…`) and creates the table.
    pub async fn connect(conninfo: &str, claim_secs: u64) -> io::Result<PgQueue> {
        let (client, connection) = tokio_postgres::connect(conninfo, NoTls).await.map_err(db)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "PostgreSQL connection ended");
            }
        });
        client.batch_execute(SCHEMA).await.map_err(db)?;
        Ok(PgQueue {
            client: Arc::new(client),
            claim_secs,
        })
    }

    /// Adds a message (committed when this returns).
    pub async fn insert(&self, record: &Record, content: &[u8]) -> io::Result<()> {
        self.client
            .execute(
                "INSERT INTO smtp_queue (id, record, content, created, next_attempt) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &record.id,
                    &json(record)?,
                    &content,
                    &(record.created as i64),
                    &(record.next_attempt as i64),
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Claims up to `limit` messages due now for `node`.
    pub async fn claim(&self, node: &str, limit: usize) -> io::Result<Vec<Record>> {
        let t = now() as i64;
        let rows = self
            .client
            .query(
                "UPDATE smtp_queue SET claimed_by = $1, claimed_until = $2 \
                 WHERE id IN (SELECT id FROM smtp_queue \
                              WHERE next_attempt <= $3 AND claimed_until <= $3 \
                              ORDER BY next_attempt LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 RETURNING record",
                &[&node, &(t + self.claim_secs as i64), &t, &(limit as i64)],
            )
            .await
            .map_err(db)?;
        rows.iter().map(|r| parse(r.get(0))).collect()
    }

    /// Updates a record and releases its claim.
    pub async fn save(&self, record: &Record) -> io::Result<()> {
        self.client
            .execute(
                "UPDATE smtp_queue SET record = $2, next_attempt = $3, claimed_by = NULL, \
                 claimed_until = 0 WHERE id = $1",
                &[&record.id, &json(record)?, &(record.next_attempt as i64)],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Removes a message.
    pub async fn remove(&self, id: &str) -> io::Result<()> {
        let n = self
            .client
            .execute("DELETE FROM smtp_queue WHERE id = $1", &[&id])
            .await
            .map_err(db)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such message"));
        }
        Ok(())
    }

    /// Every record, oldest first.
    pub async fn list(&self) -> io::Result<Vec<Record>> {
        let rows = self
            .client
            .query("SELECT record FROM smtp_queue ORDER BY created, id", &[])
            .await
            .map_err(db)?;
        rows.iter().map(|r| parse(r.get(0))).collect()
    }

    /// One record.
    pub async fn load(&self, id: &str) -> io::Result<Record> {
        let row = self
            .client
            .query_opt("SELECT record FROM smtp_queue WHERE id = $1", &[&id])
            .await
            .map_err(db)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such message"))?;
        parse(row.get(0))
    }

    /// A message's content.
    pub async fn content(&self, id: &str) -> io::Result<Vec<u8>> {
        let row = self
            .client
            .query_opt("SELECT content FROM smtp_queue WHERE id = $1", &[&id])
            .await
            .map_err(db)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such message"))?;
        Ok(row.get(0))
    }
}
