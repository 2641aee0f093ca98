//! A fleet: two MTA instances share one queue in a real PostgreSQL, started
//! by the test (initdb into a temporary directory, a loopback port). Mail
//! submitted to one is delivered by both, each message exactly once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{SmartHost, free_port, submit_numbered};
use smtp_mta::{Config, Shared};

/// A PostgreSQL program: on PATH, or in Debian's versioned directory.
fn pg_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        dirs.extend(versions.filter_map(|v| Some(v.ok()?.path().join("bin"))));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// PostgreSQL runs as an unprivileged user: as root, the `postgres` account.
fn as_pg_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

struct Postgres {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn postgres() -> Option<Postgres> {
    let (Some(initdb), Some(server)) = (pg_program("initdb"), pg_program("postgres")) else {
        assert!(
            std::env::var_os("SMTP_INTEROP_REQUIRED").is_none(),
            "PostgreSQL is not installed"
        );
        eprintln!("SKIPPED: PostgreSQL (initdb, postgres) is not installed");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    if is_root() {
        let status = Command::new("chown")
            .arg("postgres:")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let data = dir.path().join("data");
    let out = as_pg_user(&initdb)
        .arg("-D")
        .arg(&data)
        .args(["-U", "mta", "--auth=trust", "-E", "UTF8"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let child = as_pg_user(&server)
        .arg("-D")
        .arg(&data)
        .args([
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-k",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pg = Postgres {
        child,
        port,
        _dir: dir,
    };
    let end = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "PostgreSQL does not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(pg)
}

async fn node(root: &Path, name: &str, port: u16, pg: u16, relay: u16) -> Arc<Shared> {
    let config = format!(
        r#"
hostname = "{name}.fleet.test"
spool = "{spool}"
maildirs = "{mail}"
local_domains = ["fleet.test"]
[queue]
postgres = "host=127.0.0.1 port={pg} user=mta dbname=postgres"
[listen]
submission = ["127.0.0.1:{port}"]
[tls]
self_signed = true
[[users]]
name = "alice@fleet.test"
password = "secret"
[delivery]
relay = "smtp://127.0.0.1:{relay}?tls=none"
scan_secs = 1
concurrency = 2
"#,
        spool = root.join(name).join("spool").display(),
        mail = root.join(name).join("mail").display(),
    );
    let shared = Shared::new(Config::parse(&config).unwrap()).await.unwrap();
    let task_shared = shared.clone();
    tokio::spawn(async move { smtp_mta::run(task_shared, std::future::pending()).await });
    let end = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < end, "the node does not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shared
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_drain_one_queue_each_message_once() {
    let Some(pg) = postgres() else { return };
    let root = tempfile::tempdir().unwrap();
    let (host, relay) = SmartHost::start(Duration::from_millis(50)).await;
    let (p1, p2) = (free_port(), free_port());
    let one = node(root.path(), "one", p1, pg.port, relay).await;
    let _two = node(root.path(), "two", p2, pg.port, relay).await;

    // Everything is submitted to node one; node two sees it only through
    // the shared queue.
    const N: usize = 40;
    submit_numbered(p1, "alice@fleet.test", N).await;
    let end = Instant::now() + Duration::from_secs(60);
    while !one.queue.list().await.unwrap().is_empty() {
        assert!(Instant::now() < end, "the shared queue did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let subjects = host.subjects.lock().unwrap().clone();
    assert_eq!(subjects.len(), N, "every message arrived: {subjects:?}");
    assert!(
        subjects.values().all(|&n| n == 1),
        "delivered twice: {subjects:?}"
    );
    let nodes = host.nodes.lock().unwrap().clone();
    assert_eq!(nodes.len(), 2, "both nodes delivered: {nodes:?}");
}
