//! The example programs' command lines, the same for every adapter (the
//! issue fixes the flags): `server` ([`ServerArgs`], [`ServerArgs::setup`],
//! [`ExampleHandler`]) and `send` ([`SendArgs`], [`report`]). Each adapter's
//! `examples/` only adds its runtime around these.

use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use smtp_proto::Protocol;
use smtp_proto::client::{Envelope as ClientEnvelope, TransactionFailure, TransactionResult};
use smtp_proto::reply::Reply;
use smtp_proto::server::{Decision, HelloKind, ServerConfig, ServerEvent};
use smtp_proto::wire::command::HeloName;
use smtp_proto::wire::sasl::{Credentials, Mechanism};

use crate::driver::{ClientConnection, Connect};
use crate::handler::{ConnectionInfo, Envelope, Handler, Message, SyncHandler};
use crate::maildir::{Maildir, auth_failed};
use crate::options::{ClientOptions, Error, Security};
use crate::server::{Bind, ServerBuilder};
use crate::tls::{TlsIdentity, Trust};

/// An SMTP server delivering into a Maildir.
#[derive(Parser, Debug)]
#[command(name = "server")]
pub struct ServerArgs {
    /// Plain SMTP listener, repeatable (default 127.0.0.1:2525); port 0 = any.
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS listener (RFC 8314), repeatable.
    #[arg(long, value_name = "ADDR")]
    pub listen_tls: Vec<SocketAddr>,
    /// PEM certificate chain; with --tls-key enables STARTTLS on plain listeners.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Generate a self-signed certificate for --hostname at start-up.
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// Only EHLO/HELO/NOOP/QUIT/STARTTLS before TLS (530 5.7.0).
    #[arg(long)]
    pub require_tls: bool,
    /// Greeting/EHLO name.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    pub hostname: String,
    /// Deliver into this Maildir.
    #[arg(long, value_name = "DIR", default_value = "./maildir")]
    pub maildir: PathBuf,
    /// Accept and throw away (benchmarks).
    #[arg(long)]
    pub discard: bool,
    /// USER:PASS, repeatable; enables AUTH PLAIN LOGIN, offered only under TLS
    /// unless --allow-insecure-auth.
    #[arg(long, value_name = "USER:PASS")]
    pub auth: Vec<String>,
    /// Offer AUTH on plaintext connections too.
    #[arg(long)]
    pub allow_insecure_auth: bool,
    /// Submission: MAIL before AUTH gets 530 5.7.0.
    #[arg(long)]
    pub require_auth: bool,
    /// Message size limit, advertised as SIZE.
    #[arg(long, value_name = "BYTES", default_value_t = 10_485_760)]
    pub max_size: u64,
    /// Recipients per message (at least 100: RFC 5321 §4.5.3.1.8).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_recipients: usize,
    /// Per-command timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// Speak LMTP (LHLO; one reply per recipient after DATA).
    #[arg(long)]
    pub lmtp: bool,
    /// Connections served at once (default: the adapter's; more wait in the
    /// listen backlog).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

/// What [`ServerArgs::setup`] makes of the flags.
#[derive(Debug)]
pub struct ServerSetup {
    /// The core's configuration (hostname, limits, extensions, AUTH, LMTP).
    pub config: ServerConfig,
    /// Plaintext listeners (127.0.0.1:2525 when none is given).
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS listeners.
    pub listen_tls: Vec<SocketAddr>,
    /// The certificate, if any.
    pub tls: Option<TlsIdentity>,
    /// The per-command timeout, also the write timeout.
    pub timeout: Duration,
    /// `--max-connections`, if given.
    pub max_connections: Option<usize>,
    /// The application.
    pub handler: ExampleHandler,
}

impl ServerSetup {
    /// An adapter's server builder (`make` is its `Server::builder`) with
    /// these flags' listeners, certificate and timeout, and the handler.
    pub fn builder<B: Bind>(
        self,
        make: impl FnOnce(ServerConfig) -> ServerBuilder<B>,
    ) -> (ServerBuilder<B>, ExampleHandler) {
        let mut builder = make(self.config).write_timeout(self.timeout);
        for addr in self.listen {
            builder = builder.listen(addr);
        }
        for addr in self.listen_tls {
            builder = builder.listen_tls(addr);
        }
        if let Some(tls) = self.tls {
            builder = builder.tls(tls);
        }
        if let Some(n) = self.max_connections {
            builder = builder.max_connections(n);
        }
        (builder, self.handler)
    }
}

/// Logs to standard error, as `RUST_LOG` says (default: warnings).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Calls `f` (on a thread of its own) at the first SIGINT or SIGTERM.
pub fn on_signal(f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            f();
        }
    });
    Ok(())
}

/// The exit status of `server`, with the error on standard error.
pub fn server_exit(result: std::io::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

impl ServerArgs {
    /// The configuration, listeners, certificate and handler these flags give.
    pub fn setup(&self) -> std::io::Result<ServerSetup> {
        let args = self;
        let mut config = ServerConfig::new(args.hostname.clone());
        config.max_message_size = Some(args.max_size);
        // PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING, SMTPUTF8 and DSN
        // are on by default; the Maildir stores content verbatim, so BINARYMIME too.
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
        config.extensions.starttls = tls.is_some();
        let mut listen = args.listen.clone();
        if listen.is_empty() && args.listen_tls.is_empty() {
            listen.push("127.0.0.1:2525".parse().expect("an address"));
        }
        let maildir = if args.discard {
            None
        } else {
            Some(Maildir::new(&args.maildir, &args.hostname)?)
        };
        Ok(ServerSetup {
            config,
            listen,
            listen_tls: args.listen_tls.clone(),
            tls,
            timeout: Duration::from_secs(args.timeout),
            max_connections: args.max_connections,
            handler: ExampleHandler {
                users: Arc::new(users),
                maildir,
            },
        })
    }
}

/// Prints `listening on ADDR`, one line per bound listener, and flushes.
pub fn print_listening(addrs: &[SocketAddr]) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    for addr in addrs {
        writeln!(stdout, "listening on {addr}")?;
    }
    stdout.flush()
}

/// The example server's application: checks AUTH against the `--auth`
/// list, then delivers into the Maildir (or discards, with `--discard`).
#[derive(Clone, Debug)]
pub struct ExampleHandler {
    users: Arc<Vec<(String, String)>>,
    maildir: Option<Maildir>,
}

impl ExampleHandler {
    /// Checks AUTH credentials against the `--auth` list.
    fn check(&mut self, credentials: &Credentials) -> Decision {
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
}

impl Handler for ExampleHandler {
    async fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        match &mut self.maildir {
            Some(m) => Handler::connect(m, info).await,
            None => Decision::Accept,
        }
    }

    async fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        match &mut self.maildir {
            Some(m) => Handler::hello(m, kind, name).await,
            None => Decision::Accept,
        }
    }

    async fn auth(&mut self, _: &Mechanism<'static>, credentials: &Credentials) -> Decision {
        self.check(credentials)
    }

    async fn data_start(&mut self, envelope: &Envelope) -> Decision {
        match &mut self.maildir {
            Some(m) => Handler::data_start(m, envelope).await,
            None => Decision::Accept,
        }
    }

    async fn data(&mut self, piece: Bytes) {
        if let Some(m) = &mut self.maildir {
            Handler::data(m, piece).await;
        }
    }

    async fn message(&mut self, message: &Message) -> Decision {
        match &mut self.maildir {
            Some(m) => Handler::message(m, message).await,
            None => Decision::Accept,
        }
    }

    async fn notice(&mut self, event: &ServerEvent) {
        if let Some(m) = &mut self.maildir {
            Handler::notice(m, event).await;
        }
    }
}

impl SyncHandler for ExampleHandler {
    fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        match &mut self.maildir {
            Some(m) => SyncHandler::connect(m, info),
            None => Decision::Accept,
        }
    }

    fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        match &mut self.maildir {
            Some(m) => SyncHandler::hello(m, kind, name),
            None => Decision::Accept,
        }
    }

    fn auth(&mut self, _: &Mechanism<'static>, credentials: &Credentials) -> Decision {
        self.check(credentials)
    }

    fn data_start(&mut self, envelope: &Envelope) -> Decision {
        match &mut self.maildir {
            Some(m) => SyncHandler::data_start(m, envelope),
            None => Decision::Accept,
        }
    }

    fn data(&mut self, piece: Bytes) {
        if let Some(m) = &mut self.maildir {
            SyncHandler::data(m, piece);
        }
    }

    fn message(&mut self, message: &Message) -> Decision {
        match &mut self.maildir {
            Some(m) => SyncHandler::message(m, message),
            None => Decision::Accept,
        }
    }

    fn notice(&mut self, event: &ServerEvent) {
        if let Some(m) = &mut self.maildir {
            SyncHandler::notice(m, event);
        }
    }
}

/// Send a message over SMTP (or LMTP).
#[derive(Parser, Debug)]
#[command(name = "send")]
pub struct SendArgs {
    /// The server.
    #[arg(long, value_name = "HOST:PORT")]
    pub server: String,
    /// The envelope sender (`<>` for none).
    #[arg(long, value_name = "ADDR")]
    pub from: String,
    /// A recipient, repeatable.
    #[arg(long, value_name = "ADDR", required = true)]
    pub to: Vec<String>,
    /// STARTTLS, required (never falls back to plaintext).
    #[arg(long, conflicts_with = "tls")]
    pub starttls: bool,
    /// Implicit TLS (RFC 8314).
    #[arg(long)]
    pub tls: bool,
    /// PEM file with the CA certificate(s) to trust for the server.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long)]
    pub insecure: bool,
    /// AUTH (PLAIN preferred, else LOGIN).
    #[arg(long, value_name = "USER:PASS")]
    pub auth: Option<String>,
    /// EHLO/LHLO name.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    pub helo: String,
    /// Speak LMTP.
    #[arg(long)]
    pub lmtp: bool,
    /// Use BDAT when offered.
    #[arg(long)]
    pub chunking: bool,
    /// Send the message N times (load generator).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u64,
    /// Over C reused connections.
    #[arg(long, value_name = "C", default_value_t = 1)]
    pub connections: u64,
    /// Read the message from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    pub message: Option<PathBuf>,
}

/// What went wrong, by exit status: 1 for a refusal, 2 for the rest.
#[derive(Debug)]
pub enum Failure {
    /// Some recipient (or the whole message) was refused.
    Refused,
    /// A protocol, TLS or connection error, or bad flags.
    Fatal(String),
}

impl Failure {
    /// The exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Refused => 1,
            Failure::Fatal(_) => 2,
        }
    }
}

impl SendArgs {
    /// The message: `--message FILE`, or standard input.
    pub fn message(&self) -> Result<Vec<u8>, Failure> {
        match &self.message {
            Some(path) => {
                std::fs::read(path).map_err(|e| Failure::Fatal(format!("--message: {e}")))
            }
            None => {
                let mut message = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut message)
                    .map_err(|e| Failure::Fatal(format!("stdin: {e}")))?;
                Ok(message)
            }
        }
    }

    /// The envelope of `--from` and `--to`.
    pub fn envelope(&self) -> Result<ClientEnvelope, Failure> {
        ClientEnvelope::parse(self.from.as_str(), self.to.iter().map(String::as_str))
            .map_err(|e| Failure::Fatal(format!("bad address: {e}")))
    }

    /// How many messages each of the `--connections` connections sends.
    pub fn shares(&self) -> Vec<u64> {
        let connections = self.connections.clamp(1, self.count.max(1));
        (0..connections)
            .map(|c| self.count / connections + u64::from(c < self.count % connections))
            .collect()
    }

    /// The last line with `--count` (or more than one connection).
    pub fn summary(&self, elapsed: Duration) -> Option<String> {
        (self.count > 1 || self.connections > 1).then(|| {
            let secs = elapsed.as_secs_f64();
            format!(
                "sent {} messages in {secs:.3} s ({:.1} msg/s)",
                self.count,
                self.count as f64 / secs.max(1e-9)
            )
        })
    }
}

impl SendArgs {
    /// The client options these flags give.
    pub fn options(&self) -> Result<ClientOptions, String> {
        let args = self;
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
}

/// `ADDR CODE ENHANCED TEXT`.
pub fn reply_line(addr: &str, reply: &Reply) -> String {
    let enhanced = reply
        .enhanced()
        .map_or_else(|| "-".to_string(), |e| e.to_string());
    format!("{addr} {} {enhanced} {}", reply.code(), reply.text())
}

fn bare(path: &impl std::fmt::Display) -> String {
    path.to_string().trim_matches(['<', '>']).to_string()
}

/// One message's lines and whether every recipient took it.
/// One message's lines (`ADDR CODE ENHANCED TEXT`, one per recipient) and
/// whether every recipient took it; a failure that is not a refusal is
/// [`Failure::Fatal`].
pub fn report(result: Result<TransactionResult, Error>) -> Result<(Vec<String>, bool), Failure> {
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

/// A client connection as the `send` example uses it: each adapter's
/// `Connection` (the blocking one through a newtype in its example).
pub trait Mailer: Sized {
    /// Sends one message.
    fn send(
        &mut self,
        envelope: ClientEnvelope,
        message: &[u8],
    ) -> impl Future<Output = Result<TransactionResult, Error>>;

    /// `QUIT` and close.
    fn quit(self) -> impl Future<Output = Result<(), Error>>;
}

impl<R: Connect> Mailer for ClientConnection<R> {
    async fn send(
        &mut self,
        envelope: ClientEnvelope,
        message: &[u8],
    ) -> Result<TransactionResult, Error> {
        ClientConnection::send(self, envelope, message).await
    }

    async fn quit(self) -> Result<(), Error> {
        ClientConnection::quit(self).await
    }
}

/// What one connection of `send` did: its lines, and whether every
/// recipient of every message took it.
pub type Share = Result<(Vec<String>, bool), Failure>;

/// What every connection of `send` sends, shared between them.
#[derive(Debug, Clone)]
pub struct SendJob {
    /// The client options.
    pub options: Arc<ClientOptions>,
    envelope: ClientEnvelope,
    message: Arc<[u8]>,
}

impl SendArgs {
    /// The options, envelope and message of these flags.
    pub fn job(&self) -> Result<SendJob, Failure> {
        Ok(SendJob {
            options: Arc::new(self.options().map_err(Failure::Fatal)?),
            envelope: self.envelope()?,
            message: self.message()?.into(),
        })
    }

    /// Prints each connection's lines, then the summary, and says how it
    /// went: `Ok` if every recipient took every message.
    pub fn finish(&self, started: std::time::Instant, shares: Vec<Share>) -> Result<(), Failure> {
        let (mut all, mut fatal) = (true, None);
        let mut out = std::io::stdout().lock();
        for share in shares {
            match share {
                Ok((lines, ok)) => {
                    for line in lines {
                        let _ = writeln!(out, "{line}");
                    }
                    all &= ok;
                }
                Err(e) => fatal = fatal.or(Some(e)),
            }
        }
        if let Some(summary) = self.summary(started.elapsed()) {
            let _ = writeln!(out, "{summary}");
        }
        let _ = out.flush();
        match fatal {
            Some(f) => Err(f),
            None if all => Ok(()),
            None => Err(Failure::Refused),
        }
    }
}

impl SendJob {
    /// One connection's part: connects, sends the message `count` times,
    /// quits.
    pub async fn send<M: Mailer>(
        &self,
        connect: impl Future<Output = Result<M, Error>>,
        count: u64,
    ) -> Share {
        let mut connection = connect.await.map_err(|e| Failure::Fatal(e.to_string()))?;
        let (mut lines, mut all) = (Vec::new(), true);
        for _ in 0..count {
            let result = connection.send(self.envelope.clone(), &self.message).await;
            let (l, ok) = report(result)?;
            lines.extend(l);
            all &= ok;
        }
        let _ = connection.quit().await;
        Ok((lines, all))
    }
}

/// The exit status of `send`, with the error on standard error.
pub fn exit(result: Result<(), Failure>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            if let Failure::Fatal(e) = &failure {
                eprintln!("send: {e}");
            }
            std::process::ExitCode::from(failure.exit_code())
        }
    }
}
