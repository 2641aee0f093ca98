//! Property tests for the DATA codec and BDAT framing (RFC 5321 §4.1.1.4, §4.5.2; RFC 3030).

use proptest::prelude::*;
use smtp_proto::wire::data::{
    BareLineEnding, BdatChunk, DataDecoder, DataDecoderConfig, DecodeStatus, DotStuffer,
    LineNormalizer,
};

/// Bytes biased towards the interesting ones: CR, LF, '.', NUL and 8-bit.
fn interesting_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(b'\r'),
            3 => Just(b'\n'),
            3 => Just(b'.'),
            1 => Just(0u8),
            3 => b'a'..=b'z',
            1 => any::<u8>(),
        ],
        0..max,
    )
}

/// Split points, as fractions, to cut an input into random chunks.
fn cuts() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    prop::collection::vec(any::<prop::sample::Index>(), 0..12)
}

fn chunks<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
    points.push(0);
    points.push(input.len());
    points.sort_unstable();
    points.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}

fn policy() -> impl Strategy<Value = BareLineEnding> {
    prop_oneof![
        Just(BareLineEnding::Reject),
        Just(BareLineEnding::Normalize)
    ]
}

fn stuff(pieces: &[&[u8]]) -> Vec<u8> {
    let mut s = DotStuffer::new();
    let mut out = Vec::new();
    for p in pieces {
        s.encode(p, &mut out);
    }
    s.finish(&mut out);
    out
}

fn normalize_lines(pieces: &[&[u8]]) -> Vec<u8> {
    let mut n = LineNormalizer::new();
    let mut out = Vec::new();
    for p in pieces {
        n.encode(p, &mut out);
    }
    n.finish(&mut out);
    out
}

/// Every bare CR / bare LF / CRLF becomes CRLF; a CRLF is added if the content
/// is non-empty and does not end with a line ending.
fn normalise(x: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < x.len() {
        match x[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if x.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Feeds `pieces` to a decoder, stopping at the end of data.
fn decode(policy: BareLineEnding, pieces: &[&[u8]]) -> (Vec<u8>, DecodeStatus) {
    let mut dec = DataDecoder::new(DataDecoderConfig {
        bare_line_ending: policy,
        max_line_len: 1000,
    });
    let mut out = Vec::new();
    let mut consumed = 0usize;
    for p in pieces {
        let st = dec.decode(p, &mut out);
        consumed += st.consumed;
        assert!(st.consumed <= p.len());
        if st.done {
            return (
                out,
                DecodeStatus {
                    consumed,
                    done: true,
                },
            );
        }
        assert_eq!(
            st.consumed,
            p.len(),
            "not done but did not consume everything"
        );
    }
    (
        out,
        DecodeStatus {
            consumed,
            done: false,
        },
    )
}

fn bytewise(input: &[u8]) -> Vec<&[u8]> {
    input.chunks(1).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (1) Stuffed output: CR only in CRLF, LF only in CRLF, every line-start dot
    /// doubled, exactly one end-of-data sequence, at the end.
    #[test]
    fn stuffer_output_is_clean(msg in interesting_bytes(300), cuts in cuts()) {
        let wire = stuff(&chunks(&msg, &cuts));
        prop_assert_eq!(&wire, &stuff(&[&msg]));
        prop_assert!(wire.ends_with(b".\r\n"));
        for (i, &b) in wire.iter().enumerate() {
            if b == b'\r' {
                prop_assert_eq!(wire.get(i + 1), Some(&b'\n'));
            }
            if b == b'\n' {
                prop_assert!(i > 0 && wire[i - 1] == b'\r');
            }
        }
        // Walk the lines: every line starting with '.' is either the final ".\r\n"
        // or starts with "..".
        let lines: Vec<&[u8]> = wire.split_inclusive(|&b| b == b'\n').collect();
        let (last, body) = lines.split_last().unwrap();
        prop_assert_eq!(*last, &b".\r\n"[..]);
        for line in body {
            if line.first() == Some(&b'.') {
                prop_assert!(line.starts_with(b".."), "unstuffed line {:?}", line);
            }
        }
        // Exactly one end-of-data sequence: the decoder stops at the very end.
        let (_, st) = decode(BareLineEnding::Reject, &[&wire]);
        prop_assert!(st.done);
        prop_assert_eq!(st.consumed, wire.len());
    }

    /// (1b) Normalised output: CR only in CRLF, LF only in CRLF, identical for
    /// every split of the input (byte by byte and random), and equal to the
    /// reference `normalise` (so nothing but line endings changes: no stuffing,
    /// no end-of-data).
    #[test]
    fn normalizer_output_is_clean_and_split_invariant(
        msg in interesting_bytes(300),
        cuts in cuts(),
    ) {
        let whole = normalize_lines(&[&msg]);
        for (i, &b) in whole.iter().enumerate() {
            if b == b'\r' {
                prop_assert_eq!(whole.get(i + 1), Some(&b'\n'), "bare CR at {}", i);
            }
            if b == b'\n' {
                prop_assert!(i > 0 && whole[i - 1] == b'\r', "bare LF at {}", i);
            }
        }
        prop_assert_eq!(&normalize_lines(&chunks(&msg, &cuts)), &whole);
        prop_assert_eq!(&normalize_lines(&bytewise(&msg)), &whole);
        prop_assert_eq!(&whole, &normalise(&msg));
    }

    /// (2) decode(stuff(x)) == normalise(x), for any chunking on both sides.
    #[test]
    fn stuff_then_decode_round_trips(
        msg in interesting_bytes(300),
        enc_cuts in cuts(),
        dec_cuts in cuts(),
        policy in policy(),
    ) {
        let wire = stuff(&chunks(&msg, &enc_cuts));
        let (out, st) = decode(policy, &chunks(&wire, &dec_cuts));
        prop_assert!(st.done);
        prop_assert_eq!(st.consumed, wire.len());
        prop_assert_eq!(out, normalise(&msg));
    }

    /// (3) Output and consumed are the same for every split of the input,
    /// including when pipelined bytes follow the end of data.
    #[test]
    fn decoding_is_split_invariant(
        input in interesting_bytes(400),
        cuts in cuts(),
        policy in policy(),
    ) {
        let whole = decode(policy, &[&input]);
        prop_assert_eq!(&decode(policy, &bytewise(&input)), &whole);
        prop_assert_eq!(&decode(policy, &chunks(&input, &cuts)), &whole);
    }

    /// (3b) With a real end of data inside, the bytes after it are never consumed.
    #[test]
    fn pipelined_bytes_are_not_consumed(
        msg in interesting_bytes(200),
        tail in interesting_bytes(50),
        cuts in cuts(),
        policy in policy(),
    ) {
        let mut input = stuff(&[&msg]);
        let end = input.len();
        input.extend_from_slice(&tail);
        let (out, st) = decode(policy, &chunks(&input, &cuts));
        prop_assert!(st.done);
        prop_assert_eq!(st.consumed, end);
        prop_assert_eq!(out, normalise(&msg));
    }

    /// (4) Arbitrary input never panics; output is bounded by the input.
    #[test]
    fn arbitrary_input_is_bounded(input in prop::collection::vec(any::<u8>(), 0..600), cuts in cuts()) {
        let (out, st) = decode(BareLineEnding::Reject, &chunks(&input, &cuts));
        prop_assert!(st.consumed <= input.len());
        prop_assert!(out.len() <= st.consumed);
        let (out, st) = decode(BareLineEnding::Normalize, &chunks(&input, &cuts));
        prop_assert!(out.len() <= 2 * st.consumed);
    }

    /// (4b) Under Reject the decoder only removes stuffing dots and the
    /// terminator: dropping every CR, LF and '.' from both sides gives the same bytes.
    #[test]
    fn reject_only_removes_dots(input in interesting_bytes(400)) {
        let (out, _) = decode(BareLineEnding::Reject, &[&input]);
        let strip = |v: &[u8]| -> Vec<u8> { v.iter().copied().filter(|b| *b != b'.').collect() };
        let consumed_strip = strip(&input[..]);
        let out_strip = strip(&out);
        prop_assert!(consumed_strip.starts_with(&out_strip));
    }

    /// BDAT takes exactly `size` octets, verbatim, across any chunking.
    #[test]
    fn bdat_takes_exactly_size(
        size in 0u64..500,
        input in prop::collection::vec(any::<u8>(), 0..600),
        cuts in cuts(),
    ) {
        let mut chunk = BdatChunk::new(size, true);
        let mut got = Vec::new();
        let mut consumed = 0usize;
        for piece in chunks(&input, &cuts) {
            let (bytes, n) = chunk.take(piece);
            prop_assert_eq!(bytes, &piece[..n]);
            got.extend_from_slice(bytes);
            consumed += n;
        }
        let expect = input.len().min(size as usize);
        prop_assert_eq!(consumed, expect);
        prop_assert_eq!(&got[..], &input[..expect]);
        prop_assert_eq!(chunk.remaining(), size - expect as u64);
        prop_assert_eq!(chunk.is_complete(), input.len() >= size as usize);
    }
}

/// The longest CRLF-terminated line of decoded `content` (CRLF included), or
/// its unterminated last line: the reference for `DataDecoder::line_too_long`.
fn reference_longest_line(content: &[u8]) -> u64 {
    let (mut longest, mut start, mut i) = (0u64, 0, 0);
    while i + 1 < content.len() {
        if content[i] == b'\r' && content[i + 1] == b'\n' {
            longest = longest.max((i + 2 - start) as u64);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    longest.max((content.len() - start) as u64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Mutation-testing finds: the line-length verdict (RFC 5321
    /// §4.5.3.1.6) of the block-wise fast path, the line-wise slow path, the
    /// bare line ending paths and lines split across inputs agrees with the
    /// decoded content under every split and limit, and `findings()` carries
    /// it. Lines are long (up to 1,650 octets) with odd bytes inside.
    #[test]
    fn line_too_long_is_judged_under_every_split(
        lines in prop::collection::vec((0usize..1100, interesting_bytes(6)), 0..5),
        end in any::<bool>(),
        partial in 0usize..1100,
        cuts in cuts(),
        policy in policy(),
        max in prop::sample::select(vec![1000usize, 1001, 1100, 1400, 5000]),
    ) {
        let mut input = Vec::new();
        for (len, odd) in &lines {
            input.extend(std::iter::repeat_n(b'x', *len));
            input.extend_from_slice(odd);
            input.extend(std::iter::repeat_n(b'y', len / 2));
            input.extend_from_slice(b"\r\n");
        }
        if end {
            input.extend_from_slice(b".\r\n");
        } else {
            // A line in progress counts with the octets seen so far.
            input.extend(std::iter::repeat_n(b'z', partial));
        }
        for pieces in [vec![&input[..]], chunks(&input, &cuts)] {
            let mut dec = DataDecoder::new(DataDecoderConfig {
                bare_line_ending: policy,
                max_line_len: max,
            });
            let mut out = Vec::new();
            for p in &pieces {
                if dec.decode(p, &mut out).done {
                    break;
                }
            }
            let too_long = reference_longest_line(&out) > max as u64;
            prop_assert_eq!(dec.findings().line_too_long, too_long);
            prop_assert_eq!(dec.line_too_long(), too_long);
        }
    }
}

/// Text as mail carries it: long runs of ordinary lines, some near the
/// 1,000-octet limit (what the decoder's block-wise fast path takes), with a
/// few odd octets dropped in at random places — a bare CR or LF, a line-start dot, a NUL, an 8-bit octet, the
/// end-of-data sequence — so that each lands at every offset of a block.
fn mostly_text() -> impl Strategy<Value = Vec<u8>> {
    let lines = prop::collection::vec(prop_oneof![9 => 0usize..200, 1 => 950usize..1050], 1..40);
    let odd = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![
                &b"\r"[..],
                b"\n",
                b"\r\n.",
                b"\r\n..x",
                b"\x00",
                b"\xc3\xa9",
                b"\r\n.\r\n",
                b"\n.\r\n",
            ]),
        ),
        0..4,
    );
    (lines, odd).prop_map(|(lines, odd)| {
        let mut text = Vec::new();
        for (n, len) in lines.iter().enumerate() {
            text.extend((0..*len).map(|i| b"abcdefghij klmnopqrstuvwxyz"[(i + n) % 27]));
            text.extend_from_slice(b"\r\n");
        }
        for (at, bytes) in odd {
            let at = at.index(text.len() + 1);
            text.splice(at..at, bytes.iter().copied());
        }
        text
    })
}

/// Decodes `pieces` and returns everything observable: content, consumed,
/// done and every finding.
fn observe(
    policy: BareLineEnding,
    pieces: &[&[u8]],
) -> (Vec<u8>, DecodeStatus, smtp_proto::wire::data::DataFindings) {
    let mut dec = DataDecoder::new(DataDecoderConfig {
        bare_line_ending: policy,
        max_line_len: 1000,
    });
    let (out, status) = {
        let mut out = Vec::new();
        let mut consumed = 0;
        for p in pieces {
            let st = dec.decode(p, &mut out);
            consumed += st.consumed;
            if st.done {
                break;
            }
        }
        let done = dec.is_done();
        (out, DecodeStatus { consumed, done })
    };
    (out, status, dec.findings())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The block-wise fast path (taken on whole inputs) and the line-wise
    /// slow path (the only one byte-by-byte input can take) agree on
    /// everything: content, consumed, done, bare CR/LF, NUL, 8-bit, content
    /// length and the line-length verdict; random splits agree too.
    #[test]
    fn fast_and_slow_paths_agree(
        text in mostly_text(),
        cuts in cuts(),
        policy in policy(),
    ) {
        let whole = observe(policy, &[&text]);
        prop_assert_eq!(&observe(policy, &bytewise(&text)), &whole);
        prop_assert_eq!(&observe(policy, &chunks(&text, &cuts)), &whole);
        // The findings match the content (the input itself where it is clean).
        let (out, _, findings) = &whole;
        prop_assert_eq!(findings.nul, out.contains(&0));
        prop_assert_eq!(findings.eight_bit, !out.is_ascii());
        prop_assert_eq!(findings.content_len, out.len() as u64);
    }
}
