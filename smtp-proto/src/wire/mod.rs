//! Pure parsers and encoders for the bytes SMTP puts on the wire.
//!
//! Nothing here keeps connection state except the streaming codecs in [`data`],
//! whose state is a handful of bytes. Parsers borrow from their input; every
//! borrowed type has an `into_owned` that makes it `'static`.

pub mod command;
pub mod data;
pub mod line;
pub mod params;
pub mod path;
pub mod sasl;
pub mod xtext;
