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

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use smtp_adapter::cli::{Failure, Mailer, SendArgs, exit};
use smtp_adapter::options::Error;
use smtp_blocking::client::Connection;
use smtp_blocking::proto::client::{Envelope, TransactionResult};

/// The blocking connection as the shared `send` code takes it: each call is
/// done when it returns.
struct Blocking(Connection);

impl Mailer for Blocking {
    async fn send(
        &mut self,
        envelope: Envelope,
        message: &[u8],
    ) -> Result<TransactionResult, Error> {
        self.0.send(envelope, message)
    }

    async fn quit(self) -> Result<(), Error> {
        self.0.quit()
    }
}

fn run(args: &SendArgs) -> Result<(), Failure> {
    let job = args.job()?;
    let started = Instant::now();
    // One thread per connection.
    let threads: Vec<_> = (args.shares().into_iter())
        .map(|count| {
            let job = job.clone();
            std::thread::spawn(move || {
                let connect = async { Connection::connect(&job.options).map(Blocking) };
                futures_lite::future::block_on(job.send(connect, count))
            })
        })
        .collect();
    let shares = threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| Err(Failure::Fatal("a thread panicked".into())))
        })
        .collect();
    args.finish(started, shares)
}

fn main() -> ExitCode {
    exit(run(&SendArgs::parse()))
}
