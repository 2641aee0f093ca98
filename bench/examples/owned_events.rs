//! What the server session's owned events cost it beside mailin.
//!
//! `ServerEvent::MailFrom` and `ServerEvent::RcptTo` carry their path and
//! parameters as owned `'static` values, so that an application (an async
//! handler, a queue) can keep them past the next call into the session. The
//! session copies them out of the command line for that: four strings a
//! message (local part and domain, twice). mailin's handler gets `&str`s
//! borrowed from the line instead.
//!
//! This program measures that copy on the benchmark dialogue's own MAIL and
//! RCPT lines (parsed borrowed, then parsed and made owned: the difference),
//! and sets it beside the whole server session and mailin's on the same
//! dialogue as `cargo run --release --bin core -- --sessions` runs them.
//!
//! Run with `cargo run -j 1 --release --example owned_events` from `bench/`.
//! It only prints: it is a measurement, not a test.

#[allow(dead_code)]
#[path = "../src/bin/core/sessions.rs"]
mod sessions;

use std::hint::black_box;
use std::time::Instant;

use smtp_proto::wire::command::{ParseOptions, parse_command};

/// The dialogue's MAIL and RCPT lines (`sessions.rs`), without their CRLF.
const MAIL: &[u8] = b"MAIL FROM:<sender.name@client.example.org> BODY=8BITMIME";
const RCPT: &[u8] = b"RCPT TO:<recipient@mx.example.net>";

/// The best of seven timings of `n` calls of `f`, in nanoseconds per call.
fn best_ns(n: usize, f: &mut dyn FnMut()) -> f64 {
    (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let opts = ParseOptions::default();
    let n = 2_000_000;
    let borrowed = best_ns(n, &mut || {
        for line in [MAIL, RCPT] {
            let _ = black_box(parse_command(black_box(line), &opts));
        }
    });
    let owned = best_ns(n, &mut || {
        for line in [MAIL, RCPT] {
            let _ = black_box(parse_command(black_box(line), &opts).map(|c| c.into_owned()));
        }
    });
    let copies = owned - borrowed;

    let config = sessions::server_config();
    let builder = sessions::mailin_builder();
    let dialogue = sessions::Dialogue::new(sessions::MESSAGES, 1024, 64 * 1024);
    sessions::check_servers(&config, &builder, &dialogue);
    let mut out = Vec::new();
    let dialogues = 4_000;
    let per_message = (dialogues * sessions::MESSAGES) as f64;
    let (mut ours, mut theirs) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..dialogues {
            black_box(sessions::ours(&config, black_box(&dialogue)));
        }
        ours = ours.min(t.elapsed().as_secs_f64() * 1e9 / per_message);
        let t = Instant::now();
        for _ in 0..dialogues {
            black_box(sessions::mailin(&builder, black_box(&dialogue), &mut out));
        }
        theirs = theirs.min(t.elapsed().as_secs_f64() * 1e9 / per_message);
    }

    println!("MAIL + RCPT parsed, borrowed:        {borrowed:7.1} ns a message");
    println!("MAIL + RCPT parsed and made owned:   {owned:7.1} ns a message");
    println!(
        "the owned copies:                    {copies:7.1} ns a message ({:.0}% of our session's)",
        100.0 * copies / ours
    );
    println!("server session, ours:                {ours:7.1} ns a message");
    println!("server session, mailin:              {theirs:7.1} ns a message");
    println!("ratio:                               {:7.2}", theirs / ours);
    println!(
        "ratio without the owned copies:      {:7.2}",
        theirs / (ours - copies)
    );
}
