//! Runs every server transcript in `tests/transcripts/server/` and every client
//! transcript in `tests/transcripts/client/` against the bare core, whole, byte
//! by byte and under random splits: the result must not depend on how the input
//! is chunked (ARCHITECTURE.md R7).
//!
//! With `TRANSCRIPT_BLESS=1`, the server transcripts are first rewritten in
//! place with the `E:` lines of the informational events the session emits
//! ([`bless_server_transcript`]); review the diff before committing it.

use std::fs;
use std::path::PathBuf;

use smtp_proto::testkit::{
    Chunking, TranscriptError, bless_server_transcript, load_transcripts, parse_client_script,
    parse_script, run_client_transcript, run_server_transcript,
};

const CHUNKINGS: [Chunking; 5] = [
    Chunking::Whole,
    Chunking::ByteByByte,
    Chunking::Random(0x5eed),
    Chunking::Random(0xdead_beef),
    Chunking::Random(42),
];

fn transcripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

fn transcripts(kind: &str) -> Vec<(String, String)> {
    load_transcripts(&transcripts_dir().join(kind))
}

/// Parses every transcript of `kind` and plays it under every chunking with
/// `run`; fails listing every transcript that did not parse or pass.
fn run_all<S>(
    kind: &str,
    parse: fn(&str) -> Result<S, String>,
    run: fn(&S, Chunking) -> Result<(), TranscriptError>,
) {
    let files = transcripts(kind);
    let mut failures = Vec::new();
    for (file, text) in &files {
        let script = match parse(text) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        for chunking in CHUNKINGS {
            if let Err(e) = run(&script, chunking) {
                failures.push(format!("{file}: {e}"));
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {kind} transcripts failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// With `TRANSCRIPT_BLESS=1`: rewrites every server transcript whose
/// informational `E:` lines are not what the session emits.
fn bless_server_transcripts() {
    if std::env::var_os("TRANSCRIPT_BLESS").is_none_or(|v| v != "1") {
        return;
    }
    let dir = transcripts_dir().join("server");
    let mut failures = Vec::new();
    for (file, text) in transcripts("server") {
        match bless_server_transcript(&text) {
            Ok(blessed) if blessed != text => {
                fs::write(dir.join(&file), blessed).expect("writable transcript");
                eprintln!("blessed {file}");
            }
            Ok(_) => {}
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "could not bless:\n{}",
        failures.join("\n")
    );
}

#[test]
fn server_transcripts_under_every_chunking() {
    bless_server_transcripts();
    run_all("server", parse_script, run_server_transcript);
}

#[test]
fn client_transcripts_under_every_chunking() {
    run_all("client", parse_client_script, run_client_transcript);
}

/// `tests/transcripts/INDEX` lists every transcript (`server/NAME.smtp`,
/// `client/NAME.smtp`, one a line, sorted; `#` comments): a transcript that
/// vanishes, or one added without being listed, fails here.
#[test]
fn the_index_lists_every_transcript() {
    let index =
        fs::read_to_string(transcripts_dir().join("INDEX")).expect("tests/transcripts/INDEX");
    let listed: Vec<&str> = index
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(listed, sorted, "INDEX must be sorted, without duplicates");
    let mut found: Vec<String> = ["client", "server"]
        .iter()
        .flat_map(|kind| {
            transcripts(kind)
                .into_iter()
                .map(move |(f, _)| format!("{kind}/{f}"))
        })
        .collect();
    found.sort_unstable();
    let missing: Vec<_> = listed
        .iter()
        .filter(|l| !found.iter().any(|f| f == *l))
        .collect();
    let unlisted: Vec<_> = found
        .iter()
        .filter(|f| !listed.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "tests/transcripts/INDEX and the directories disagree:\n  listed but missing: {missing:?}\n  present but not listed: {unlisted:?}"
    );
}
