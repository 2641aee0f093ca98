//! Time as an input: the core never reads a clock.
//!
//! The adapter picks an origin (usually the moment it started) and passes
//! [`Instant`]s measured from it into every mutating call; sessions report their
//! next deadline as an [`Instant`] too.
//!
//! With std, take `let origin = std::time::Instant::now()` once and pass
//! `Instant::from_duration(origin.elapsed())`; a deadline `d` is the std
//! instant `origin + d.as_duration()` (for tokio's `sleep_until`,
//! `tokio::time::Instant::from_std(origin + d.as_duration())`). A deadline at or
//! before the current time is simply due: call `handle_timeout` at once.
//!
//! ```
//! use std::time::Duration;
//! use smtp_proto::time::Instant;
//! let origin = std::time::Instant::now();
//! let now = Instant::from_duration(origin.elapsed());
//! let deadline = now + Duration::from_secs(300);
//! let wake_at: std::time::Instant = origin + deadline.as_duration();
//! assert!(wake_at >= origin + Duration::from_secs(300));
//! assert_eq!(deadline.saturating_duration_since(now), Duration::from_secs(300));
//! ```

use core::ops::Add;
use core::time::Duration;

/// A point on the caller's monotonic clock: the time elapsed since an origin the
/// caller chose. Only differences between two `Instant`s of the same clock mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `since_origin` after the origin.
    pub const fn from_duration(since_origin: Duration) -> Instant {
        Instant(since_origin)
    }

    /// The time since the origin.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates instead of overflowing: a deadline past the end of time never fires.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}
