//! Pure parsers and encoders for the bytes SMTP puts on the wire.
//!
//! Nothing here keeps connection state except the streaming codecs in [`data`],
//! whose state is a handful of bytes. Parsers borrow from their input; every
//! borrowed type has an `into_owned` that makes it `'static`.

pub mod command;
pub mod data;
mod fast;
pub mod line;
pub mod params;
pub mod path;
pub mod sasl;
pub(crate) mod swar;
pub mod xtext;

/// `s.split_once(sep)` for an ASCII separator, found with a plain byte scan
/// rather than a char searcher (the pieces here are a few bytes long). An
/// ASCII byte is always a char boundary, so the slicing cannot fail.
#[inline]
pub(crate) fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let i = s.bytes().position(|b| b == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `s.split(sep)` for an ASCII separator, as [`split_once_byte`] does it.
#[inline]
pub(crate) fn split_byte(s: &str, sep: u8) -> SplitByte<'_> {
    SplitByte { rest: Some(s), sep }
}

/// The iterator of [`split_byte`].
pub(crate) struct SplitByte<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl SplitByte<'_> {
    /// An iterator with nothing to give.
    pub(crate) fn empty(sep: u8) -> Self {
        SplitByte { rest: None, sep }
    }
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once_byte(rest, self.sep) {
            Some((item, tail)) => {
                self.rest = Some(tail);
                Some(item)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}
