//! The measurement behind the embedded queue's design: durable enqueues per
//! second, one message at a time as a server does before each `250`, into
//! the spool directory (content and record files, each fsynced and renamed,
//! directories fsynced) and into an embedded database, redb (content and
//! record in one write transaction, committed with its default immediate
//! durability). `cargo run --release -p smtp-mta --example queue_choice`.

use std::time::Instant;

use redb::{Database, TableDefinition};
use smtp_mta::queue::{Record, Spool};

const CONTENT: TableDefinition<&str, &[u8]> = TableDefinition::new("content");
const RECORDS: TableDefinition<&str, &str> = TableDefinition::new("records");

fn message(size: usize) -> Vec<u8> {
    let mut m = b"Subject: queue choice\r\n\r\n".to_vec();
    while m.len() < size {
        m.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n");
    }
    m
}

fn main() {
    let rcpts = vec!["b@example.net".to_string()];
    for (size, n) in [(1024, 400), (100 * 1024, 200)] {
        let body = message(size);
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let started = Instant::now();
        for _ in 0..n {
            spool.enqueue("a@example.org", &rcpts, &[&body]).unwrap();
        }
        let spool_rate = n as f64 / started.elapsed().as_secs_f64();

        let db = Database::create(dir.path().join("queue.redb")).unwrap();
        let started = Instant::now();
        for _ in 0..n {
            let record = Record::new("a@example.org", &rcpts, body.len() as u64);
            let json = serde_json::to_string(&record).unwrap();
            let tx = db.begin_write().unwrap();
            {
                tx.open_table(CONTENT)
                    .unwrap()
                    .insert(record.id.as_str(), body.as_slice())
                    .unwrap();
                tx.open_table(RECORDS)
                    .unwrap()
                    .insert(record.id.as_str(), json.as_str())
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        let redb_rate = n as f64 / started.elapsed().as_secs_f64();
        println!(
            "{:>4} KiB messages: spool {spool_rate:>7.0} msg/s, redb {redb_rate:>7.0} msg/s (spool/redb {:.2})",
            size / 1024,
            spool_rate / redb_rate
        );
    }
}
