//! What a session hands back to the adapter, and the one error type for API misuse.

use bytes::{Bytes, BytesMut};

/// One thing for the adapter to do, from a session's `poll_output()`.
///
/// The adapter calls `poll_output()` until it returns [`Output::Wait`] (or
/// [`Output::Close`]), acting on each value in order: one queue, so nothing can
/// be forgotten (ARCHITECTURE.md, "The drain loop").
///
/// Within one drain, events come first and the bytes to write come last, as a
/// single `Transmit` for the whole batch of replies (or commands), right before
/// the session waits, upgrades to TLS or closes.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output<E> {
    /// Write these bytes to the peer, in order: everything the session produced
    /// since the last `Transmit`, in one piece.
    Transmit(Bytes),
    /// Hand this event to the application. Events that need a decision say so;
    /// the session stays paused until `respond` is called.
    Event(E),
    /// Every earlier `Transmit` has been handed out: flush it, run the TLS
    /// handshake on the connection, then call `handle_tls_established`.
    StartTls,
    /// Flush what was transmitted and close the connection. The session is
    /// over: every later `poll_output` returns `Close` again, and every input
    /// method answers [`ApiMisuse::Closed`].
    Close,
    /// Nothing more until input arrives (if `wants_read`), the application
    /// answers a pending decision, or `deadline` passes (then call
    /// `handle_timeout`). The session is open: a closed session says
    /// [`Output::Close`] instead.
    Wait {
        /// When to call `handle_timeout`, if ever.
        deadline: Option<crate::time::Instant>,
        /// Whether the session wants more input now. When false, stop reading:
        /// that is how backpressure reaches the peer.
        wants_read: bool,
    },
}

/// What both sessions' `poll_output` hand out after their events (which
/// always come first), in the order [`Output`] promises: when nothing else is
/// left to do before the session would stop (wait, upgrade to TLS or close),
/// every byte queued since the last `Transmit` as **one** [`Output::Transmit`]
/// (RFC 2920 §3.2: replies may be held, but must go out before the session
/// waits for more input); then [`Output::StartTls`]; then, once the session is
/// `closing`, [`Output::Close`], again at every later call.
///
/// `None` when nothing is ready and the session is open: the caller returns its
/// own [`Output::Wait`], whose deadline and `wants_read` depend on its state.
/// The answer is a small [`Ready`], from which the caller builds its `Output`
/// in place: an `Option<Output<E>>` would be copied whole on its way out (200
/// bytes for a server event) for every `Transmit`.
#[inline]
pub(crate) fn ready_output(
    out: &mut BytesMut,
    starttls: &mut bool,
    closing: bool,
) -> Option<Ready> {
    if !out.is_empty() {
        return Some(Ready::Transmit(out.split().freeze()));
    }
    if core::mem::take(starttls) {
        return Some(Ready::StartTls);
    }
    closing.then_some(Ready::Close)
}

/// What [`ready_output`] found: the [`Output`]s other than events and `Wait`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ready {
    /// [`Output::Transmit`].
    Transmit(Bytes),
    /// [`Output::StartTls`].
    StartTls,
    /// [`Output::Close`].
    Close,
}

impl<E> From<Ready> for Output<E> {
    #[inline]
    fn from(ready: Ready) -> Self {
        match ready {
            Ready::Transmit(bytes) => Output::Transmit(bytes),
            Ready::StartTls => Output::StartTls,
            Ready::Close => Output::Close,
        }
    }
}

/// Appends as much of `bytes` as fits in `buf` under `capacity` and returns
/// how many octets were taken: the structural input bound of both sessions'
/// `handle_bytes` (the caller keeps the rest).
pub(crate) fn take_bounded(buf: &mut BytesMut, capacity: usize, bytes: &[u8]) -> usize {
    let taken = bytes.len().min(capacity.saturating_sub(buf.len()));
    // An empty buffer without room (once its block is reclaimed) is replaced
    // by one of the exact size: nothing needs copying over, and a buffer
    // frozen whole, as content often is, then needs no allocation of its own.
    if buf.is_empty() && taken > 0 && !buf.try_reclaim(taken) {
        *buf = BytesMut::with_capacity(taken);
    }
    buf.extend_from_slice(&bytes[..taken]);
    taken
}

/// Gives a buffer's memory back when it is empty and has grown past `keep`
/// octets, so that an idle session holds little heap whatever the read sizes
/// were.
pub(crate) fn release_if_idle(buf: &mut BytesMut, keep: usize) {
    if !buf.is_empty() {
        return;
    }
    // After a `split`, an empty buffer can still pin the whole block behind
    // the bytes handed out; its own capacity shows only the tail. Reclaiming
    // (possible once nothing else holds the block) shows the real size. A
    // block still shared is looked at again at the next wait.
    if buf.capacity() > keep || buf.try_reclaim(keep + 1) {
        *buf = BytesMut::new();
    }
}

/// A method was called when the session could not accept it: a bug in the
/// caller, never caused by the peer (ARCHITECTURE.md R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// `respond` without an event waiting for a decision (or before the event
    /// was handed out by `poll_output`).
    #[error("no event is waiting for a decision")]
    NoPendingDecision,
    /// `respond_to` named a different event than the one awaiting a decision;
    /// this one is awaited.
    #[error("the decision awaited is for {0:?}")]
    Awaiting(crate::server::DecisionPoint),
    /// The decision does not fit the event (e.g. a 2xx reply to reject, a
    /// per-recipient answer outside LMTP, or the wrong number of replies).
    #[error("the decision does not fit the pending event")]
    InvalidDecision,
    /// `handle_tls_established` without a STARTTLS in progress, or twice.
    #[error("no TLS upgrade is in progress")]
    NoTlsUpgrade,
    /// The session has closed (or decided to close: the peer closed its side,
    /// QUIT, a timeout, a fatal error). Every input method answers this once
    /// it is so; `poll_output` still hands out what is left, then `Close`.
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
        let mut starttls = true;
        let mut next = |closing| ready_output(&mut out, &mut starttls, closing);
        assert_eq!(
            next(true),
            Some(Ready::Transmit(Bytes::from_static(b"250 ok\r\n")))
        );
        assert_eq!(next(false), Some(Ready::StartTls));
        assert_eq!(next(false), None);
        assert_eq!(next(true), Some(Ready::Close));
        assert_eq!(next(true), Some(Ready::Close));
        let output: Output<()> = Ready::Transmit(Bytes::from_static(b"x")).into();
        assert_eq!(output, Output::Transmit(Bytes::from_static(b"x")));
        assert_eq!(Output::<()>::from(Ready::StartTls), Output::StartTls);
        assert_eq!(Output::<()>::from(Ready::Close), Output::Close);
    }

    #[test]
    fn release_if_idle_frees_a_block_pinned_by_an_empty_split() {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        buf.extend_from_slice(&[b'x'; 64 * 1024 - 10]);
        let handed_out = buf.split().freeze();
        drop(handed_out);
        assert!(buf.capacity() <= 10, "only the tail is visible");
        release_if_idle(&mut buf, 4096);
        assert_eq!(buf.capacity(), 0, "the 64 KiB block is released");
    }

    #[test]
    fn release_if_idle_keeps_small_and_busy_buffers() {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        buf.extend_from_slice(b"x");
        release_if_idle(&mut buf, 4096);
        assert!(buf.capacity() >= 64 * 1024, "not empty: kept");
        buf.clear();
        release_if_idle(&mut buf, 4096);
        assert_eq!(buf.capacity(), 0, "empty and large: released");
        let mut small = BytesMut::with_capacity(1024);
        release_if_idle(&mut small, 4096);
        assert!(small.capacity() >= 1024, "small: kept");
    }
}
