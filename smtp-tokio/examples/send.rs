//! Sends a message with the smtp-tokio client.
//!
//! ```text
//! send --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...] [OPTIONS] < message
//! ```
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
use smtp_tokio::client::Connection;

async fn run(args: SendArgs) -> Result<(), Failure> {
    let options = Arc::new(args.options().map_err(Failure::Fatal)?);
    let message: Arc<[u8]> = args.message()?.into();
    let envelope = args.envelope()?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for share in args.shares() {
        let (options, envelope, message) = (options.clone(), envelope.clone(), message.clone());
        tasks.spawn(async move {
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
        });
    }
    let (mut all, mut fatal) = (true, None);
    let mut out = std::io::stdout().lock();
    while let Some(joined) = tasks.join_next().await {
        match joined
            .map_err(|e| Failure::Fatal(e.to_string()))
            .and_then(|r| r)
        {
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
    let args = SendArgs::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Failure::Fatal(e) = &failure {
                eprintln!("send: {e}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}
