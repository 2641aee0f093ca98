//! Sends a message with the smtp-tokio client.
//!
//! ```text
//! send --server HOST:PORT --from ADDR --to ADDR [--to ADDR ...] [OPTIONS] < message
//! ```
//!
//! Prints one line per recipient, `ADDR CODE ENHANCED TEXT`; with `--count`,
//! a last line `sent N messages in S s (R msg/s)`. Exit status 0: all
//! accepted; 1: some refused; 2: a protocol, TLS or connection error.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use smtp_tokio::client::{ClientOptions, Connection, Error, Security};
use smtp_tokio::proto::client::{Envelope, TransactionFailure, TransactionResult};
use smtp_tokio::proto::reply::Reply;
use smtp_tokio::proto::wire::sasl::Credentials;
use smtp_tokio::tls::Trust;

/// Send a message over SMTP (or LMTP).
#[derive(Parser, Debug)]
#[command(name = "send")]
struct Args {
    /// The server.
    #[arg(long, value_name = "HOST:PORT")]
    server: String,
    /// The envelope sender (`<>` for none).
    #[arg(long, value_name = "ADDR")]
    from: String,
    /// A recipient, repeatable.
    #[arg(long, value_name = "ADDR", required = true)]
    to: Vec<String>,
    /// STARTTLS, required (never falls back to plaintext).
    #[arg(long, conflicts_with = "tls")]
    starttls: bool,
    /// Implicit TLS (RFC 8314).
    #[arg(long)]
    tls: bool,
    /// PEM file with the CA certificate(s) to trust for the server.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    ca: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long)]
    insecure: bool,
    /// AUTH (PLAIN preferred, else LOGIN).
    #[arg(long, value_name = "USER:PASS")]
    auth: Option<String>,
    /// EHLO/LHLO name.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    helo: String,
    /// Speak LMTP.
    #[arg(long)]
    lmtp: bool,
    /// Use BDAT when offered.
    #[arg(long)]
    chunking: bool,
    /// Send the message N times (load generator).
    #[arg(long, value_name = "N", default_value_t = 1)]
    count: u64,
    /// Over C reused connections.
    #[arg(long, value_name = "C", default_value_t = 1)]
    connections: u64,
    /// Read the message from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    message: Option<PathBuf>,
}

/// What went wrong, by exit status.
enum Failure {
    Refused,
    Fatal(String),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused) => ExitCode::from(1),
        Err(Failure::Fatal(e)) => {
            eprintln!("send: {e}");
            ExitCode::from(2)
        }
    }
}

fn options(args: &Args) -> Result<ClientOptions, String> {
    let (host, port) = args
        .server
        .rsplit_once(':')
        .ok_or("--server takes HOST:PORT")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().map_err(|_| "--server: bad port")?;
    let mut options = ClientOptions::new(host, port);
    options.security = if args.tls {
        Security::ImplicitTls
    } else if args.starttls {
        Security::StartTlsRequired
    } else {
        Security::Plain
    };
    options.trust = if args.insecure {
        Trust::Insecure
    } else if let Some(ca) = &args.ca {
        Trust::ca_file(ca).map_err(|e| format!("--ca: {e}"))?
    } else {
        Trust::WebPki
    };
    if let Some(auth) = &args.auth {
        let (user, pass) = auth.split_once(':').ok_or("--auth takes USER:PASS")?;
        options.credentials = Some(Credentials::password(user, pass));
    }
    options.hello_name = args.helo.clone();
    options.lmtp = args.lmtp;
    options.chunking = args.chunking;
    Ok(options)
}

fn reply_line(addr: &str, reply: &Reply) -> String {
    let enhanced = reply
        .enhanced()
        .map_or_else(|| "-".to_string(), |e| e.to_string());
    format!("{addr} {} {enhanced} {}", reply.code(), reply.text())
}

fn bare(path: &impl std::fmt::Display) -> String {
    path.to_string().trim_matches(['<', '>']).to_string()
}

/// One message's lines and whether every recipient took it.
fn report(result: Result<TransactionResult, Error>) -> Result<(Vec<String>, bool), Failure> {
    match result {
        Ok(r) => Ok((
            r.recipients
                .iter()
                .map(|rcpt| reply_line(&bare(&rcpt.path), rcpt.reply()))
                .collect(),
            r.all_delivered(),
        )),
        Err(Error::Refused(TransactionFailure::NoRecipientAccepted(rcpts))) => Ok((
            rcpts
                .iter()
                .map(|rcpt| reply_line(&bare(&rcpt.path), rcpt.reply()))
                .collect(),
            false,
        )),
        Err(Error::Refused(failure)) => {
            let reply = match &failure {
                TransactionFailure::MailRefused(r) => Some(r),
                TransactionFailure::DataRefused { reply, .. } => Some(reply),
                _ => None,
            };
            match reply {
                // Every recipient shares the refusal.
                Some(reply) => Ok((vec![reply_line("*", reply)], false)),
                None => Err(Failure::Fatal(format!("refused: {failure:?}"))),
            }
        }
        Err(e) => Err(Failure::Fatal(e.to_string())),
    }
}

async fn run(args: Args) -> Result<(), Failure> {
    let options = Arc::new(options(&args).map_err(Failure::Fatal)?);
    let mut message = Vec::new();
    match &args.message {
        Some(path) => {
            message = std::fs::read(path).map_err(|e| Failure::Fatal(format!("--message: {e}")))?
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut message)
                .map_err(|e| Failure::Fatal(format!("stdin: {e}")))?;
        }
    }
    let envelope = Envelope::parse(args.from.as_str(), args.to.iter().map(String::as_str))
        .map_err(|e| Failure::Fatal(format!("bad address: {e}")))?;
    let message: Arc<[u8]> = message.into();
    let started = Instant::now();
    let connections = args.connections.clamp(1, args.count.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        // Spread the messages over the connections.
        let share = args.count / connections + u64::from(c < args.count % connections);
        let (options, envelope, message) = (options.clone(), envelope.clone(), message.clone());
        tasks.spawn(async move {
            let mut connection = Connection::connect(&options)
                .await
                .map_err(|e| Failure::Fatal(e.to_string()))?;
            let mut lines = Vec::new();
            let mut all = true;
            for _ in 0..share {
                let result = connection.send(envelope.clone(), &message[..]).await;
                let (l, ok) = report(result)?;
                lines.extend(l);
                all &= ok;
            }
            let _ = connection.quit().await;
            Ok::<_, Failure>((lines, all))
        });
    }
    let mut all = true;
    let mut fatal = None;
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
    if args.count > 1 || args.connections > 1 {
        let secs = started.elapsed().as_secs_f64();
        let _ = writeln!(
            out,
            "sent {} messages in {secs:.3} s ({:.1} msg/s)",
            args.count,
            args.count as f64 / secs.max(1e-9)
        );
    }
    let _ = out.flush();
    match fatal {
        Some(f) => Err(f),
        None if all => Ok(()),
        None => Err(Failure::Refused),
    }
}
