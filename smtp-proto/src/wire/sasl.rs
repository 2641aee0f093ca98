//! SASL for SMTP AUTH (RFC 4954): mechanism names and the framing of PLAIN
//! (RFC 4616), LOGIN, XOAUTH2 and OAUTHBEARER (RFC 7628).

use alloc::borrow::Cow;
use core::fmt;

/// A SASL mechanism name (RFC 4422 §3.1: 1 to 20 of `A-Z 0-9 - _`, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism<'a> {
    /// PLAIN (RFC 4616).
    Plain,
    /// LOGIN (draft-murchison-sasl-login).
    Login,
    /// XOAUTH2 (Google and Microsoft).
    XOAuth2,
    /// OAUTHBEARER (RFC 7628).
    OAuthBearer,
    /// Any other syntactically valid mechanism name, upper-cased.
    Other(Cow<'a, str>),
}

impl<'a> Mechanism<'a> {
    /// Parses a mechanism name; `None` if it is not RFC 4422 syntax.
    pub fn parse(name: &'a str) -> Option<Mechanism<'a>> {
        if name.is_empty()
            || name.len() > 20
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        Some(if name.eq_ignore_ascii_case("PLAIN") {
            Mechanism::Plain
        } else if name.eq_ignore_ascii_case("LOGIN") {
            Mechanism::Login
        } else if name.eq_ignore_ascii_case("XOAUTH2") {
            Mechanism::XOAuth2
        } else if name.eq_ignore_ascii_case("OAUTHBEARER") {
            Mechanism::OAuthBearer
        } else if name.bytes().any(|b| b.is_ascii_lowercase()) {
            Mechanism::Other(Cow::Owned(name.to_ascii_uppercase()))
        } else {
            Mechanism::Other(Cow::Borrowed(name))
        })
    }

    /// The mechanism's name as it goes on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::Other(name) => name,
        }
    }

    /// A `'static` copy.
    pub fn into_owned(self) -> Mechanism<'static> {
        match self {
            Mechanism::Plain => Mechanism::Plain,
            Mechanism::Login => Mechanism::Login,
            Mechanism::XOAuth2 => Mechanism::XOAuth2,
            Mechanism::OAuthBearer => Mechanism::OAuthBearer,
            Mechanism::Other(name) => Mechanism::Other(Cow::Owned(name.into_owned())),
        }
    }
}

impl fmt::Display for Mechanism<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
