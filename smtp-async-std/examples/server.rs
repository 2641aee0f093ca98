//! An SMTP (or LMTP) server that delivers into a Maildir, on smol (default)
//! or async-std: the same flags as smtp-tokio's example, plus `--runtime`.
//!
//! `cargo run --release -p smtp-async-std --example async-server -- --runtime smol`

use clap::Parser;
use smtp_adapter::cli::{ServerArgs, init_tracing, on_signal, print_listening, server_exit};
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

async fn run(args: ServerArgs) -> std::io::Result<()> {
    let (builder, handler) = args.setup()?.builder(Server::builder);
    let server = builder.bind()?;
    print_listening(&server.local_addrs())?;
    let (stop, stopped) = async_channel::bounded::<()>(1);
    on_signal(move || {
        let _ = stop.send_blocking(());
    })?;
    server
        .run_until(handler, async move {
            let _ = stopped.recv().await;
        })
        .await
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    init_tracing();
    server_exit(match args.runtime.as_str() {
        "async-std" => async_std::task::block_on(run(args.server)),
        _ => smol::block_on(run(args.server)),
    })
}
