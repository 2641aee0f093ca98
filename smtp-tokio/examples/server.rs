//! An SMTP (or LMTP) server that delivers into a Maildir.
//!
//! `cargo run --release -p smtp-tokio --example server` listens on
//! 127.0.0.1:2525 and delivers into `./maildir`; `--help` lists the options
//! (TLS, AUTH, limits, LMTP), the same for every adapter's example. It prints
//! `listening on ADDR` per listener and stops gracefully on SIGINT or SIGTERM.
//! `--threads N` sets the runtime's threads (default: one per core).

#[path = "common/runtime.rs"]
mod runtime;

use clap::Parser;
use smtp_adapter::cli::{ServerArgs, init_tracing, on_signal, print_listening, server_exit};
use smtp_tokio::server::Server;

/// The example server, with the runtime's thread count.
#[derive(Parser, Debug)]
#[command(name = "server")]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    threads: runtime::Threads,
}

async fn run(args: ServerArgs) -> std::io::Result<()> {
    let (builder, handler) = args.setup()?.builder(Server::builder);
    let server = builder.bind().await?;
    print_listening(&server.local_addrs())?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    on_signal(move || {
        let _ = stop.send(());
    })?;
    server
        .run_until(handler, async {
            let _ = stopped.await;
        })
        .await
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    init_tracing();
    server_exit(
        args.threads
            .runtime()
            .and_then(|runtime| runtime.block_on(run(args.server))),
    )
}
