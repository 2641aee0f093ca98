//! What a session hands back to the adapter, and the one error type for API misuse.

use bytes::Bytes;

/// One thing for the adapter to do, from a session's `poll_output()`.
///
/// The adapter calls `poll_output()` until it returns [`Output::Wait`], acting on
/// each value in order (DESIGN rule 2: one queue, so none can be forgotten).
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output<E> {
    /// Write these bytes to the peer, in order.
    Transmit(Bytes),
    /// Hand this event to the application. Events that need a decision say so;
    /// the session stays paused until `respond` is called.
    Event(E),
    /// Every earlier `Transmit` has been handed out: flush it, run the TLS
    /// handshake on the connection, then call `handle_tls_established`.
    StartTls,
    /// Flush what was transmitted and close the connection. The session is over.
    Close,
    /// Nothing more until input arrives (if `wants_read`) or `deadline` passes
    /// (then call `handle_timeout`).
    Wait {
        /// When to call `handle_timeout`, if ever.
        deadline: Option<crate::time::Instant>,
        /// Whether the session wants more input now. When false, stop reading:
        /// that is how backpressure reaches the peer.
        wants_read: bool,
    },
}

/// A method was called when the session could not accept it: a bug in the
/// caller, never caused by the peer (DESIGN rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// `respond` without an event waiting for a decision.
    #[error("no event is waiting for a decision")]
    NoPendingDecision,
    /// The decision does not fit the event (e.g. a 2xx reply to reject, a
    /// per-recipient answer outside LMTP, or the wrong number of replies).
    #[error("the decision does not fit the pending event")]
    InvalidDecision,
    /// `handle_tls_established` without a STARTTLS in progress, or twice.
    #[error("no TLS upgrade is in progress")]
    NoTlsUpgrade,
    /// The session has closed.
    #[error("the session is closed")]
    Closed,
    /// A client command was issued in a state that does not allow it.
    #[error("command not allowed in this state")]
    InvalidState,
}
