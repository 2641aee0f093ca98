//! Shared by the tests that talk to real software over real sockets: finding
//! the peer programs, each adapter's example programs ([`Adapter`]), running
//! an example server as a child process, and reading replies. The tests of
//! smtp-blocking and smtp-async-std include this file too (`#[path]`).
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One adapter's example programs. `server` and `send` take the same flags
/// in every adapter; `args` go before the test's own (smtp-async-std's
/// `--runtime`).
#[derive(Clone, Copy, Debug)]
pub struct Adapter {
    /// For messages.
    pub name: &'static str,
    /// The example server's name (`target/<profile>/examples/<server>`).
    pub server: &'static str,
    /// The example client's name.
    pub send: &'static str,
    /// Given to both programs first.
    pub args: &'static [&'static str],
}

/// smtp-tokio's `server` and `send`.
pub const TOKIO: Adapter = Adapter {
    name: "tokio",
    server: "server",
    send: "send",
    args: &[],
};

/// smtp-blocking's `blocking-server` and `blocking-send`.
pub const BLOCKING: Adapter = Adapter {
    name: "blocking",
    server: "blocking-server",
    send: "blocking-send",
    args: &[],
};

/// smtp-async-std's `async-server` and `async-send` on smol.
pub const SMOL: Adapter = Adapter {
    name: "smol",
    server: "async-server",
    send: "async-send",
    args: &["--runtime", "smol"],
};

/// smtp-async-std's `async-server` and `async-send` on async-std.
pub const ASYNC_STD: Adapter = Adapter {
    name: "async-std",
    server: "async-server",
    send: "async-send",
    args: &["--runtime", "async-std"],
};

impl Adapter {
    /// Starts its example server (see [`ExampleServer::start_program`]).
    pub fn start(&self, tls: bool, args: &[&str]) -> ExampleServer {
        let all: Vec<&str> = self.args.iter().chain(args).copied().collect();
        ExampleServer::start_program(self.server, tls, &all)
    }

    /// Its example `send`, with the adapter's own arguments given.
    pub fn send(&self) -> Command {
        let mut cmd = Command::new(example(self.send));
        cmd.args(self.args);
        cmd
    }
}

/// A program the test needs. When it is missing the test is skipped with a
/// message, unless `SMTP_INTEROP_REQUIRED` is set (CI sets it: `.ci/run`
/// installs every peer), in which case the test fails.
pub fn peer(name: &str) -> Option<PathBuf> {
    let dirs = std::env::var("PATH").unwrap_or_default();
    let found = dirs
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var_os("SMTP_INTEROP_REQUIRED").is_some() {
            panic!("{name} is not installed (SMTP_INTEROP_REQUIRED is set; .ci/run installs it)");
        }
        eprintln!("SKIPPED: {name} is not installed (install it as .ci/run does)");
    }
    found
}

/// Whether a Python module can be imported (same rule as [`peer`]).
pub fn python_module(module: &str) -> bool {
    let Some(python) = peer("python3") else {
        return false;
    };
    let ok = Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("SMTP_INTEROP_REQUIRED").is_some() {
            panic!("python module {module} is missing (pip install it as .ci/run does)");
        }
        eprintln!("SKIPPED: python module {module} is missing");
    }
    ok
}

/// An example program built beside this test (`cargo test` builds examples
/// into `target/<profile>/examples/`).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the examples (cargo test builds them)",
        path.display()
    );
    path
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM
/// files into `dir`: (certificate, key).
pub fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a certificate");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
    (cert, key)
}

/// The example server, running as a child process.
pub struct ExampleServer {
    child: Child,
    /// The plain listener.
    pub addr: SocketAddr,
    /// The implicit-TLS listener, when asked for.
    pub tls_addr: Option<SocketAddr>,
    /// Its Maildir.
    pub maildir: PathBuf,
    /// The certificate it serves (PEM file), when TLS is on.
    pub cert: Option<PathBuf>,
    /// Holds the temporary directory.
    pub dir: tempfile::TempDir,
}

impl ExampleServer {
    /// Starts `PROGRAM --listen 127.0.0.1:0 --maildir TMP/maildir` plus
    /// `args`; with `tls`, also a certificate (`--tls-cert`/`--tls-key`) and
    /// an implicit-TLS listener. (Usually through [`Adapter::start`].)
    pub fn start_program(program: &str, tls: bool, args: &[&str]) -> ExampleServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("maildir");
        let mut cmd = Command::new(example(program));
        cmd.args(["--listen", "127.0.0.1:0", "--maildir"])
            .arg(&maildir)
            .args(args);
        let mut cert = None;
        if tls {
            let (c, k) = certificate(dir.path());
            cmd.arg("--tls-cert").arg(&c).arg("--tls-key").arg(&k);
            cmd.args(["--listen-tls", "127.0.0.1:0"]);
            cert = Some(c);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the example server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut addrs = Vec::new();
        for _ in 0..(1 + usize::from(tls)) {
            let line = lines.next().expect("a line").expect("utf-8");
            let addr = line
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected output: {line}"));
            addrs.push(addr.parse().expect("an address"));
        }
        ExampleServer {
            child,
            addr: addrs[0],
            tls_addr: addrs.get(1).copied(),
            maildir,
            cert,
            dir,
        }
    }

    /// The delivered files (`new/`), oldest name first.
    pub fn delivered(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<_> = std::fs::read_dir(self.maildir.join("new"))
            .expect("new/")
            .map(|e| e.expect("entry").path())
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read(p).expect("read"))
            .collect()
    }

    /// How many files are in `tmp/` (half-written messages).
    pub fn in_tmp(&self) -> usize {
        std::fs::read_dir(self.maildir.join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Waits until `n` messages are delivered (or panics after `secs`).
    pub fn wait_delivered(&self, n: usize, secs: u64) -> Vec<Vec<u8>> {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.delivered();
            if got.len() >= n || Instant::now() > end {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < end, "the server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A delivered file split into our trace headers (Return-Path, Delivered-To,
/// Received) and the message as received.
pub fn split_delivered(file: &[u8]) -> (String, Vec<u8>) {
    let mut at = 0;
    loop {
        let rest = &file[at..];
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| p + 2)
            .expect("a header line");
        let line = &rest[..line_end];
        let ours = line.starts_with(b"Return-Path:")
            || line.starts_with(b"Delivered-To:")
            || line.starts_with(b"Received:")
            || (line.starts_with(b"\t") && at > 0);
        if !ours {
            break;
        }
        at += line_end;
    }
    (
        String::from_utf8_lossy(&file[..at]).into_owned(),
        file[at..].to_vec(),
    )
}

/// Runs a command to its end with a time limit; returns (status, stdout, stderr).
pub fn run(cmd: &mut Command, secs: u64) -> (std::process::ExitStatus, String, String) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => {
            let out = out.expect("output");
            (
                out.status,
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{cmd:?} did not finish in {secs} s");
        }
    }
}

/// Runs `f` to its end on a new current-thread tokio runtime.
pub fn block_on_tokio<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Runs a command to its end; returns (status, stdout as bytes, stderr).
pub fn run_bytes(cmd: &mut Command) -> (std::process::ExitStatus, Vec<u8>, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status,
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The peer scripts (`smtp-tokio/tests/peers/`).
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../smtp-tokio/tests/peers")
}

/// Reads the `<len>\n<bytes>` records the Python clients print.
pub fn records(mut out: &[u8]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let nl = out.iter().position(|&b| b == b'\n').expect("a length");
        let len: usize = std::str::from_utf8(&out[..nl]).unwrap().parse().unwrap();
        all.push(out[nl + 1..nl + 1 + len].to_vec());
        out = &out[nl + 1 + len..];
    }
    all
}

/// Every file below `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A connection with a 10 s read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until `want` has arrived (or panics after 10 s); returns all read.
/// A read timeout on the stream (any length) is waited through.
pub fn read_until(s: &mut impl Read, want: &str) -> String {
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        assert!(
            Instant::now() < end,
            "waited for {want:?}, got {:?}",
            String::from_utf8_lossy(&got)
        );
        match s.read(&mut buf) {
            Ok(0) => panic!(
                "closed while waiting for {want:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}
