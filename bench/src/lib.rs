//! What the benchmark programs share: interleaved measurement of our code
//! beside a peer's, and the record each comparison leaves for the report.
//!
//! A comparison runs ours and the peer's alternately for a number of rounds
//! (each side for about the same time per round), so both see the same
//! machine load, and keeps the median of the per-round figures.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One line of the report: our figure, the peer's, and their ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// What is measured ("command framing + parsing").
    pub name: String,
    /// Our figure.
    pub ours: f64,
    /// The peer's figure.
    pub peer: f64,
    /// The unit of both ("commands/s", "B per connection").
    pub unit: String,
    /// Who the peer is ("Stalwart smtp-proto 0.2.5").
    pub peer_name: String,
    /// `ours / peer`.
    pub ratio: f64,
    /// The ratio the issue asks for, if any.
    pub target: Option<f64>,
    /// Whether more is better (throughput) or less (memory, CPU).
    pub higher_is_better: bool,
    /// How many rounds the medians are taken over.
    pub rounds: usize,
}

impl Record {
    /// Whether the target holds (true without a target).
    pub fn met(&self) -> bool {
        match self.target {
            None => true,
            Some(t) if self.higher_is_better => self.ratio >= t,
            Some(t) => self.ratio <= t,
        }
    }

    /// The record as a JSON object (no dependency needed for this much).
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        let _ = write!(
            s,
            "\"name\":{},\"ours\":{},\"peer\":{},\"unit\":{},\"peer_name\":{},\"ratio\":{},\"target\":{},\"higher_is_better\":{},\"rounds\":{},\"met\":{}",
            json_str(&self.name),
            json_num(self.ours),
            json_num(self.peer),
            json_str(&self.unit),
            json_str(&self.peer_name),
            json_num(self.ratio),
            self.target.map_or("null".to_string(), json_num),
            self.higher_is_better,
            self.rounds,
            self.met(),
        );
        s.push('}');
        s
    }
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Records as a JSON array, one record per line.
pub fn to_json(records: &[Record]) -> String {
    let lines: Vec<String> = records
        .iter()
        .map(|r| format!("  {}", r.to_json()))
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

/// The median of `xs` (which it sorts).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if !n.is_multiple_of(2) {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// How a comparison is run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Rounds (each runs ours, then the peer, or the other way round).
    pub rounds: usize,
    /// About how long each side runs per round.
    pub per_side: Duration,
}

/// Fifteen short rounds rather than a few long ones, in the same time: a
/// spell of interference from the rest of the machine (this runs on shared
/// cores) then spoils a few rounds, which the medians leave out, instead of
/// most of them.
impl Default for Plan {
    fn default() -> Self {
        Plan {
            rounds: 15,
            per_side: Duration::from_millis(100),
        }
    }
}

/// Iterations of `f` per second, measured for about `time` (after one call
/// to size the batches).
pub fn rate(time: Duration, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let one = start.elapsed().max(Duration::from_nanos(20));
    let batch = ((time.as_secs_f64() / 10.0) / one.as_secs_f64()).clamp(1.0, 1e9) as u64;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < time {
        for _ in 0..batch {
            f();
        }
        n += batch;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Runs `ours` and `peer` alternately for `plan.rounds` rounds (the order
/// swapping each round) and gives the medians of their rates (iterations/s,
/// times `scale` to get the unit's figure) and of the per-round ratios. Each
/// side first runs once for a round's time, unmeasured: the first round
/// would otherwise run on cold caches and a processor not yet at speed.
pub fn compare(
    plan: Plan,
    scale: f64,
    ours: &mut dyn FnMut(),
    peer: &mut dyn FnMut(),
) -> (f64, f64, f64) {
    rate(plan.per_side, ours);
    rate(plan.per_side, peer);
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..plan.rounds {
        let (x, y) = if round % 2 == 0 {
            let x = rate(plan.per_side, ours);
            (x, rate(plan.per_side, peer))
        } else {
            let y = rate(plan.per_side, peer);
            (rate(plan.per_side, ours), y)
        };
        a.push(x * scale);
        b.push(y * scale);
        r.push(x / y);
    }
    (median(&mut a), median(&mut b), median(&mut r))
}

/// A throughput comparison as a [`Record`] (more is better).
#[allow(clippy::too_many_arguments)]
pub fn throughput(
    plan: Plan,
    name: &str,
    unit: &str,
    scale: f64,
    peer_name: &str,
    target: Option<f64>,
    ours: &mut dyn FnMut(),
    peer: &mut dyn FnMut(),
) -> Record {
    let (o, p, ratio) = compare(plan, scale, ours, peer);
    Record {
        name: name.into(),
        ours: o,
        peer: p,
        unit: unit.into(),
        peer_name: peer_name.into(),
        ratio,
        target,
        higher_is_better: true,
        rounds: plan.rounds,
    }
}

/// The command line every benchmark program takes: `--json FILE` writes the
/// records there, `--quick` measures less (a smoke run).
#[derive(Debug, Default)]
pub struct Args {
    /// Where the JSON goes.
    pub json: Option<String>,
    /// Fewer, shorter rounds.
    pub quick: bool,
}

impl Args {
    /// The process's arguments.
    pub fn parse() -> Args {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Args {
            json: (args.iter().position(|a| a == "--json"))
                .and_then(|i| args.get(i + 1))
                .cloned(),
            quick: args.iter().any(|a| a == "--quick"),
        }
    }

    /// Prints the records, one line each, and writes the JSON if asked.
    pub fn finish(&self, records: &[Record]) {
        for r in records {
            println!("{}", r.line());
        }
        if let Some(path) = &self.json {
            std::fs::write(path, to_json(records)).expect("write the JSON");
        }
    }
}

impl Record {
    /// One line of text: the figures, the ratio, the target.
    pub fn line(&self) -> String {
        let target = self.target.map_or(String::new(), |t| {
            format!(
                " target {}{t} {}",
                if self.higher_is_better { "≥" } else { "≤" },
                if self.met() { "met" } else { "MISSED" }
            )
        });
        format!(
            "{:<52} ours {:>13.1} {:<11} peer {:>13.1}  ratio {:>5.2}{target}  ({})",
            self.name, self.ours, self.unit, self.peer, self.ratio, self.peer_name
        )
    }
}

/// The inputs every benchmark of the wire layer measures.
pub mod corpus {
    /// A typical pipelined session, one command per line, CRLF included.
    pub const COMMANDS: &[&[u8]] = &[
        b"EHLO client.example.org\r\n",
        b"MAIL FROM:<sender.name@example.org> SIZE=123456 BODY=8BITMIME\r\n",
        b"RCPT TO:<first.recipient@example.net>\r\n",
        b"RCPT TO:<second@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;second@example.net\r\n",
        b"DATA\r\n",
        b"BDAT 65536 LAST\r\n",
        b"RSET\r\n",
        b"NOOP\r\n",
        b"QUIT\r\n",
    ];

    pub const EHLO: &[u8] = b"250-mx.example.net Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

    /// A text message: header block, lines of prose, some starting with a dot.
    pub fn message(size: usize) -> Vec<u8> {
        text(
            size,
            b"From: a@example.org\r\nTo: b@example.net\r\nSubject: benchmark\r\n\r\n",
            17,
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n",
        )
    }

    /// A text body of at least `size` octets: `headers`, then `line` over
    /// and over, with a line that starts with a dot before every
    /// `dot_every`-th one (the first included). Each figure's workload is
    /// its own choice of these.
    pub fn text(size: usize, headers: &[u8], dot_every: u32, line: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(size + 128);
        m.extend_from_slice(headers);
        let mut i = 0u32;
        while m.len() < size {
            if i.is_multiple_of(dot_every) {
                m.extend_from_slice(b".a line that starts with a dot\r\n");
            }
            m.extend_from_slice(line);
            i += 1;
        }
        m
    }
}

/// Keeps a value from being optimised away.
pub fn keep<T>(x: T) -> T {
    black_box(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_json() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        let r = Record {
            name: "a \"b\"".into(),
            ours: 2.0,
            peer: 1.0,
            unit: "x/s".into(),
            peer_name: "p".into(),
            ratio: 2.0,
            target: Some(1.5),
            higher_is_better: true,
            rounds: 3,
        };
        assert!(r.met());
        assert!(r.to_json().contains("\"name\":\"a \\\"b\\\"\""));
        assert!(r.to_json().contains("\"met\":true"));
    }
}
