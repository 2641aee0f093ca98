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

use smtp_bench::{Plan, compare, keep};
use smtp_proto::wire::command::{ParseOptions, parse_command};

/// The dialogue's MAIL and RCPT lines (`sessions.rs`), without their CRLF.
const MAIL: &[u8] = b"MAIL FROM:<sender.name@client.example.org> BODY=8BITMIME";
const RCPT: &[u8] = b"RCPT TO:<recipient@mx.example.net>";

fn main() {
    // Measured as the benchmark's figures are (`smtp_bench::compare`): the
    // two sides alternately, medians of their rates, in messages per second.
    let plan = Plan::default();
    let opts = ParseOptions::default();
    let (owned, borrowed, _) = compare(
        plan,
        1.0,
        &mut || {
            for line in [MAIL, RCPT] {
                let _ = keep(parse_command(keep(line), &opts).map(|c| c.into_owned()));
            }
        },
        &mut || {
            for line in [MAIL, RCPT] {
                let _ = keep(parse_command(keep(line), &opts));
            }
        },
    );

    let config = sessions::server_config();
    let builder = sessions::mailin_builder();
    let dialogue = sessions::Dialogue::new(sessions::MESSAGES, 1024, 64 * 1024);
    sessions::check_servers(&config, &builder, &dialogue);
    let mut out = Vec::new();
    let (ours, theirs, _) = compare(
        plan,
        sessions::MESSAGES as f64,
        &mut || {
            keep(sessions::ours(&config, keep(&dialogue)));
        },
        &mut || {
            keep(sessions::mailin(&builder, keep(&dialogue), &mut out));
        },
    );

    // Nanoseconds a message.
    let ns = |rate: f64| 1e9 / rate;
    let (owned, borrowed, ours, theirs) = (ns(owned), ns(borrowed), ns(ours), ns(theirs));
    let copies = owned - borrowed;
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
