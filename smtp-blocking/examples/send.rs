//! Sends a message with the smtp-blocking client.
//!
//! ```text
//! send --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...] [OPTIONS] < message
//! ```
//!
//! Prints one line per recipient, `ADDR CODE ENHANCED TEXT`; with `--count`,
//! a last line `sent N messages in S s (R msg/s)`. Exit status 0: all
//! accepted; 1: some refused; 2: a protocol, TLS or connection error.
//! `--connections C` sends over C connections, one thread each.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use smtp_adapter::cli::{Failure, SendArgs, report};
use smtp_blocking::client::Connection;

fn run(args: SendArgs) -> Result<(), Failure> {
    let options = Arc::new(args.options().map_err(Failure::Fatal)?);
    let message: Arc<[u8]> = args.message()?.into();
    let envelope = args.envelope()?;
    let started = Instant::now();
    let threads: Vec<_> = args
        .shares()
        .into_iter()
        .map(|share| {
            let (options, envelope, message) = (options.clone(), envelope.clone(), message.clone());
            std::thread::spawn(move || {
                let mut connection =
                    Connection::connect(&options).map_err(|e| Failure::Fatal(e.to_string()))?;
                let (mut lines, mut all) = (Vec::new(), true);
                for _ in 0..share {
                    let (l, ok) = report(connection.send(envelope.clone(), &message[..]))?;
                    lines.extend(l);
                    all &= ok;
                }
                let _ = connection.quit();
                Ok::<_, Failure>((lines, all))
            })
        })
        .collect();
    let (mut all, mut fatal) = (true, None);
    let mut out = std::io::stdout().lock();
    for thread in threads {
        match thread
            .join()
            .map_err(|_| Failure::Fatal("a sending thread panicked".into()))
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
    match run(SendArgs::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Failure::Fatal(e) = &failure {
                eprintln!("send: {e}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}
