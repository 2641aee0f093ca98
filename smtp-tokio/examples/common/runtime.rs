//! The tokio runtime of the examples, from their `--threads` flag.

/// `--threads`: how many threads run the connections.
#[derive(clap::Args, Debug)]
pub(crate) struct Threads {
    /// Threads that run the connections (default: one per core). 1 runs
    /// everything on the main thread, as single-process servers such as
    /// Postfix's smtp-sink do: on a machine shared with the other end of the
    /// connections, that costs the least CPU per message.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: Option<u16>,
}

impl Threads {
    /// The runtime: current-thread for 1, multi-thread otherwise.
    pub(crate) fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        match self.threads {
            Some(1) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Some(n) => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(usize::from(n))
                .enable_all()
                .build(),
            None => tokio::runtime::Runtime::new(),
        }
    }
}
