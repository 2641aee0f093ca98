//! The `smtp-mta` program itself: killed with SIGKILL in the middle of
//! deliveries, it loses nothing (each message is delivered or still queued,
//! delivered at most twice in the documented window); and its `queue`
//! commands.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{SmartHost, free_port, submit_numbered};
use smtp_mta::queue::Spool;

fn mta() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smtp-mta"))
}

fn write_config(dir: &Path, port: u16, relay: u16) -> std::path::PathBuf {
    let path = dir.join("mta.toml");
    std::fs::write(
        &path,
        format!(
            r#"
hostname = "mx.a.test"
spool = "{spool}"
maildirs = "{mail}"
local_domains = ["a.test"]
[listen]
submission = ["127.0.0.1:{port}"]
[tls]
self_signed = true
[[users]]
name = "alice@a.test"
password = "secret"
[delivery]
relay = "smtp://127.0.0.1:{relay}?tls=none"
retry_initial_secs = 1
retry_max_secs = 1
scan_secs = 1
concurrency = 4
"#,
            spool = dir.join("spool").display(),
            mail = dir.join("mail").display(),
        ),
    )
    .unwrap();
    path
}

fn start(config: &Path, port: u16) -> Child {
    let child = mta()
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "smtp-mta does not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_delivery_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (host, relay) = SmartHost::start(Duration::from_millis(150)).await;
    let port = free_port();
    let config = write_config(dir.path(), port, relay);
    let mut child = start(&config, port);

    const N: usize = 30;
    submit_numbered(port, "alice@a.test", N).await;
    // Kill it while deliveries are in progress.
    let end = Instant::now() + Duration::from_secs(20);
    while host.subjects.lock().unwrap().len() < 4 {
        assert!(Instant::now() < end, "no delivery started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let delivered: Vec<String> = host.subjects.lock().unwrap().keys().cloned().collect();
    let spool = Spool::open(dir.path().join("spool")).unwrap();
    let queued: Vec<String> = spool
        .list()
        .unwrap()
        .iter()
        .map(|r| {
            let content = String::from_utf8(spool.content(&r.id).unwrap()).unwrap();
            content
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap()
                .to_string()
        })
        .collect();
    for i in 0..N {
        let s = format!("msg {i}");
        assert!(
            delivered.contains(&s) || queued.contains(&s),
            "{s} was lost: delivered {delivered:?}, queued {queued:?}"
        );
    }
    assert!(
        !queued.is_empty(),
        "the kill came too late to test anything"
    );

    // Restarted, it delivers the rest.
    let mut child = start(&config, port);
    let end = Instant::now() + Duration::from_secs(30);
    while !spool.list().unwrap().is_empty() {
        assert!(
            Instant::now() < end,
            "the queue did not drain after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let counts = host.subjects.lock().unwrap().clone();
    assert_eq!(counts.len(), N, "every message arrived: {counts:?}");
    // At most the deliveries in progress at the kill (concurrency 4) twice.
    let twice = counts.values().filter(|&&n| n > 1).count();
    assert!(counts.values().all(|&n| n <= 2) && twice <= 4, "{counts:?}");
}

#[test]
fn queue_commands_list_show_flush_delete() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port(), free_port());
    let spool = Spool::open(dir.path().join("spool")).unwrap();
    let one = spool
        .enqueue(
            "alice@a.test",
            &["x@remote.test".into()],
            &[b"Subject: one\r\n\r\nbody\r\n"],
        )
        .unwrap();
    let mut two = spool
        .enqueue(
            "alice@a.test",
            &["y@remote.test".into()],
            &[b"Subject: two\r\n\r\nbody\r\n"],
        )
        .unwrap();
    two.next_attempt = u64::MAX / 2;
    spool.save(&two).unwrap();
    let run = |args: &[&str]| {
        let out = mta()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let list = run(&["queue", "list"]);
    assert!(
        list.contains(&one.id) && list.contains(&two.id) && list.contains("2 messages"),
        "{list}"
    );
    assert!(list.contains("<alice@a.test> y@remote.test"), "{list}");
    let show = run(&["queue", "show", &two.id]);
    assert!(show.contains("sender: <alice@a.test>"), "{show}");
    assert!(show.contains("recipient: y@remote.test pending"), "{show}");
    assert!(show.contains("Subject: two"), "{show}");
    assert!(run(&["queue", "flush"]).contains("2 messages due now"));
    assert_eq!(spool.load(&two.id).unwrap().next_attempt, 0);
    assert!(run(&["queue", "delete", &one.id]).contains("deleted"));
    let list = run(&["queue", "list"]);
    assert!(
        !list.contains(&one.id) && list.contains("1 messages"),
        "{list}"
    );
    let out = mta()
        .arg("--config")
        .arg(&config)
        .args(["queue", "show", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
