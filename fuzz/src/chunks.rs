//! Deterministic splits of a byte string, for "the result does not depend on how the
//! input is split" checks (ARCHITECTURE.md R7).

/// Chunk sizes a split can be built from; 0 means "everything left".
pub const SIZES: [usize; 16] = [0, 1, 1, 2, 3, 4, 5, 7, 8, 13, 16, 64, 255, 256, 1000, 4096];

/// Splits `data` into pieces whose sizes cycle through `pattern` (each byte picks
/// from [`SIZES`]). An empty pattern gives one piece. Empty pieces are kept out,
/// except that an empty `data` gives one empty piece.
pub fn split<'a>(data: &'a [u8], pattern: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = data;
    let mut i = 0usize;
    while !rest.is_empty() {
        let size = match pattern.get(i % pattern.len().max(1)) {
            None => 0,
            Some(&b) => SIZES[usize::from(b) % SIZES.len()],
        };
        let n = if size == 0 {
            rest.len()
        } else {
            size.min(rest.len())
        };
        pieces.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    if pieces.is_empty() {
        pieces.push(data);
    }
    pieces
}

/// Splits `data` at the cut points given by `seed` (a xorshift stream), with pieces
/// of 1 to `max` bytes.
pub fn split_random(data: &[u8], seed: u64, max: usize) -> Vec<&[u8]> {
    let mut x = seed | 1;
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 1 + (x % max.max(1) as u64) as usize;
        let n = n.min(rest.len());
        pieces.push(&rest[..n]);
        rest = &rest[n..];
    }
    if pieces.is_empty() {
        pieces.push(data);
    }
    pieces
}
