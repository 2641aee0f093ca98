//! Sends a message with the smtp-async-std client, on smol (default) or
//! async-std: the same flags as smtp-tokio's example, plus `--runtime`.
//!
//! Prints one line per recipient, `ADDR CODE ENHANCED TEXT`; with `--count`,
//! a last line `sent N messages in S s (R msg/s)`. Exit status 0: all
//! accepted; 1: some refused; 2: a protocol, TLS or connection error.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use smtp_adapter::cli::{Failure, SendArgs, report};
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

async fn run(args: SendArgs) -> Result<(), Failure> {
    let options = Arc::new(args.options().map_err(Failure::Fatal)?);
    let message: Arc<[u8]> = args.message()?.into();
    let envelope = args.envelope()?;
    let started = Instant::now();
    // One future per connection, all driven together on this task.
    let sends = args.shares().into_iter().map(|share| {
        let (options, envelope, message) = (options.clone(), envelope.clone(), message.clone());
        async move {
            let mut connection = Connection::connect(&options)
                .await
                .map_err(|e| Failure::Fatal(e.to_string()))?;
            let (mut lines, mut all) = (Vec::new(), true);
            for _ in 0..share {
                let (l, ok) = report(connection.send(envelope.clone(), &message[..]).await)?;
                lines.extend(l);
                all &= ok;
            }
            let _ = connection.quit().await;
            Ok::<_, Failure>((lines, all))
        }
    });
    let executor = async_executor::Executor::new();
    let tasks: Vec<_> = sends.map(|f| executor.spawn(f)).collect();
    let results = executor
        .run(async {
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await);
            }
            results
        })
        .await;
    let (mut all, mut fatal) = (true, None);
    let mut out = std::io::stdout().lock();
    for result in results {
        match result {
            Ok((lines, ok)) => {
                for line in lines {
                    let _ = writeln!(out, "{line}");
                }
                all &= ok;
            }
            Err(e) => fatal = fatal.or(Some(e)),
        }
    }
    if let Some(summary) = args.summary(started.elapsed()) {
        let _ = writeln!(out, "{summary}");
    }
    let _ = out.flush();
    match fatal {
        Some(f) => Err(f),
        None if all => Ok(()),
        None => Err(Failure::Refused),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.runtime.as_str() {
        "async-std" => async_std::task::block_on(run(args.send)),
        _ => smol::block_on(run(args.send)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Failure::Fatal(e) = &failure {
                eprintln!("send: {e}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}
