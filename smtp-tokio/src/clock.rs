//! The adapter's clock: the core takes time as an input (ARCHITECTURE.md R5).
//!
//! Every session of the process measures time from one origin, taken the
//! first time the clock is read, so deadlines from different sessions compare.

use std::sync::OnceLock;

use smtp_proto::time::Instant;

fn origin() -> tokio::time::Instant {
    static ORIGIN: OnceLock<tokio::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(tokio::time::Instant::now)
}

/// Now, as the core counts it.
pub(crate) fn now() -> Instant {
    Instant::from_duration(origin().elapsed())
}

/// A core deadline as a tokio instant, for `sleep_until`.
pub(crate) fn deadline(at: Instant) -> tokio::time::Instant {
    origin() + at.as_duration()
}

/// Sleeps until the deadline, or forever without one.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(deadline(at)).await,
        None => std::future::pending().await,
    }
}
