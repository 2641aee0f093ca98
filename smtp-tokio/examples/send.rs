//! Sends a message with the smtp-tokio client.
//!
//! ```text
//! send --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...] [OPTIONS] < message
//! ```
//!
//! Prints one line per recipient, `ADDR CODE ENHANCED TEXT`; with `--count`,
//! a last line `sent N messages in S s (R msg/s)`. Exit status 0: all
//! accepted; 1: some refused; 2: a protocol, TLS or connection error.
//! `--threads N` sets the runtime's threads (default: one per core).

#[path = "common/runtime.rs"]
mod runtime;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use smtp_adapter::cli::{Failure, SendArgs, exit};
use smtp_tokio::client::Connection;

/// The example client, with the runtime's thread count.
#[derive(Parser, Debug)]
#[command(name = "send")]
struct Args {
    #[command(flatten)]
    send: SendArgs,
    #[command(flatten)]
    threads: runtime::Threads,
}

async fn run(args: &SendArgs) -> Result<(), Failure> {
    let job = args.job()?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for count in args.shares() {
        let job = job.clone();
        tasks.spawn(async move { job.send(Connection::connect(&job.options), count).await });
    }
    let mut shares = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        shares.push(
            joined
                .map_err(|e| Failure::Fatal(e.to_string()))
                .and_then(|r| r),
        );
    }
    args.finish(started, shares)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.threads.runtime() {
        Ok(runtime) => exit(runtime.block_on(run(&args.send))),
        Err(e) => exit(Err(Failure::Fatal(format!("tokio runtime: {e}")))),
    }
}
