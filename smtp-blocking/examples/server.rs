//! An SMTP (or LMTP) server that delivers into a Maildir, on blocking
//! sockets and a pool of worker threads.
//!
//! `cargo run --release -p smtp-blocking --example blocking-server` listens on
//! 127.0.0.1:2525 and delivers into `./maildir`; `--help` lists the options
//! (TLS, AUTH, limits, LMTP), the same for every adapter's example. It prints
//! `listening on ADDR` per listener and stops gracefully on SIGINT or SIGTERM.

use clap::Parser;
use smtp_adapter::cli::{ServerArgs, init_tracing, on_signal, print_listening, server_exit};
use smtp_blocking::server::{Server, Stop};

fn run(args: ServerArgs) -> std::io::Result<()> {
    let (builder, handler) = args.setup()?.builder(Server::builder);
    let server = builder.bind()?;
    print_listening(&server.local_addrs())?;
    let stop = Stop::new();
    let stopper = stop.clone();
    on_signal(move || stopper.stop())?;
    server.run_until(handler, stop)
}

fn main() -> std::process::ExitCode {
    let args = ServerArgs::parse();
    init_tracing();
    server_exit(run(args))
}
