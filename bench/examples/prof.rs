//! Temporary profiling aid (not committed).
use smtp_bench::corpus::COMMANDS;
use smtp_proto::wire::command::{ParseOptions, parse_command};
use smtp_proto::wire::line::{Framed, LineEnding, frame_line};
use std::hint::black_box;
use std::time::Instant;
fn main() {
    let which: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let peer = std::env::args().nth(2).is_some();
    let opts = ParseOptions::default();
    let bytes = COMMANDS[which];
    let mut best = f64::MAX;
    for _ in 0..10 {
        let t = Instant::now();
        for _ in 0..1_000_000 {
            if peer {
                let _ = black_box(stalwart_smtp_proto::Request::parse(&mut black_box(bytes).iter()));
            } else if let Framed::Line { line, .. } = frame_line(black_box(bytes), 512, LineEnding::Strict) {
                let _ = black_box(parse_command(line, &opts));
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{:.1} ns", best * 1e3);
}
