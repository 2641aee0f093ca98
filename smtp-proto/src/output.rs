//! What a session hands back to the adapter, and the one error type for API misuse.

use alloc::collections::VecDeque;

use bytes::{Bytes, BytesMut};

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

/// What both sessions' `poll_output` hand out before they wait, in the order
/// [`Output`] promises: bytes first, then events, then [`Output::StartTls`]
/// (after every `Transmit` queued before it), then, once the session is
/// `closing`, [`Output::Close`] once and a `Wait` that wants nothing after it.
///
/// `None` when nothing is ready and the session is open: the caller returns its
/// own [`Output::Wait`], whose deadline and `wants_read` depend on its state.
pub(crate) fn ready_output<E>(
    out: &mut BytesMut,
    events: &mut VecDeque<E>,
    starttls: &mut bool,
    closing: bool,
    close_emitted: &mut bool,
) -> Option<Output<E>> {
    if !out.is_empty() {
        return Some(Output::Transmit(out.split().freeze()));
    }
    if let Some(event) = events.pop_front() {
        return Some(Output::Event(event));
    }
    if core::mem::take(starttls) {
        return Some(Output::StartTls);
    }
    if !closing {
        return None;
    }
    if core::mem::replace(close_emitted, true) {
        Some(Output::Wait {
            deadline: None,
            wants_read: false,
        })
    } else {
        Some(Output::Close)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_output_hands_out_in_contract_order() {
        let mut out = BytesMut::from(&b"250 ok\r\n"[..]);
        let mut events = VecDeque::from([1, 2]);
        let (mut starttls, mut close_emitted) = (true, false);
        let mut next = |closing| {
            ready_output(
                &mut out,
                &mut events,
                &mut starttls,
                closing,
                &mut close_emitted,
            )
        };
        assert_eq!(
            next(true),
            Some(Output::Transmit(Bytes::from_static(b"250 ok\r\n")))
        );
        assert_eq!(next(true), Some(Output::Event(1)));
        assert_eq!(next(true), Some(Output::Event(2)));
        assert_eq!(next(false), Some(Output::StartTls));
        assert_eq!(next(false), None);
        assert_eq!(next(true), Some(Output::Close));
        let closed = Some(Output::Wait {
            deadline: None,
            wants_read: false,
        });
        assert_eq!(next(true), closed);
        assert_eq!(next(true), closed);
    }
}
