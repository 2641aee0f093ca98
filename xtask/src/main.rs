//! Project automation, run as `cargo xtask <command>`.
//!
//! * `ci`      — everything CI checks: rustfmt, clippy (`-D warnings`), the workspace tests
//!   and doc tests, the conformance matrix, a `--no-default-features` build of smtp-proto,
//!   the no_std link check, and the rustdoc build with warnings denied.
//! * `conformance` — every server and client transcript against every driver (the bare
//!   core, tokio, smol, async-std, blocking) over loopback sockets: runs the `conformance`
//!   crate's test and prints the matrix (rows: transcripts, columns: drivers) and a final
//!   `N passed, N failed, N skipped` line; fails on any failure (see [`conformance`]).
//! * `nostd`   — the no_std link check alone (see `nostd-check/Cargo.toml`).
//! * `bench [--quick]` — every figure of the performance issue beside its peer,
//!   measured in the same run: installs the peers (`.ci/install-peers`), builds the
//!   tokio examples, runs `bench/`'s `core` (parsers, DATA codec, sessions) and `e2e`
//!   (servers under smtp-source, idle memory, clients) programs, then `report`, which
//!   prints one table and writes `bench/results/latest.json` and
//!   `bench/results/ratios.svg` (the README's chart).
//! * `bench criterion [ARGS]` — the criterion benchmarks in `bench/` (same peers, more
//!   detail); ARGS go to criterion.
//! * `fuzz [--time SECS] [TARGET...]` — seeds the corpora from the conformance
//!   transcripts, builds the cargo-fuzz targets in `fuzz/` (nightly, ASan, debug
//!   assertions) and runs each named target (default: all, one after another) for
//!   SECS seconds (default 60) with one libFuzzer job and `fuzz/smtp.dict`, then
//!   prints executions, coverage and crashes per target; fails on a crash.
//! * `fuzz-seed` — only writes the seed corpora (`fuzz/corpus/<target>/seed-*`).
//!
//! `ci` ends with a fuzz smoke (every target for 20 s) when both `cargo +nightly`
//! and `cargo fuzz` are available, and says that it skipped it otherwise.
//!
//! Run it from anywhere inside the repository: the workspace root is found at run
//! time by walking up from the current directory ([`find_root`]), never from a path
//! baked in when xtask was compiled.

use std::env;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

mod conformance;
mod fuzz;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let found = env::current_dir()
        .map_err(|e| format!("cannot read the current directory: {e}"))
        .and_then(|cwd| find_root(&cwd));
    match found {
        Ok(dir) => {
            ROOT.set(dir).expect("set once");
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("nostd") => nostd(),
        Some("conformance") => conformance::conformance(&mut Tally::default()),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("fuzz-seed") => fuzz::seed(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | conformance | nostd | bench [--quick] | \
                 bench criterion [ARGS] | \
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

/// The workspace root, found at run time by [`find_root`] before any command runs.
static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// The workspace root (set in `main`).
fn root() -> PathBuf {
    ROOT.get()
        .expect("the workspace root is found before any command runs")
        .clone()
}

/// The project root: the nearest directory, from `start` upward, whose `Cargo.toml`
/// has a `[workspace]` table and which holds `xtask/Cargo.toml`.
///
/// Found at run time rather than baked in at compile time (`CARGO_MANIFEST_DIR`),
/// so that a copied or moved checkout, built `target/` and all, works on itself and
/// not on the place it was built in. The nested workspaces (`fuzz/`, `bench/`,
/// `nostd-check/`) have no `xtask/` and are passed over.
fn find_root(start: &Path) -> Result<PathBuf, String> {
    for dir in start.ancestors() {
        let Ok(manifest) = fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let is_workspace = manifest.lines().any(|l| l.trim() == "[workspace]");
        if is_workspace && dir.join("xtask/Cargo.toml").is_file() {
            return Ok(dir.to_path_buf());
        }
    }
    Err(format!(
        "not inside the project: no Cargo.toml with [workspace] beside an xtask/ directory \
         in {} or any directory above it; run `cargo xtask` from the repository",
        start.display()
    ))
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
pub(crate) struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Runs a `cargo test` step, echoing its output and adding its counts to `tally`.
fn run_tests(name: &str, args: &[&str], tally: &mut Tally) -> Result<(), String> {
    let start = Instant::now();
    let status = stream_cargo(name, args, tally, |_| false)?;
    println!("<== {name}: {:.1}s", start.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

/// Runs `cargo ARGS`, handing each line of its output to `take` first: the
/// lines it does not take are echoed and their `test result:` counts added
/// to `tally`. Returns the exit status.
pub(crate) fn stream_cargo(
    name: &str,
    args: &[&str],
    tally: &mut Tally,
    mut take: impl FnMut(&str) -> bool,
) -> Result<std::process::ExitStatus, String> {
    println!("==> {name}: cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: cannot run cargo: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if !take(&line) {
            println!("{line}");
            tally_line(&line, tally);
        }
    }
    child.wait().map_err(|e| e.to_string())
}

/// Adds the counts of a `test result:` line (if `line` is one) to `tally`.
pub(crate) fn tally_line(line: &str, tally: &mut Tally) {
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
    // The conformance matrix runs once, in its own step below.
    let tests = run_tests(
        "test",
        &[
            "test",
            "--workspace",
            "--exclude",
            "conformance",
            "--all-targets",
            "--all-features",
        ],
        &mut tally,
    )
    .and_then(|()| {
        run_tests(
            "doctest",
            &["test", "--workspace", "--doc", "--all-features"],
            &mut tally,
        )
    })
    .and_then(|()| conformance::conformance(&mut tally));
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

fn bench(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("criterion") {
        return criterion(&args[1..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let root = root();
    let path = |p: PathBuf| p.to_str().map(String::from).ok_or("non-UTF-8 path");
    let manifest = path(root.join("bench/Cargo.toml"))?;
    let target = path(root.join("target/bench"))?;
    let results = path(root.join("bench/results"))?;
    // Without root (apt-get) a missing peer cannot be installed: its rows are
    // skipped, as `e2e` says, and the rest is measured.
    if let Err(e) = run(
        "peers",
        "bash",
        &[&path(root.join(".ci/install-peers"))?],
        &[],
    ) {
        eprintln!("xtask: {e}; going on without the missing peers");
    }
    run(
        "examples",
        "cargo",
        &["build", "--release", "-p", "smtp-tokio", "--examples"],
        &[],
    )?;
    let examples = path(root.join("target/release/examples"))?;
    // One of bench/'s programs, with its arguments.
    let program = |bin: &str, args: &[&str]| {
        let mut cmd = vec!["run", "--release", "--manifest-path", &manifest];
        cmd.extend(["--target-dir", &target, "--bin", bin, "--"]);
        cmd.extend(args);
        run(bin, "cargo", &cmd, &[("SMTP_EXAMPLES", &examples)])
    };
    let mut jsons = Vec::new();
    for bin in ["core", "e2e"] {
        let json = path(root.join(format!("target/bench/{bin}.json")))?;
        let quick: &[&str] = if quick { &["--quick"] } else { &[] };
        program(bin, &[&["--json", json.as_str()][..], quick].concat())?;
        jsons.push(json);
    }
    let mut args = vec!["--out", results.as_str()];
    args.extend(jsons.iter().map(String::as_str));
    program("report", &args)
}

/// The criterion benchmarks, with `extra` for criterion.
fn criterion(extra: &[String]) -> Result<(), String> {
    // `cargo xtask bench criterion -- dot_stuff` and `... criterion dot_stuff` both work.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory under the system temp dir.
    fn temp_tree(name: &str) -> PathBuf {
        let dir = env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn find_root_walks_up_past_nested_workspaces() {
        let top = temp_tree("root");
        let project = top.join("copy/of/project");
        write(
            &project.join("Cargo.toml"),
            "[workspace]\nmembers = [\"xtask\"]\n",
        );
        write(
            &project.join("xtask/Cargo.toml"),
            "[package]\nname = \"xtask\"\n",
        );
        // A member crate, and a nested workspace of its own (like nostd-check/).
        write(&project.join("smtp-proto/Cargo.toml"), "[package]\n");
        write(
            &project.join("nostd-check/Cargo.toml"),
            "[package]\n\n[workspace]\n",
        );
        let deep = project.join("smtp-proto/src/wire");
        fs::create_dir_all(&deep).unwrap();
        fs::create_dir_all(project.join("nostd-check/src")).unwrap();

        assert_eq!(find_root(&project).unwrap(), project);
        assert_eq!(find_root(&project.join("xtask")).unwrap(), project);
        assert_eq!(find_root(&deep).unwrap(), project);
        assert_eq!(
            find_root(&project.join("nostd-check/src")).unwrap(),
            project
        );
        fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn find_root_outside_the_project_is_a_clear_error() {
        let top = temp_tree("outside");
        // A workspace without xtask/ is somebody else's project.
        write(&top.join("Cargo.toml"), "[workspace]\n");
        let dir = top.join("a/b");
        fs::create_dir_all(&dir).unwrap();
        let err = find_root(&dir).unwrap_err();
        assert!(err.contains("not inside the project"), "{err}");
        assert!(err.contains(&dir.display().to_string()), "{err}");
        fs::remove_dir_all(&top).unwrap();
    }
}
