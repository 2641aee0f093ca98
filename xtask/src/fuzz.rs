//! `cargo xtask fuzz-seed` and `cargo xtask fuzz [--time SECS] [TARGET...]`: seed
//! corpora from the conformance transcripts, then the cargo-fuzz targets in `fuzz/`
//! one after another, each with a single libFuzzer job.
//!
//! The seeds are written to `fuzz/corpus/<target>/seed-*` (untracked). The `server`
//! seeds replay whole transcripts in the op format of `fuzz/src/server.rs`
//! (configuration header, then peer bytes, decisions, time and TLS ops); the other
//! targets get the pieces of the transcripts they parse: command lines, paths,
//! parameters, replies, EHLO responses, DATA and BDAT streams, SASL lines.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::root;

/// Every fuzz target, in the order `cargo xtask fuzz` runs them.
pub(crate) const TARGETS: [&str; 12] = [
    "command",
    "reply",
    "path",
    "params",
    "ehlo",
    "data_decoder",
    "bdat",
    "sasl",
    "roundtrip",
    "server",
    "client",
    "pair",
];

/// libFuzzer's `-max_len` per target: room for what each parses (SASL lines of
/// 12 KiB, floods past the line and buffer limits for `server`), small enough to
/// keep executions fast.
fn max_len(target: &str) -> usize {
    match target {
        "path" | "params" | "roundtrip" => 4096,
        "command" | "reply" | "ehlo" => 8192,
        "server" => 32768,
        "client" => 16384,
        "pair" => 16384,
        _ => 16384,
    }
}

/// Seconds per target in `cargo xtask ci`.
pub(crate) const SMOKE_SECS: u64 = 20;

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

/// Whether `cargo +nightly` and `cargo fuzz` both work.
pub(crate) fn available() -> Result<(), String> {
    let works = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(&["+nightly", "--version"]) {
        return Err("no nightly toolchain (rustup toolchain install nightly)".into());
    }
    if !works(&["fuzz", "--version"]) {
        return Err("no cargo-fuzz (cargo install cargo-fuzz --locked)".into());
    }
    Ok(())
}

// ----- transcripts -----------------------------------------------------------

/// A step of a transcript, as far as seeding needs it.
enum Step {
    Client(Vec<u8>),
    Server(String),
    Decision(String),
    Advance(u64),
    Eof,
    StartTls,
    Content(Vec<u8>),
}

struct Transcript {
    name: String,
    config: Vec<(String, String)>,
    implicit_tls: bool,
    steps: Vec<Step>,
}

/// The escapes of `C:` and `D:` lines (`smtp_proto::testkit` format).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 2;
        match b[i - 1] {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'z' => {}
            b'x' => {
                let hex = s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(hex.unwrap_or(b'?'));
                i += 2;
            }
            other => out.push(other),
        }
    }
    out
}

fn parse_transcript(name: &str, text: &str) -> Transcript {
    let mut t = Transcript {
        name: name.to_string(),
        config: Vec::new(),
        implicit_tls: false,
        steps: Vec::new(),
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("@config") {
            for kv in rest.split_whitespace() {
                let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
                t.config.push((k.to_string(), v.to_string()));
            }
        } else if line.trim() == "@implicit-tls" {
            t.implicit_tls = true;
        } else if let Some(rest) = line
            .strip_prefix("C: ")
            .or(line.strip_prefix("C:"))
            .or(line.strip_prefix("C! "))
        {
            // `C!` (bytes that arrive in one read) seeds like `C:`.
            t.steps.push(Step::Client(unescape(rest)));
        } else if let Some(rest) = line.strip_prefix("C* ") {
            if let Some((n, bytes)) = rest.split_once(' ') {
                let n: usize = n.parse().unwrap_or(1);
                t.steps.push(Step::Client(unescape(bytes).repeat(n)));
            }
        } else if let Some(rest) = line.strip_prefix("S: ").or(line.strip_prefix("S! ")) {
            t.steps
                .push(Step::Server(rest.trim_end_matches('*').to_string()));
        } else if let Some(rest) = line.strip_prefix("E: ") {
            if let Some((_, decision)) = rest.split_once(" -> ") {
                t.steps.push(Step::Decision(decision.trim().to_string()));
            }
        } else if let Some(rest) = line.strip_prefix("T+ ") {
            let rest = rest.trim();
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let n: u64 = digits.parse().unwrap_or(0);
            let ms = if rest.ends_with("ms") { n } else { n * 1000 };
            t.steps.push(Step::Advance(ms));
        } else if line.starts_with("C~ eof") {
            t.steps.push(Step::Eof);
        } else if line.trim_end() == "S~ starttls" {
            // `S~ starttls-pending` is an upgrade that never completes: no step.
            t.steps.push(Step::StartTls);
        } else if let Some(rest) = line.strip_prefix("D: ") {
            t.steps.push(Step::Content(unescape(rest)));
        }
    }
    t
}

fn transcripts() -> Result<Vec<Transcript>, String> {
    let dir = root().join("smtp-proto/tests/transcripts");
    let mut files = Vec::new();
    for kind in ["server", "client"] {
        let Ok(entries) = fs::read_dir(dir.join(kind)) else {
            continue;
        };
        for e in entries {
            let path = e.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|x| x == "smtp") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let name = p
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            Ok(parse_transcript(&name, &text))
        })
        .collect()
}

// ----- seeds -------------------------------------------------------------------

/// Seeds per target, deduplicated by content.
#[derive(Default)]
struct Seeds(BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>);

impl Seeds {
    fn add(&mut self, target: &'static str, name: Option<&str>, mut bytes: Vec<u8>) {
        bytes.truncate(max_len(target));
        let name = match name {
            Some(n) => format!("seed-{n}"),
            None => format!("seed-{:016x}", fnv(&bytes)),
        };
        let entry = self.0.entry(target).or_default();
        if !entry.values().any(|b| *b == bytes) {
            entry.insert(name, bytes);
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The configuration header of `fuzz/src/server.rs` (`ServerSpec::from_header`).
fn server_header(t: &Transcript) -> [u8; 12] {
    let mut h = [0u8; 12];
    if t.implicit_tls {
        h[0] |= 2;
    }
    let on = |v: &str| matches!(v, "true" | "on" | "yes");
    let index = |table: &[&str], v: &str| table.iter().position(|x| *x == v);
    for (k, v) in &t.config {
        let v = v.as_str();
        match k.as_str() {
            "lmtp" if on(v) => h[0] |= 1,
            "auth_without_tls" if on(v) => h[0] |= 8,
            "require_tls" if on(v) => h[0] |= 16,
            "require_auth" if on(v) => h[0] |= 32,
            "helo" if v == "lenient" => h[0] |= 64,
            "command_lf" if v == "lenient" => h[0] |= 128,
            "pipelining" if !on(v) => h[1] |= 1,
            "8bitmime" if !on(v) => h[1] |= 2,
            "enhancedstatuscodes" if !on(v) => h[1] |= 4,
            "chunking" if !on(v) => h[1] |= 8,
            "smtputf8" if !on(v) => h[1] |= 16,
            "dsn" if !on(v) => h[1] |= 32,
            "binarymime" if on(v) => h[1] |= 64,
            "requiretls" if on(v) => h[1] |= 128,
            "starttls" if on(v) => h[2] |= 1,
            "auth" => {
                h[2] |= match v {
                    "none" => 0,
                    "PLAIN,LOGIN" | "PLAIN" | "LOGIN" => 1 << 1,
                    "XOAUTH2,OAUTHBEARER" | "XOAUTH2" | "OAUTHBEARER" => 2 << 1,
                    _ => 3 << 1,
                }
            }
            "bare_lf" if v == "normalize" => h[2] |= 8,
            "vrfy" if v == "disabled" => h[2] |= 16,
            "expn" if v != "disabled" => h[2] |= 32,
            "max_size" => {
                let table = [
                    "10485760",
                    "none",
                    "100",
                    "0",
                    "18446744073709551615",
                    "1000",
                ];
                h[3] = index(&table, v).unwrap_or(0) as u8;
            }
            "max_errors" => {
                let table = ["20", "0", "1", "3", "100"];
                h[4] |= (index(&table, v).unwrap_or(0) as u8) << 4;
            }
            "command_line" => {
                h[5] |= index(&["2048", "512", "0", "513"], v).unwrap_or(0) as u8;
            }
            "max_input" => h[7] = index(&["65536", "0", "1024", "4096"], v).unwrap_or(0) as u8,
            "timeout" => h[8] = index(&["300s", "1s", "0s", "60s"], v).unwrap_or(0) as u8,
            "data_timeout" => h[9] = index(&["300s", "1s", "0s", "60s"], v).unwrap_or(0) as u8,
            _ => {}
        }
    }
    h
}

/// A reply code and text from a decision's `CODE [X.Y.Z] text`.
fn decision_code(rest: &str) -> u16 {
    rest.split_whitespace()
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(550)
}

/// A whole transcript as `server` ops; `chunk` is the read-size nibble.
fn server_seed(t: &Transcript, chunk: u8) -> Vec<u8> {
    let mut out = server_header(t).to_vec();
    for step in &t.steps {
        match step {
            Step::Client(bytes) => {
                for piece in bytes.chunks(usize::from(u16::MAX)) {
                    out.push(chunk);
                    out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
                    out.extend_from_slice(piece);
                }
            }
            Step::Decision(d) => {
                let (word, rest) = d.split_once(' ').unwrap_or((d, ""));
                match word {
                    "accept" if rest.is_empty() => out.push(0x10),
                    "accept" => {
                        out.push(0x11);
                        out.extend_from_slice(&decision_code(rest).to_be_bytes());
                        out.push(0);
                    }
                    "per" => {
                        out.extend_from_slice(&[0x13, 0]);
                        out.extend_from_slice(&decision_code(rest).to_be_bytes());
                        out.push(0);
                    }
                    _ => {
                        out.push(0x12);
                        out.extend_from_slice(&decision_code(rest).to_be_bytes());
                        out.push(0);
                    }
                }
            }
            Step::Advance(ms) => {
                out.push(0x20);
                out.extend_from_slice(&(u32::try_from(*ms).unwrap_or(u32::MAX)).to_be_bytes());
            }
            Step::Eof => out.push(0x40),
            Step::StartTls => out.push(0x50),
            Step::Server(_) | Step::Content(_) => {}
        }
    }
    out
}

/// Decodes standard base64 (for SASL seeds); `None` if it is not base64.
fn base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text.trim_end_matches('=').as_bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn with_prefix(prefix: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(bytes);
    v
}

fn collect_seeds(ts: &[Transcript]) -> Seeds {
    let mut s = Seeds::default();
    for t in ts {
        // server: the whole dialogue, whole reads and (unless it is a flood) byte
        // by byte.
        let whole = server_seed(t, 0);
        if whole.len() <= 8192 {
            let name = format!("{}-bytewise", t.name);
            s.add("server", Some(&name), server_seed(t, 1));
        }
        s.add("server", Some(&t.name), whole);

        let client: Vec<u8> = t
            .steps
            .iter()
            .filter_map(|st| match st {
                Step::Client(b) => Some(b.as_slice()),
                _ => None,
            })
            .flatten()
            .copied()
            .collect();
        // client: the server's side of the transcript as the peer's byte stream
        // (opportunistic TLS, pipelining), with a message sent after the second reply.
        let mut peer = vec![0x22u8];
        let mut replies = 0;
        for st in &t.steps {
            if let Step::Server(line) = st {
                let mut bytes = unescape(line);
                if !bytes.ends_with(b"\n") {
                    bytes.extend_from_slice(b"\r\n");
                }
                for chunk in bytes.chunks(256) {
                    peer.push(0);
                    peer.push(u8::try_from(chunk.len() - 1).unwrap_or(255));
                    peer.extend_from_slice(chunk);
                }
                replies += 1;
                if replies == 2 {
                    peer.extend_from_slice(&[5, 0, 1, 6, 5]);
                    peer.extend_from_slice(b"hello");
                    peer.extend_from_slice(&[7, 0]);
                }
            }
        }
        s.add("client", Some(&t.name), peer);

        // bdat and data_decoder: the client stream from the first BDAT / DATA on.
        let find = |needle: &[u8]| {
            client
                .windows(needle.len())
                .position(|w| w.eq_ignore_ascii_case(needle))
        };
        if let Some(i) = find(b"BDAT ") {
            s.add("bdat", None, with_prefix(&[0; 13], &client[i..]));
        }
        if let Some(i) = find(b"DATA\r\n") {
            let data = &client[i + 6..];
            s.add("data_decoder", None, with_prefix(&[0; 13], data));
            s.add("data_decoder", None, with_prefix(&[1; 13], data));
        }
        for st in &t.steps {
            if let Step::Content(c) = st {
                s.add("data_decoder", None, with_prefix(&[0; 13], c));
            }
        }

        // command, path, params, sasl: line by line.
        for line in client.split_inclusive(|&b| b == b'\n') {
            let bare = line.strip_suffix(b"\r\n").unwrap_or(line);
            s.add("command", None, with_prefix(&[0], bare));
            let text = String::from_utf8_lossy(bare);
            let upper = text.to_ascii_uppercase();
            for prefix in ["MAIL FROM:", "RCPT TO:"] {
                if upper.starts_with(prefix) {
                    let arg = &text[prefix.len()..];
                    s.add("path", None, with_prefix(&[0], arg.as_bytes()));
                    s.add("path", None, with_prefix(&[1], arg.as_bytes()));
                    if let Some(i) = arg.find('>') {
                        s.add("params", None, with_prefix(&[0], &arg.as_bytes()[i + 1..]));
                    }
                }
            }
            let words: Vec<&str> = text.split(' ').collect();
            if upper.starts_with("AUTH ") {
                if let Some(ir) = words.get(2) {
                    s.add("sasl", None, with_prefix(&[0], ir.as_bytes()));
                    if let Some(raw) = base64(ir) {
                        s.add("sasl", None, with_prefix(&[0], &raw));
                    }
                }
            } else if words.len() == 1 && !text.is_empty() {
                s.add("sasl", None, with_prefix(&[0], bare));
                if let Some(raw) = base64(&text) {
                    s.add("sasl", None, with_prefix(&[0], &raw));
                }
            }
        }

        // reply and ehlo: the server's replies, one by one and as a stream.
        let mut stream = Vec::new();
        let mut current = Vec::new();
        for st in &t.steps {
            let Step::Server(line) = st else { continue };
            current.extend_from_slice(line.as_bytes());
            current.extend_from_slice(b"\r\n");
            if line.as_bytes().get(3) != Some(&b'-') {
                s.add("reply", None, with_prefix(&[0], &current));
                if current.starts_with(b"250-") {
                    s.add("ehlo", None, with_prefix(&[0], &current));
                    let text = String::from_utf8_lossy(&current).replace("\r\n", "\n");
                    let lines: String = text
                        .lines()
                        .map(|l| l.get(4..).unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join("\n");
                    s.add("ehlo", None, with_prefix(&[1], lines.as_bytes()));
                }
                stream.extend_from_slice(&current);
                current.clear();
            }
        }
        if !stream.is_empty() {
            s.add("reply", None, with_prefix(&[0], &stream));
        }
    }
    s
}

/// `cargo xtask fuzz-seed`: writes the seed corpora.
pub(crate) fn seed() -> Result<(), String> {
    let ts = transcripts()?;
    let seeds = collect_seeds(&ts);
    let corpus = fuzz_dir().join("corpus");
    for target in TARGETS {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let files = seeds.0.get(target);
        for (name, bytes) in files.into_iter().flatten() {
            let path = dir.join(name);
            fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        println!(
            "fuzz-seed: {target}: {} seeds from {} transcripts",
            files.map_or(0, BTreeMap::len),
            ts.len()
        );
    }
    Ok(())
}

// ----- running -------------------------------------------------------------------

/// What one target's run reported.
struct Report {
    target: &'static str,
    execs: Option<u64>,
    cov: Option<u64>,
    ft: Option<u64>,
    corpus: Option<String>,
    crash: Option<String>,
    secs: f64,
}

/// `cargo xtask fuzz [--time SECS] [TARGET...]`.
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let mut secs = 60;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => {
                let v = it.next().ok_or("--time needs a number of seconds")?;
                secs = v.parse().map_err(|_| format!("--time {v}: not a number"))?;
            }
            t => match TARGETS.iter().find(|x| **x == t) {
                Some(t) => targets.push(*t),
                None => {
                    return Err(format!(
                        "unknown fuzz target {t} (targets: {})",
                        TARGETS.join(", ")
                    ));
                }
            },
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    available()?;
    run_targets(&targets, secs)
}

/// `cargo xtask ci`'s fuzz step: every target for a short while, when the tools are there.
pub(crate) fn smoke() -> Result<(), String> {
    if let Err(why) = available() {
        println!("==> fuzz smoke: skipped: {why}");
        return Ok(());
    }
    run_targets(&TARGETS, SMOKE_SECS)
}

/// Where cargo-fuzz builds: `$CARGO_TARGET_DIR/fuzz` if set, else `fuzz/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("fuzz"),
        _ => fuzz_dir().join("target"),
    }
}

fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc")
        .args(["+nightly", "-vV"])
        .output()
        .map_err(|e| format!("rustc +nightly -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "no host triple in rustc -vV".into())
}

fn run_targets(targets: &[&'static str], secs: u64) -> Result<(), String> {
    let start = Instant::now();
    seed()?;
    let target_dir = target_dir();
    let target_dir_str = target_dir.to_str().ok_or("non-UTF-8 target dir")?;
    // One build for every target: release, debug assertions (overflow checks), ASan.
    println!("==> fuzz build: cargo +nightly fuzz build -a --target-dir {target_dir_str}");
    let build = Instant::now();
    let status = Command::new("cargo")
        .args([
            "+nightly",
            "fuzz",
            "build",
            "-a",
            "--target-dir",
            target_dir_str,
        ])
        .current_dir(fuzz_dir())
        .status()
        .map_err(|e| format!("cargo fuzz build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo fuzz build failed ({status})"));
    }
    println!("<== fuzz build: {:.1}s", build.elapsed().as_secs_f64());
    let bin_dir = target_dir.join(host_triple()?).join("release");
    let mut reports = Vec::new();
    for &target in targets {
        reports.push(run_one(target, &bin_dir, secs)?);
    }
    println!(
        "fuzz summary ({secs}s per target, {:.0}s in all):",
        start.elapsed().as_secs_f64()
    );
    let mut crashed = Vec::new();
    for r in &reports {
        let n = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        println!(
            "  {:<13} {:>10} execs  cov {:>5}  ft {:>6}  corpus {:<14} {:>5.0}s  {}",
            r.target,
            n(r.execs),
            n(r.cov),
            n(r.ft),
            r.corpus.as_deref().unwrap_or("?"),
            r.secs,
            match &r.crash {
                None => "no crash".to_string(),
                Some(c) => format!("CRASH: {c}"),
            }
        );
        if r.crash.is_some() {
            crashed.push(r.target);
        }
    }
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets crashed: {}", crashed.join(", ")))
    }
}

fn run_one(target: &'static str, bin_dir: &Path, secs: u64) -> Result<Report, String> {
    let fuzz = fuzz_dir();
    let corpus = fuzz.join("corpus").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let log = artifacts.join("fuzz-0.log");
    let _ = fs::remove_file(&log);
    let before = artifact_files(&artifacts);
    let bin = bin_dir.join(target);
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let args = [
        path(&corpus),
        format!("-dict={}", path(&fuzz.join("smtp.dict"))),
        format!("-max_total_time={secs}"),
        "-jobs=1".into(),
        "-workers=1".into(),
        "-print_final_stats=1".into(),
        "-timeout=30".into(),
        "-rss_limit_mb=3072".into(),
        format!("-max_len={}", max_len(target)),
        format!("-artifact_prefix={}/", path(&artifacts)),
    ];
    println!("==> fuzz {target}: {} {}", bin.display(), args.join(" "));
    let start = Instant::now();
    // With -jobs, libFuzzer runs one worker process whose output goes to
    // fuzz-0.log in the working directory.
    let status = Command::new(&bin)
        .args(&args)
        .current_dir(&artifacts)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let secs_taken = start.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log).unwrap_or_default();
    let mut report = Report {
        target,
        execs: None,
        cov: None,
        ft: None,
        corpus: None,
        crash: None,
        secs: secs_taken,
    };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            report.execs = v.trim().parse().ok();
        }
        if line.starts_with('#') && line.contains(" cov: ") {
            let field = |name: &str| {
                line.split_whitespace()
                    .skip_while(|w| *w != name)
                    .nth(1)
                    .map(str::to_string)
            };
            report.cov = field("cov:").and_then(|v| v.parse().ok());
            report.ft = field("ft:").and_then(|v| v.parse().ok());
            report.corpus = field("corp:");
        }
    }
    let new: Vec<String> = artifact_files(&artifacts)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    let failed = !status.success()
        || text.contains("ERROR: libFuzzer")
        || text.contains("ERROR: AddressSanitizer");
    if failed || !new.is_empty() {
        let what = text
            .lines()
            .find(|l| l.contains("panicked at") || l.contains("ERROR:"))
            .unwrap_or("the fuzzer failed")
            .trim()
            .to_string();
        let files = if new.is_empty() {
            format!("see {}", log.display())
        } else {
            new.join(", ")
        };
        report.crash = Some(format!("{what} ({files})"));
        // Show the panic message and the start of the backtrace.
        for line in text
            .lines()
            .skip_while(|l| !l.contains("panicked at") && !l.contains("ERROR:"))
            .take(12)
        {
            println!("    {line}");
        }
    }
    println!("<== fuzz {target}: {secs_taken:.0}s");
    Ok(report)
}

/// Crash, timeout and OOM artifacts in `dir`.
fn artifact_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        ["crash-", "timeout-", "oom-", "leak-"]
                            .iter()
                            .any(|pre| n.starts_with(pre))
                    })
                })
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_become_server_ops() {
        let t = parse_transcript(
            "demo",
            "@config lmtp=on starttls=on max_errors=3\nE: Connected -> accept\nS: 220 *\n\
             C: LHLO a\\r\\n\nE: Hello LHLO a -> reject 550 5.7.1 no\nT+ 301s\nS~ starttls\nC~ eof\n",
        );
        let seed = server_seed(&t, 0);
        let mut want = vec![1, 0, 1, 0, 3 << 4, 0, 0, 0, 0, 0, 0, 0];
        want.push(0x10);
        want.extend_from_slice(&[0x00, 0, 8]);
        want.extend_from_slice(b"LHLO a\r\n");
        want.extend_from_slice(&[0x12, 0x02, 0x26, 0]);
        want.push(0x20);
        want.extend_from_slice(&301_000u32.to_be_bytes());
        want.extend_from_slice(&[0x50, 0x40]);
        assert_eq!(seed, want);
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(base64("AHVzZXIAcGFzcw==").unwrap(), b"\0user\0pass");
        assert_eq!(base64("dGlt").unwrap(), b"tim");
        assert!(base64("not base64!").is_none());
    }
}
