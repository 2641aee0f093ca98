//! An SMTP (or LMTP) server that delivers into a Maildir, on blocking
//! sockets and a pool of worker threads.
//!
//! `cargo run --release -p smtp-blocking --example blocking-server` listens on
//! 127.0.0.1:2525 and delivers into `./maildir`; `--help` lists the options
//! (TLS, AUTH, limits, LMTP), the same for every adapter's example. It prints
//! `listening on ADDR` per listener and stops gracefully on SIGINT or SIGTERM.

use clap::Parser;
use smtp_adapter::cli::{ServerArgs, print_listening};
use smtp_blocking::server::{Server, Stop};

/// A thread that waits for SIGINT or SIGTERM, then asks the server to stop.
fn stop_on_signal(stop: Stop) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stop.stop();
        }
    });
    Ok(())
}

fn run(args: ServerArgs) -> std::io::Result<()> {
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
    let server = builder.bind()?;
    let stop = Stop::new();
    stop_on_signal(stop.clone())?;
    print_listening(&server.local_addrs())?;
    server.run_until(setup.handler, stop)
}

fn main() -> std::process::ExitCode {
    let args = ServerArgs::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
