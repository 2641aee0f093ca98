//! End-to-end figures over loopback sockets, each beside a peer measured in
//! the same run (alternating, median of the rounds):
//!
//! * the tokio example server with `--discard` under Postfix's smtp-source
//!   (`-d -s 10 -l 1024`, then `-s 20 -l 102400`), beside Postfix's smtp-sink
//!   and aiosmtpd's `Sink` handler: messages/s, and server CPU per message;
//! * memory per idle connection after EHLO, 2,000 connections held, beside
//!   aiosmtpd; and 10,000 concurrent connections held by the tokio server;
//! * the tokio `send` example (`--count N --connections C`) against
//!   smtp-sink, beside smtp-source and the lettre crate sending the same
//!   message over as many connections.
//!
//! Both tokio examples run with `--threads 1` (a current-thread runtime), as
//! their peers run: smtp-sink, smtp-source and aiosmtpd are single-threaded
//! processes. On this 2-core machine the load generator needs the other core;
//! the default of one worker per core costs more CPU per message there
//! (measured by hand on 2026-12-06: about 0.9× smtp-sink's messages/s instead
//! of about 1.05×).
//!
//! `cargo run --release --bin e2e -- [--json FILE] [--quick]`, after
//! `cargo build --release -p smtp-tokio --examples` in the main workspace
//! (`SMTP_EXAMPLES` names another directory of the example binaries);
//! `cargo xtask bench` does both. Needs `smtp-source`, `smtp-sink` (Postfix)
//! and `python3 -m aiosmtpd` on the machine; a missing peer skips its rows,
//! said on standard error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use smtp_bench::{Args, Record, median};

/// A server under test: its process and port.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// CPU seconds (user + system) the process has used.
    fn cpu(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which ends with ')'): 14 and 15 are
        // utime and stime in clock ticks (100 per second on Linux).
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Resident memory in bytes.
    fn rss(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib * 1024.0)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `command` (which listens on `port`) and waits until it answers.
fn start(mut command: Command, port: u16) -> Option<Server> {
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server { child, port };
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)) {
            let mut greeting = [0u8; 256];
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            if tcp.read(&mut greeting).is_ok_and(|n| n > 0) {
                return Some(server);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The directory of the main workspace's release example binaries.
fn examples() -> PathBuf {
    std::env::var_os("SMTP_EXAMPLES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/examples"),
        PathBuf::from,
    )
}

/// The servers compared.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Ours,
    SmtpSink,
    Aiosmtpd,
}

fn server(kind: Kind) -> Option<Server> {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let command = match kind {
        Kind::Ours => {
            let mut c = Command::new(examples().join("server"));
            c.args(["--listen", &addr, "--discard", "--max-size", "104857600"]);
            c.args(["--max-connections", "20000", "--threads", "1"]);
            c
        }
        Kind::SmtpSink => {
            let mut c = Command::new(which("smtp-sink")?);
            if is_root() {
                c.args(["-u", "nobody"]);
            }
            c.args([&addr, "1024"]);
            c
        }
        Kind::Aiosmtpd => {
            let mut c = Command::new("python3");
            c.args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &addr,
                "-c",
                "aiosmtpd.handlers.Sink",
            ]);
            c
        }
    };
    start(command, port)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// smtp-source sends `messages` of `size` octets over `sessions` reused
/// connections; the wall time.
fn smtp_source(port: u16, messages: u64, sessions: u64, size: u64) -> Option<Duration> {
    let started = Instant::now();
    let status = Command::new(which("smtp-source")?)
        .args([
            "-d",
            "-s",
            &sessions.to_string(),
            "-l",
            &size.to_string(),
            "-m",
            &messages.to_string(),
            "-f",
            "source@example.org",
            "-t",
            "sink@example.org",
            "-M",
            "source.example",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| started.elapsed())
}

/// What one server did under smtp-source: messages/s and CPU µs per message.
fn serve_load(kind: Kind, messages: u64, sessions: u64, size: u64) -> Option<(f64, f64)> {
    let server = server(kind)?;
    let cpu = server.cpu();
    let elapsed = smtp_source(server.port, messages, sessions, size)?;
    let used = server.cpu() - cpu;
    Some((
        messages as f64 / elapsed.as_secs_f64(),
        used * 1e6 / messages as f64,
    ))
}

/// Alternates `a` and `b` for `rounds` rounds; medians of each side's figures.
fn alternate<T: Copy>(
    rounds: usize,
    mut a: impl FnMut() -> Option<T>,
    mut b: impl FnMut() -> Option<T>,
) -> Option<(Vec<T>, Vec<T>)> {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            xs.push(a()?);
            ys.push(b()?);
        } else {
            ys.push(b()?);
            xs.push(a()?);
        }
    }
    Some((xs, ys))
}

#[allow(clippy::too_many_arguments)]
fn record(
    name: &str,
    unit: &str,
    peer_name: &str,
    target: Option<f64>,
    higher_is_better: bool,
    ours: &[f64],
    peer: &[f64],
) -> Record {
    let mut ratios: Vec<f64> = ours.iter().zip(peer).map(|(o, p)| o / p).collect();
    Record {
        name: name.into(),
        ours: median(&mut ours.to_vec()),
        peer: median(&mut peer.to_vec()),
        unit: unit.into(),
        peer_name: peer_name.into(),
        ratio: median(&mut ratios),
        target,
        higher_is_better,
        rounds: ours.len(),
    }
}

/// The server rows: smtp-source against ours and a peer.
fn server_rows(
    rounds: usize,
    peer: Kind,
    peer_name: &str,
    messages: u64,
    size: u64,
    sessions: u64,
    targets: (f64, Option<f64>),
) -> Vec<Record> {
    let Some((ours, theirs)) = alternate(
        rounds,
        || serve_load(Kind::Ours, messages, sessions, size),
        || serve_load(peer, messages, sessions, size),
    ) else {
        eprintln!("e2e: skipped the {peer_name} rows (not installed, or a run failed)");
        return Vec::new();
    };
    let label = if size >= 100_000 { "100 KiB" } else { "1 KiB" };
    let rate = |v: &[(f64, f64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
    let cpu = |v: &[(f64, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
    let mut rows = vec![record(
        &format!("server, smtp-source {label} x{sessions} sessions"),
        "msg/s",
        peer_name,
        Some(targets.0),
        true,
        &rate(&ours),
        &rate(&theirs),
    )];
    if let Some(target) = targets.1 {
        rows.push(record(
            &format!("server CPU per message, {label}"),
            "µs/msg",
            peer_name,
            Some(target),
            false,
            &cpu(&ours),
            &cpu(&theirs),
        ));
    }
    rows
}

/// Opens `n` connections to `port`, each greeted and past EHLO.
fn hold(port: u16, n: usize) -> Option<Vec<TcpStream>> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let tcp = TcpStream::connect(("127.0.0.1", port)).ok()?;
        tcp.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        held.push(tcp);
    }
    // All greetings first, then all EHLOs: the server sees them concurrently.
    for tcp in &mut held {
        read_reply(tcp)?;
        tcp.write_all(b"EHLO bench.example\r\n").ok()?;
    }
    for tcp in &mut held {
        read_reply(tcp)?;
    }
    Some(held)
}

/// Reads one (multi-line) reply.
fn read_reply(tcp: &mut TcpStream) -> Option<()> {
    let mut reader = BufReader::new(tcp);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Some(());
        }
    }
}

/// Bytes of server memory per idle connection after EHLO, `n` held.
fn idle_memory(kind: Kind, n: usize) -> Option<f64> {
    let server = server(kind)?;
    // Warm up (the first connection allocates what every one shares).
    drop(hold(server.port, 10)?);
    std::thread::sleep(Duration::from_millis(300));
    let before = server.rss();
    let held = hold(server.port, n)?;
    std::thread::sleep(Duration::from_millis(500));
    let after = server.rss();
    drop(held);
    Some((after - before) / n as f64)
}

/// How many of `n` connections the tokio server holds at once (each
/// greeted and past EHLO).
fn concurrent(n: usize) -> Option<f64> {
    let server = server(Kind::Ours)?;
    let held = hold(server.port, n)?;
    // Still all alive: a NOOP on each gets its 250.
    let mut alive = 0;
    for tcp in held.iter() {
        let mut tcp = tcp;
        if tcp.write_all(b"NOOP\r\n").is_ok() {
            let mut buf = [0u8; 64];
            if tcp
                .read(&mut buf)
                .is_ok_and(|n| n >= 3 && &buf[..3] == b"250")
            {
                alive += 1;
            }
        }
    }
    Some(alive as f64)
}

/// The message the client rows send: 1 KiB with headers.
fn message() -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n".to_vec();
    while m.len() < 1024 {
        m.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n");
    }
    m
}

/// Our `send` example: messages/s over `connections` connections.
fn our_client(port: u16, messages: u64, connections: u64, file: &Path) -> Option<f64> {
    let started = Instant::now();
    let status = Command::new(examples().join("send"))
        .args([
            "--threads",
            "1",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--count",
            &messages.to_string(),
            "--connections",
            &connections.to_string(),
            "--message",
        ])
        .arg(file)
        .stdout(Stdio::null())
        .status()
        .ok()?;
    status
        .success()
        .then(|| messages as f64 / started.elapsed().as_secs_f64())
}

/// The lettre crate (its blocking transport, one connection per thread,
/// reused): messages/s.
fn lettre_client(port: u16, messages: u64, connections: u64, message: &[u8]) -> Option<f64> {
    use lettre::Transport;
    use lettre::address::Envelope;
    let envelope = Envelope::new(
        Some("a@example.org".parse().ok()?),
        vec!["b@example.net".parse().ok()?],
    )
    .ok()?;
    let started = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let share = messages / connections + u64::from(c < messages % connections);
            let (envelope, message) = (envelope.clone(), message.to_vec());
            std::thread::spawn(move || {
                let transport = lettre::SmtpTransport::builder_dangerous("127.0.0.1")
                    .port(port)
                    .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(1))
                    .build();
                (0..share).all(|_| transport.send_raw(&envelope, &message).is_ok())
            })
        })
        .collect();
    let ok = threads.into_iter().all(|t| t.join().unwrap_or(false));
    ok.then(|| messages as f64 / started.elapsed().as_secs_f64())
}

fn client_rows(rounds: usize, messages: u64, connections: u64) -> Vec<Record> {
    let Some(sink) = server(Kind::SmtpSink) else {
        eprintln!("e2e: skipped the client rows (no smtp-sink)");
        return Vec::new();
    };
    let message = message();
    let dir = std::env::temp_dir().join(format!("smtp-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("message.eml");
    std::fs::write(&file, &message).expect("write the message");
    let mut rows = Vec::new();
    let port = sink.port;
    let source = |m: u64| {
        smtp_source(port, m, connections, message.len() as u64).map(|e| m as f64 / e.as_secs_f64())
    };
    match alternate(
        rounds,
        || our_client(port, messages, connections, &file),
        || source(messages),
    ) {
        Some((o, p)) => rows.push(record(
            &format!("client, send to smtp-sink x{connections} connections"),
            "msg/s",
            "Postfix smtp-source",
            Some(1.5),
            true,
            &o,
            &p,
        )),
        None => eprintln!("e2e: skipped the smtp-source client row (a run failed)"),
    }
    // lettre sends about a hundred messages a second here (it leaves Nagle's
    // algorithm on, so each message waits for a delayed ACK): fewer messages
    // for this pair, the same number on both sides.
    let few = (messages / 20).max(200);
    match alternate(
        rounds,
        || our_client(port, few, connections, &file),
        || lettre_client(port, few, connections, &message),
    ) {
        Some((o, p)) => rows.push(record(
            &format!("client, send vs lettre x{connections} connections"),
            "msg/s",
            "lettre 0.11 (SmtpTransport)",
            Some(2.0),
            true,
            &o,
            &p,
        )),
        None => eprintln!("e2e: skipped the lettre client row (a run failed)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

fn main() {
    let args = Args::parse();
    let (rounds, small, large, clients) = if args.quick {
        (1, 5_000, 300, 5_000)
    } else {
        (3, 40_000, 2_000, 40_000)
    };
    if !examples().join("server").is_file() {
        eprintln!(
            "e2e: no example binaries in {}: run `cargo build --release -p smtp-tokio --examples` first",
            examples().display()
        );
        std::process::exit(2);
    }
    let mut records = Vec::new();
    records.extend(server_rows(
        rounds,
        Kind::SmtpSink,
        "Postfix smtp-sink",
        small,
        1024,
        10,
        (1.0, Some(1.0)),
    ));
    records.extend(server_rows(
        rounds,
        Kind::Aiosmtpd,
        "aiosmtpd (Sink)",
        small / 4,
        1024,
        10,
        (6.0, None),
    ));
    records.extend(server_rows(
        rounds,
        Kind::SmtpSink,
        "Postfix smtp-sink",
        large,
        102_400,
        20,
        (1.0, None),
    ));
    match alternate(
        rounds,
        || idle_memory(Kind::Ours, 2000),
        || idle_memory(Kind::Aiosmtpd, 2000),
    ) {
        Some((o, p)) => records.push(record(
            "memory per idle connection after EHLO, 2,000 held",
            "B/conn",
            "aiosmtpd (Sink)",
            Some(0.5),
            false,
            &o,
            &p,
        )),
        None => eprintln!("e2e: skipped the idle memory row (aiosmtpd missing or a run failed)"),
    }
    match concurrent(10_000) {
        Some(held) => records.push(record(
            "concurrent connections held by the tokio server",
            "connections",
            "asked for",
            Some(1.0),
            true,
            &[held],
            &[10_000.0],
        )),
        None => eprintln!("e2e: could not open 10,000 connections (file descriptor limit?)"),
    }
    records.extend(client_rows(rounds, clients, 4));
    args.finish(&records);
}
