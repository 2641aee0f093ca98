//! `smtp-mta`: run the MTA, or look at and act on its queue.
//!
//! ```text
//! smtp-mta run --config mta.toml
//! smtp-mta queue --config mta.toml list | show ID | flush | delete ID
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smtp_mta::queue::{Queue, Status, now};
use smtp_mta::{Config, Shared};

/// A reference MTA on smtp-proto and smtp-tokio.
#[derive(Parser, Debug)]
#[command(name = "smtp-mta")]
struct Args {
    /// The configuration file (TOML; see examples/mta.toml).
    #[arg(long, short, global = true, default_value = "/etc/smtp-mta.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Receive and deliver mail until SIGINT or SIGTERM.
    Run,
    /// The queue.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
}

#[derive(Subcommand, Debug)]
enum QueueAction {
    /// One line per queued message: id, age, attempts, sender, recipients left.
    List,
    /// A message's record and headers.
    Show {
        /// The queue id.
        id: String,
    },
    /// Makes every queued message due now (a running MTA picks them up at its
    /// next scan).
    Flush,
    /// Removes a message from the queue, undelivered.
    Delete {
        /// The queue id.
        id: String,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smtp-mta: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.command {
        Command::Run => run(config),
        Command::Queue { action } => queue(&config, action),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smtp-mta: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> std::io::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shared = Shared::new(config).await?;
        let signal = async {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        smtp_mta::run(shared, signal).await
    })
}

fn queue(config: &Config, action: QueueAction) -> std::io::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async {
        let queue = Queue::open(config).await?;
        match action {
            QueueAction::List => {
                let records = queue.list().await?;
                for r in &records {
                    let left: Vec<&str> = r.pending().map(|p| p.address.as_str()).collect();
                    println!(
                        "{} {:>6}s {:>3} attempts <{}> {}",
                        r.id,
                        now().saturating_sub(r.created),
                        r.attempts,
                        r.sender,
                        left.join(" ")
                    );
                }
                println!("{} messages", records.len());
            }
            QueueAction::Show { id } => {
                let r = queue.load(&id).await?;
                println!(
                    "id: {}\nsender: <{}>\nsize: {}\nattempts: {}",
                    r.id, r.sender, r.size, r.attempts
                );
                println!("next attempt in: {}s", r.next_attempt.saturating_sub(now()));
                for rcpt in &r.recipients {
                    let status = match &rcpt.status {
                        Status::Pending { last: None } => "pending".to_string(),
                        Status::Pending { last: Some(l) } => format!("deferred: {l}"),
                        Status::Delivered { reply } => format!("delivered: {reply}"),
                        Status::Failed { reply } => format!("failed: {reply}"),
                    };
                    println!("recipient: {} {status}", rcpt.address);
                }
                let content = queue.content(&id).await?;
                let headers = smtp_mta::bounce::headers(&content);
                println!("\n{}", String::from_utf8_lossy(headers).trim_end());
            }
            QueueAction::Flush => {
                let mut n = 0;
                for mut r in queue.list().await? {
                    r.next_attempt = 0;
                    queue.save(&r).await?;
                    n += 1;
                }
                println!("{n} messages due now");
            }
            QueueAction::Delete { id } => {
                queue.load(&id).await?;
                queue.remove(&id).await?;
                println!("deleted {id}");
            }
        }
        Ok(())
    })
}
