//! The adapter's clock: the core takes time as an input (ARCHITECTURE.md R5).
//!
//! Every session of the process measures time from one origin, taken the
//! first time the clock is read, so deadlines from different sessions compare.

use std::sync::OnceLock;
use std::time::Duration;

use smtp_proto::time::Instant;

fn origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

/// Now, as the core counts it.
pub(crate) fn now() -> Instant {
    Instant::from_duration(origin().elapsed())
}

/// How long until the deadline: `None` without one, zero once it passed.
pub(crate) fn until(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|at| at.as_duration().saturating_sub(origin().elapsed()))
}
