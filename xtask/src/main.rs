//! Project automation, run as `cargo xtask <command>`.
//!
//! * `ci`      — everything CI checks: rustfmt, clippy (`-D warnings`), the workspace tests
//!   and doc tests, a `--no-default-features` build of smtp-proto, the no_std link check,
//!   and the rustdoc build with warnings denied.
//! * `nostd`   — the no_std link check alone (see `nostd-check/Cargo.toml`).
//! * `bench`   — the criterion benchmarks in `bench/`: smtp-proto beside a peer
//!   (Stalwart's parser) measured in the same run; extra arguments go to criterion.
//! * `fuzz [--time SECS] [TARGET...]` — seeds the corpora from the conformance
//!   transcripts, builds the cargo-fuzz targets in `fuzz/` (nightly, ASan, debug
//!   assertions) and runs each named target (default: all, one after another) for
//!   SECS seconds (default 60) with one libFuzzer job and `fuzz/smtp.dict`, then
//!   prints executions, coverage and crashes per target; fails on a crash.
//! * `fuzz-seed` — only writes the seed corpora (`fuzz/corpus/<target>/seed-*`).
//!
//! `ci` ends with a fuzz smoke (every target for 20 s) when both `cargo +nightly`
//! and `cargo fuzz` are available, and says that it skipped it otherwise.

use std::env;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

mod fuzz;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("nostd") => nostd(),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("fuzz-seed") => fuzz::seed(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | nostd | bench [criterion args] | \
                 fuzz [--time SECS] [TARGET...] | fuzz-seed>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs one step, printing its name and duration.
fn run(name: &str, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    println!("==> {name}: {program} {}", args.join(" "));
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("{name}: cannot run {program}: {e}"))?;
    println!("<== {name}: {:.1}s", start.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

/// Test counts summed over every `test result:` line a test step printed.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Runs a `cargo test` step, echoing its output and adding its counts to `tally`.
fn run_tests(name: &str, args: &[&str], tally: &mut Tally) -> Result<(), String> {
    println!("==> {name}: cargo {}", args.join(" "));
    let start = Instant::now();
    let mut child = Command::new("cargo")
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: cannot run cargo: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split([';', '.']) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next(), words.next()) {
                    let n: u64 = n.parse().unwrap_or(0);
                    match what {
                        "passed" => tally.passed += n,
                        "failed" => tally.failed += n,
                        "ignored" => tally.ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    println!("<== {name}: {:.1}s", start.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn ci() -> Result<(), String> {
    let start = Instant::now();
    run("fmt", "cargo", &["fmt", "--all", "--check"], &[])?;
    run(
        "clippy",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    run(
        "clippy (smtp-proto, no default features)",
        "cargo",
        &[
            "clippy",
            "-p",
            "smtp-proto",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    let mut tally = Tally::default();
    let tests = run_tests(
        "test",
        &["test", "--workspace", "--all-targets", "--all-features"],
        &mut tally,
    )
    .and_then(|()| {
        run_tests(
            "doctest",
            &["test", "--workspace", "--doc", "--all-features"],
            &mut tally,
        )
    });
    if let Err(e) = tests {
        println!(
            "tests: {} passed, {} failed",
            tally.passed,
            tally.failed.max(1)
        );
        return Err(e);
    }
    run(
        "build --no-default-features",
        "cargo",
        &["build", "-p", "smtp-proto", "--no-default-features"],
        &[],
    )?;
    nostd()?;
    run(
        "rustdoc",
        "cargo",
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    let fuzz_start = Instant::now();
    fuzz::smoke()?;
    println!("<== fuzz smoke: {:.1}s", fuzz_start.elapsed().as_secs_f64());
    println!(
        "xtask ci: all steps passed in {:.0}s ({} tests ignored)",
        start.elapsed().as_secs_f64(),
        tally.ignored
    );
    println!("tests: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

fn nostd() -> Result<(), String> {
    let manifest = root().join("nostd-check/Cargo.toml");
    let target = root().join("target/nostd-check");
    run(
        "no_std link check",
        "cargo",
        &[
            "build",
            "--manifest-path",
            manifest.to_str().ok_or("non-UTF-8 path")?,
            "--target-dir",
            target.to_str().ok_or("non-UTF-8 path")?,
        ],
        &[],
    )
}

fn bench(extra: &[String]) -> Result<(), String> {
    // `cargo xtask bench -- dot_stuff` and `cargo xtask bench dot_stuff` both work.
    let extra = match extra.first().map(String::as_str) {
        Some("--") => &extra[1..],
        _ => extra,
    };
    let manifest = root().join("bench/Cargo.toml");
    let target = root().join("target/bench");
    let mut args = vec![
        "bench",
        "--bench",
        "wire",
        "--manifest-path",
        manifest.to_str().ok_or("non-UTF-8 path")?,
        "--target-dir",
        target.to_str().ok_or("non-UTF-8 path")?,
    ];
    if !extra.is_empty() {
        args.push("--");
        args.extend(extra.iter().map(String::as_str));
    }
    run("bench", "cargo", &args, &[])
}
