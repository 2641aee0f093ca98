//! Sends a message with the smtp-async-std client, on smol (default) or
//! async-std: the same flags as smtp-tokio's example, plus `--runtime`.
//!
//! Prints one line per recipient, `ADDR CODE ENHANCED TEXT`; with `--count`,
//! a last line `sent N messages in S s (R msg/s)`. Exit status 0: all
//! accepted; 1: some refused; 2: a protocol, TLS or connection error.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use smtp_adapter::cli::{Failure, SendArgs, exit};
use smtp_async_std::client::Connection;

/// The example client, on the runtime of your choice.
#[derive(Parser, Debug)]
#[command(name = "send")]
struct Args {
    #[command(flatten)]
    send: SendArgs,
    /// The runtime: smol or async-std.
    #[arg(long, value_name = "RUNTIME", default_value = "smol", value_parser = ["smol", "async-std"])]
    runtime: String,
}

async fn run(args: &SendArgs) -> Result<(), Failure> {
    let job = args.job()?;
    let started = Instant::now();
    // One task per connection, on an executor driven by this future.
    let executor = async_executor::Executor::new();
    let tasks: Vec<_> = (args.shares().into_iter())
        .map(|count| {
            let job = job.clone();
            executor.spawn(async move { job.send(Connection::connect(&job.options), count).await })
        })
        .collect();
    let shares = executor
        .run(async {
            let mut shares = Vec::new();
            for task in tasks {
                shares.push(task.await);
            }
            shares
        })
        .await;
    args.finish(started, shares)
}

fn main() -> ExitCode {
    let args = Args::parse();
    exit(match args.runtime.as_str() {
        "async-std" => async_std::task::block_on(run(&args.send)),
        _ => smol::block_on(run(&args.send)),
    })
}
