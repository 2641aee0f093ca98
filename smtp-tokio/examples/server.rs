//! An SMTP (or LMTP) server that delivers into a Maildir.
//!
//! `cargo run --release -p smtp-tokio --example server` listens on
//! 127.0.0.1:2525 and delivers into `./maildir`; `--help` lists the options
//! (TLS, AUTH, limits, LMTP), the same for every adapter's example. It prints
//! `listening on ADDR` per listener and stops gracefully on SIGINT or SIGTERM.

use clap::Parser;
use smtp_adapter::cli::{ServerArgs, print_listening};
use smtp_tokio::server::Server;

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn run(args: ServerArgs) -> std::io::Result<()> {
    let setup = args.setup()?;
    let mut builder = Server::builder(setup.config).write_timeout(setup.timeout);
    for addr in setup.listen {
        builder = builder.listen(addr);
    }
    for addr in setup.listen_tls {
        builder = builder.listen_tls(addr);
    }
    if let Some(tls) = setup.tls {
        builder = builder.tls(tls);
    }
    let server = builder.bind().await?;
    print_listening(&server.local_addrs())?;
    server.run_until(setup.handler, shutdown_signal()).await
}

fn main() -> std::process::ExitCode {
    let args = ServerArgs::parse();
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
