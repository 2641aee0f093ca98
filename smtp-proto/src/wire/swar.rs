//! Byte tests eight at a time in a `u64` ("SIMD within a register"), for the
//! short lines of commands and replies, where a `memchr` call or a per-byte
//! loop costs more than the work.
//!
//! Each test leaves 0x80 in the top bit of exactly the bytes that match, with
//! no carry from one byte into the next, so masks combine with `|`, `&`, `!`.
//! Byte `k` of a slice is bits `8k..8k + 8` of its word (little-endian load).

/// 0x01 in every byte.
const LOW: u64 = 0x0101_0101_0101_0101;
/// 0x80 in every byte.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;
/// 0x7F in every byte.
const SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The first (up to) eight bytes of `bytes` as a word, padded with spaces: a
/// space matches none of the tests callers use (line ends, controls, non-ASCII).
/// A short tail is assembled in a register from two overlapping loads (the
/// bytes they share are the same, so `|` keeps them); copying it to memory and
/// loading a whole word back would stall store forwarding.
#[inline(always)]
pub(crate) fn load(bytes: &[u8]) -> u64 {
    if let Some(w) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    let n = bytes.len();
    let w = if let (Some(lo), Some(hi)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*lo)) | u64::from(u32::from_le_bytes(*hi)) << (8 * (n - 4))
    } else if let (Some(lo), Some(hi)) = (bytes.first_chunk::<2>(), bytes.last_chunk::<2>()) {
        u64::from(u16::from_le_bytes(*lo)) | u64::from(u16::from_le_bytes(*hi)) << (8 * (n - 2))
    } else {
        bytes.first().map_or(0, |&b| u64::from(b))
    };
    // Spaces above the `n` bytes (n < 8, so the shift is in range).
    w | (LOW * u64::from(b' ')) << (8 * n)
}

/// Bytes of `w` equal to `b`.
#[inline(always)]
pub(crate) fn eq(w: u64, b: u8) -> u64 {
    let t = w ^ (LOW * u64::from(b));
    !(((t & SEVEN) + SEVEN) | t) & HIGH
}

/// CR or LF bytes of `w`.
#[inline(always)]
pub(crate) fn line_end(w: u64) -> u64 {
    eq(w, b'\r') | eq(w, b'\n')
}

/// Control characters other than HT (C0 and DEL) in `w`: what RFC 5321 §4.1.1
/// commands and §4.2 reply text may not hold.
#[inline(always)]
pub(crate) fn control(w: u64) -> u64 {
    // Below 0x20 on the low seven bits (0x7F + 0x60 < 0x100: no carry), with
    // the top bit clear.
    let below_space = !((w & SEVEN) + LOW * 0x60) & !w & HIGH;
    (below_space & !eq(w, b'\t')) | eq(w, 0x7f)
}

/// Bytes of `w` outside `%d33-126` (RFC 5321's `esmtp-value` and RFC 3461's
/// `xchar` ranges): C0 controls, space, DEL and non-ASCII bytes.
#[inline(always)]
pub(crate) fn not_graphic(w: u64) -> u64 {
    // Below 0x21 on the low seven bits (0x7F + 0x5F < 0x100: no carry), with
    // the top bit clear; or the top bit set; or DEL.
    let below = !((w & SEVEN) + LOW * 0x5f) & !w & HIGH;
    below | (w & HIGH) | eq(w, 0x7f)
}

/// Whether no byte of `bytes` is marked by `bad`, which marks the bytes of
/// one word as the tests above do.
#[inline(always)]
pub(crate) fn none(bytes: &[u8], bad: impl Fn(u64) -> u64) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut found = 0;
    for word in &mut words {
        found |= bad(load(word));
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        // Only the tail's own bytes, not the padding `load` adds.
        found |= bad(load(tail)) & (u64::MAX >> (64 - 8 * tail.len()));
    }
    found == 0
}

/// The first byte of `bytes` that `hit` marks (tested as `none` does, a
/// word at a time), or `None`.
#[inline(always)]
pub(crate) fn position(bytes: &[u8], hit: impl Fn(u64) -> u64) -> Option<usize> {
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let mut found = hit(load(rest));
        if rest.len() < 8 {
            // Only the tail's own bytes, not the padding `load` adds.
            found &= u64::MAX >> (64 - 8 * rest.len());
        }
        if found != 0 {
            return Some(at + first(found));
        }
        at += 8;
    }
    None
}

/// Bytes of `w` before the lowest matching byte of `mask` (all when none).
#[inline(always)]
pub(crate) fn before_first(mask: u64) -> u64 {
    // The bits below the lowest set bit: lowest byte k gives bits below 8k+7,
    // which covers bytes 0..k and no top bit of byte k itself.
    mask.wrapping_sub(1) & !mask
}

/// Index of the lowest matching byte of a non-zero `mask`.
#[inline(always)]
pub(crate) fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every test against its byte rule, for every byte value at every
    /// position amid other bytes, and through a padded short load.
    #[test]
    fn tests_match_byte_rules() {
        for fill in [b'a', b'\t', 0x7e, 0xff, 0x00, b'\r'] {
            for at in 0..8 {
                for b in 0..=255u8 {
                    let mut bytes = [fill; 8];
                    bytes[at] = b;
                    let w = load(&bytes);
                    let mask = |f: &dyn Fn(u8) -> bool| {
                        bytes
                            .iter()
                            .enumerate()
                            .fold(0u64, |m, (i, &c)| m | (u64::from(f(c)) << (8 * i + 7)))
                    };
                    assert_eq!(eq(w, b'.'), mask(&|c| c == b'.'));
                    assert_eq!(line_end(w), mask(&|c| c == b'\r' || c == b'\n'));
                    assert_eq!(control(w), mask(&|c| (c < 0x20 && c != b'\t') || c == 0x7f));
                    assert_eq!(w & HIGH, mask(&|c| c >= 0x80));
                    assert_eq!(not_graphic(w), mask(&|c| !(33..=126).contains(&c)));
                    let le = line_end(w);
                    if le != 0 {
                        assert_eq!(bytes[first(le)] & 0xf0, 0);
                        let k = first(le);
                        assert_eq!(
                            before_first(le) & HIGH,
                            mask(&|_| true) & ((1u64 << (8 * k)) - 1)
                        );
                    } else {
                        assert_eq!(before_first(le), u64::MAX);
                    }
                    for n in 0..8 {
                        let short = load(&bytes[..n]);
                        let mut padded = [b' '; 8];
                        padded[..n].copy_from_slice(&bytes[..n]);
                        assert_eq!(short, u64::from_le_bytes(padded));
                    }
                }
            }
        }
    }

    /// `none` looks at every byte of any length, and never at the padding.
    #[test]
    fn none_sees_every_byte_and_no_padding() {
        let graphic = |w: u64| not_graphic(w);
        for len in 0..40 {
            let clean = alloc::vec![b'x'; len];
            assert!(none(&clean, graphic), "{len} clean bytes");
            for at in 0..len {
                let mut bad = clean.clone();
                bad[at] = b' ';
                assert!(!none(&bad, graphic), "a space at {at} of {len}");
            }
        }
    }

    /// `position` finds the first marked byte at any offset of any length,
    /// never one of the padding spaces, and agrees with a plain search.
    #[test]
    fn position_finds_the_first_and_no_padding() {
        let space = |w: u64| eq(w, b' ');
        for len in 0..40 {
            let clean = alloc::vec![b'x'; len];
            assert_eq!(position(&clean, space), None, "{len} clean bytes");
            for at in 0..len {
                for also in at..len {
                    let mut hit = clean.clone();
                    hit[at] = b' ';
                    hit[also] = b' ';
                    assert_eq!(position(&hit, space), Some(at), "{at}, {also} of {len}");
                }
            }
        }
    }
}
