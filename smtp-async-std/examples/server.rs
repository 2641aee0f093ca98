//! An SMTP (or LMTP) server that delivers into a Maildir, on smol (default)
//! or async-std: the same flags as smtp-tokio's example, plus `--runtime`.
//!
//! `cargo run --release -p smtp-async-std --example async-server -- --runtime smol`

use clap::Parser;
use smtp_adapter::cli::{ServerArgs, print_listening};
use smtp_async_std::server::Server;

/// The example server, on the runtime of your choice.
#[derive(Parser, Debug)]
#[command(name = "server")]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// The runtime: smol or async-std.
    #[arg(long, value_name = "RUNTIME", default_value = "smol", value_parser = ["smol", "async-std"])]
    runtime: String,
}

/// Completes at SIGINT or SIGTERM (signal-hook on a thread of its own).
fn shutdown_signal() -> impl Future<Output = ()> + Send {
    let (tx, rx) = async_channel::bounded::<()>(1);
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .expect("signal handlers");
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send_blocking(());
        }
    });
    async move {
        let _ = rx.recv().await;
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
    let server = builder.bind()?;
    print_listening(&server.local_addrs())?;
    server.run_until(setup.handler, shutdown_signal()).await
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match args.runtime.as_str() {
        "async-std" => async_std::task::block_on(run(args.server)),
        _ => smol::block_on(run(args.server)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
