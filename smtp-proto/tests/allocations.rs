//! Allocations of a server transaction, counted by this test binary's
//! allocator: at most 8 per accepted message and none per line of content
//! (the budget the benchmark reports too), and a decision's reply moved where
//! it goes, not copied. One test function, so that no other test allocates
//! while one is counted.

use std::alloc::System;
use std::sync::Arc;

use smtp_proto::output::Output;
use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, DecisionPoint, ServerConfig, ServerSession};
use smtp_proto::time::Instant;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations `f` makes (of the whole process: this binary has one test, so
/// nothing else runs meanwhile).
fn allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    change.allocations + change.reallocations
}

const NOW: Instant = Instant::ZERO;

/// Drains the session, accepting every decision; events and replies are
/// dropped at once.
fn drain(s: &mut ServerSession) {
    loop {
        match s.poll_output() {
            Output::Event(event) => {
                if event.needs_decision() {
                    drop(event);
                    s.respond(NOW, Decision::Accept)
                        .expect("a pending decision");
                }
            }
            Output::Transmit(_) => {}
            _ => return,
        }
    }
}

fn feed(s: &mut ServerSession, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = s.handle_bytes(NOW, rest).expect("open");
        rest = &rest[n..];
        drain(s);
    }
}

/// A greeted session after EHLO and one transaction, so that what is kept
/// across transactions is in place.
fn warm() -> ServerSession {
    let mut s = ServerSession::new(Arc::new(ServerConfig::new("mx.example.net")), NOW);
    drain(&mut s);
    feed(&mut s, b"EHLO client.example.org\r\n");
    transaction(&mut s, &content(20));
    s
}

/// The dot-stuffed content of a message of `lines` lines of 66 octets, some
/// of them starting with a dot, with its final `.` line.
fn content(lines: usize) -> Vec<u8> {
    let mut content = Vec::new();
    for i in 0..lines {
        if i % 7 == 0 {
            content.extend_from_slice(b"..");
        }
        content.extend_from_slice(
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do\r\n",
        );
    }
    content.extend_from_slice(b".\r\n");
    content
}

/// One transaction, its content in one read.
fn transaction(s: &mut ServerSession, content: &[u8]) {
    feed(
        s,
        b"MAIL FROM:<sender.name@client.example.org> BODY=8BITMIME\r\n\
          RCPT TO:<recipient@mx.example.net>\r\nDATA\r\n",
    );
    feed(s, content);
}

#[test]
fn allocation_budget() {
    a_message_takes_at_most_eight_allocations_and_none_per_line();
    a_refusal_s_reply_is_moved_not_copied();
}

fn a_message_takes_at_most_eight_allocations_and_none_per_line() {
    let mut s = warm();
    let (small, large) = (content(16), content(480));
    let counts: Vec<usize> = (0..3)
        .map(|_| allocations(|| transaction(&mut s, &small)))
        .collect();
    let small = *counts.iter().max().expect("three");
    assert!(small <= 8, "a 1 KiB message took {counts:?} allocations");
    // Thirty times the lines (480), in one read: the session decodes
    // content 4 KiB at a time and may allocate once per step, never per line.
    let steps = large.len() / 4096;
    let large = allocations(|| transaction(&mut s, &large));
    assert!(
        large <= small + steps,
        "a 31 KiB message took {large}, a 1 KiB one {small}"
    );
}

fn a_refusal_s_reply_is_moved_not_copied() {
    let mut s = warm();
    let reply = |code, e: (u8, u16, u16), text| {
        Reply::new(
            ReplyCode::new(code).expect("valid"),
            EnhancedCode::new(e.0, e.1, e.2),
            text,
        )
    };
    // The same transaction twice (the first may still grow a buffer): the
    // sender accepted with the application's own reply, the recipient
    // refused. Neither decision allocates: each reply goes out as it is.
    let mut counts = Vec::new();
    for _ in 0..2 {
        s.handle_bytes(NOW, b"MAIL FROM:<a@client.example.org>\r\n")
            .expect("open");
        await_decision(&mut s, DecisionPoint::MailFrom);
        let accept = Decision::AcceptWith(reply(250, (2, 1, 0), "sender known"));
        let mail = allocations(|| s.respond(NOW, accept).expect("pending"));
        s.handle_bytes(NOW, b"RCPT TO:<nobody@mx.example.net>\r\n")
            .expect("open");
        await_decision(&mut s, DecisionPoint::RcptTo);
        let refuse = Decision::Reject(reply(550, (5, 1, 1), "no such user"));
        let rcpt = allocations(|| s.respond(NOW, refuse).expect("pending"));
        counts.push((mail, rcpt));
        feed(&mut s, b"RSET\r\n");
    }
    assert_eq!(counts[1], (0, 0), "deciding took {counts:?} allocations");
}

/// Polls until the event that asks for `point` is handed out.
fn await_decision(s: &mut ServerSession, point: DecisionPoint) {
    loop {
        match s.poll_output() {
            Output::Event(event) if event.decision_point() == Some(point) => return,
            Output::Event(_) | Output::Transmit(_) => {}
            other => panic!("no {point:?} event: {other:?}"),
        }
    }
}
