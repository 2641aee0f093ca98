//! Runs every server transcript in `tests/transcripts/server/` and every client
//! transcript in `tests/transcripts/client/` against the bare core, whole, byte
//! by byte and under random splits: the result must not depend on how the input
//! is chunked (DESIGN rule 7).

use std::fs;
use std::path::PathBuf;

use smtp_proto::testkit::{
    Chunking, TranscriptError, parse_client_script, parse_script, run_client_transcript,
    run_server_transcript,
};

const CHUNKINGS: [Chunking; 5] = [
    Chunking::Whole,
    Chunking::ByteByByte,
    Chunking::Random(0x5eed),
    Chunking::Random(0xdead_beef),
    Chunking::Random(42),
];

fn transcripts(kind: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(kind);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "smtp"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).expect("readable transcript");
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
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

#[test]
fn server_transcripts_under_every_chunking() {
    run_all("server", parse_script, run_server_transcript);
}

#[test]
fn at_least_sixty_server_transcripts() {
    let n = transcripts("server").len();
    assert!(n >= 60, "only {n} server transcripts");
}

#[test]
fn client_transcripts_under_every_chunking() {
    run_all("client", parse_client_script, run_client_transcript);
}

#[test]
fn at_least_forty_client_transcripts() {
    let n = transcripts("client").len();
    assert!(n >= 40, "only {n} client transcripts");
}
