//! An SMTP (or LMTP) server that delivers into a Maildir.
//!
//! `cargo run --release -p smtp-tokio --example server` listens on
//! 127.0.0.1:2525 and delivers into `./maildir`; `--help` lists the options
//! (TLS, AUTH, limits, LMTP). It prints `listening on ADDR` per listener and
//! stops gracefully on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use smtp_tokio::maildir::Maildir;
use smtp_tokio::proto::Protocol;
use smtp_tokio::proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_tokio::proto::server::{Decision, HelloKind, ServerConfig, ServerEvent};
use smtp_tokio::proto::wire::command::HeloName;
use smtp_tokio::proto::wire::sasl::{Credentials, Mechanism};
use smtp_tokio::server::{ConnectionInfo, Envelope, Handler, Message, Server};
use smtp_tokio::tls::TlsIdentity;

/// An SMTP server delivering into a Maildir.
#[derive(Parser, Debug)]
#[command(name = "server")]
struct Args {
    /// Plain SMTP listener, repeatable (default 127.0.0.1:2525); port 0 = any.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Implicit-TLS listener (RFC 8314), repeatable.
    #[arg(long, value_name = "ADDR")]
    listen_tls: Vec<SocketAddr>,
    /// PEM certificate chain; with --tls-key enables STARTTLS on plain listeners.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Generate a self-signed certificate for --hostname at start-up.
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// Only EHLO/HELO/NOOP/QUIT/STARTTLS before TLS (530 5.7.0).
    #[arg(long)]
    require_tls: bool,
    /// Greeting/EHLO name.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    hostname: String,
    /// Deliver into this Maildir.
    #[arg(long, value_name = "DIR", default_value = "./maildir")]
    maildir: PathBuf,
    /// Accept and throw away (benchmarks).
    #[arg(long)]
    discard: bool,
    /// USER:PASS, repeatable; enables AUTH PLAIN LOGIN, offered only under TLS
    /// unless --allow-insecure-auth.
    #[arg(long, value_name = "USER:PASS")]
    auth: Vec<String>,
    /// Offer AUTH on plaintext connections too.
    #[arg(long)]
    allow_insecure_auth: bool,
    /// Submission: MAIL before AUTH gets 530 5.7.0.
    #[arg(long)]
    require_auth: bool,
    /// Message size limit, advertised as SIZE.
    #[arg(long, value_name = "BYTES", default_value_t = 10_485_760)]
    max_size: u64,
    /// Recipients per message (at least 100: RFC 5321 §4.5.3.1.8).
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_recipients: usize,
    /// Per-command timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// Speak LMTP (LHLO; one reply per recipient after DATA).
    #[arg(long)]
    lmtp: bool,
}

/// Checks AUTH against the --auth list, then delivers or discards.
#[derive(Clone)]
struct Example {
    users: Arc<Vec<(String, String)>>,
    maildir: Option<Maildir>,
}

fn auth_failed() -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(535).expect("a code"),
        EnhancedCode::new(5, 7, 8),
        "Error: authentication failed",
    ))
}

impl Handler for Example {
    async fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        match &mut self.maildir {
            Some(m) => m.connect(info).await,
            None => Decision::Accept,
        }
    }

    async fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        match &mut self.maildir {
            Some(m) => m.hello(kind, name).await,
            None => Decision::Accept,
        }
    }

    async fn auth(&mut self, _: &Mechanism<'static>, credentials: &Credentials) -> Decision {
        let Credentials::Password {
            authzid,
            username,
            password,
        } = credentials
        else {
            return auth_failed();
        };
        let known = self
            .users
            .iter()
            .any(|(u, p)| u == username && p == password);
        // Acting as someone else is not allowed here.
        if !known || authzid.as_ref().is_some_and(|a| a != username) {
            return auth_failed();
        }
        if let Some(m) = &mut self.maildir {
            m.set_authenticated();
        }
        Decision::Accept
    }

    async fn data_start(&mut self, envelope: &Envelope) -> Decision {
        match &mut self.maildir {
            Some(m) => m.data_start(envelope).await,
            None => Decision::Accept,
        }
    }

    async fn data(&mut self, piece: Bytes) {
        if let Some(m) = &mut self.maildir {
            m.data(piece).await;
        }
    }

    async fn message(&mut self, message: &Message) -> Decision {
        match &mut self.maildir {
            Some(m) => m.message(message).await,
            None => Decision::Accept,
        }
    }

    async fn notice(&mut self, event: &ServerEvent) {
        if let Some(m) = &mut self.maildir {
            m.notice(event).await;
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    use std::io::Write;
    let mut config = ServerConfig::new(args.hostname.clone());
    config.max_message_size = Some(args.max_size);
    // PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING, SMTPUTF8 and DSN are
    // on by default; the Maildir stores content verbatim, so BINARYMIME too.
    config.extensions.binary_mime = true;
    config.max_recipients = args.max_recipients;
    config.require_tls = args.require_tls;
    config.require_auth = args.require_auth;
    config.auth_without_tls = args.allow_insecure_auth;
    config.timeouts.command = Duration::from_secs(args.timeout);
    if args.lmtp {
        config.protocol = Protocol::Lmtp;
    }
    let mut users = Vec::new();
    for pair in &args.auth {
        let (user, pass) = pair.split_once(':').ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "--auth takes USER:PASS")
        })?;
        users.push((user.to_string(), pass.to_string()));
    }
    if !users.is_empty() {
        config.extensions.auth = vec![Mechanism::Plain, Mechanism::Login];
    }
    let tls = if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        Some(TlsIdentity::from_pem_files(cert, key)?)
    } else if args.tls_self_signed {
        Some(TlsIdentity::self_signed(&args.hostname)?)
    } else {
        None
    };
    let mut listen = args.listen.clone();
    if listen.is_empty() && args.listen_tls.is_empty() {
        listen.push("127.0.0.1:2525".parse().expect("an address"));
    }
    let mut builder = Server::builder(config).write_timeout(Duration::from_secs(args.timeout));
    for addr in listen {
        builder = builder.listen(addr);
    }
    for addr in &args.listen_tls {
        builder = builder.listen_tls(*addr);
    }
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    let maildir = if args.discard {
        None
    } else {
        Some(Maildir::new(&args.maildir, &args.hostname)?)
    };
    let server = builder.bind().await?;
    let mut stdout = std::io::stdout().lock();
    for addr in server.local_addrs() {
        writeln!(stdout, "listening on {addr}")?;
    }
    stdout.flush()?;
    drop(stdout);
    let handler = Example {
        users: Arc::new(users),
        maildir,
    };
    server.run_until(handler, shutdown_signal()).await
}
