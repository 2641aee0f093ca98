//! Sending mail without an async runtime: a [`Connection`] to one server,
//! set up as [`ClientOptions`] say (plain, STARTTLS required or opportunistic,
//! implicit TLS; AUTH), that sends messages one after another.
//!
//! ```no_run
//! use smtp_blocking::client::{ClientOptions, Connection};
//! use smtp_blocking::proto::client::Envelope;
//!
//! # fn send() -> Result<(), smtp_blocking::client::Error> {
//! let options = ClientOptions::from_url("smtp://me%40example.com:app-password@smtp.example.com:587?tls=required")?;
//! let mut connection = Connection::connect(&options)?;
//! let envelope = Envelope::parse("me@example.com", ["you@example.org"]).expect("valid addresses");
//! let result = connection.send(envelope, &b"Subject: hello\r\n\r\nHi!\r\n"[..])?;
//! for rcpt in &result.recipients {
//!     println!("{} {}", rcpt.path, rcpt.reply());
//! }
//! connection.quit()?;
//! # Ok(()) }
//! ```

use std::io::{self, Read};

use bytes::BytesMut;
use smtp_adapter::driver::{Body, ClientConnection};
use smtp_proto::client::{Envelope, TransactionResult};
use smtp_proto::ext::Capabilities;
use smtp_proto::reply::Reply;

pub use smtp_adapter::options::{ClientOptions, Error, Security, UrlError};

use crate::stream::{Threads, block_on};

/// How much of the body is read at a time.
const BODY_READ: usize = 64 * 1024;

/// A message body read from any `std::io::Read`.
struct ReadBody<R>(R);

impl<R: Read + Send> Body for ReadBody<R> {
    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let len = buf.len();
        buf.resize(len + BODY_READ, 0);
        let read = loop {
            match self.0.read(&mut buf[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        buf.truncate(len + *read.as_ref().unwrap_or(&0));
        read
    }
}

/// One connection to a server, set up and ready to send: the shared client
/// drain loop run on this thread over a blocking socket.
#[derive(Debug)]
pub struct Connection(ClientConnection<Threads>);

impl Connection {
    /// Connects and sets the session up: TLS first with implicit TLS, then
    /// greeting, EHLO, STARTTLS and EHLO again, AUTH, as the options say.
    pub fn connect(options: &ClientOptions) -> Result<Connection, Error> {
        block_on(ClientConnection::connect(options)).map(Connection)
    }

    /// What the server offers (after TLS, what it offers under TLS).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.0.capabilities()
    }

    /// Whether TLS is up.
    pub fn is_tls(&self) -> bool {
        self.0.is_tls()
    }

    /// Whether the session is ready for another message.
    pub fn is_ready(&self) -> bool {
        self.0.is_ready()
    }

    /// Sends one message: the envelope, then the body read to its end (from
    /// bytes or any `Read + Send`). The body is the message as it should
    /// arrive (headers, empty line, text); dot-stuffing and line endings are
    /// the session's job. Returns one result per recipient (some may be
    /// refused while others are delivered); a transaction refused as a whole
    /// is [`Error::Refused`], and the connection stays usable.
    pub fn send(
        &mut self,
        envelope: Envelope,
        body: impl Read + Send,
    ) -> Result<TransactionResult, Error> {
        block_on(self.0.send(envelope, ReadBody(body)))
    }

    /// `RSET` (RFC 5321 §4.1.1.5), e.g. before reusing a connection; returns the reply.
    pub fn rset(&mut self) -> Result<Reply, Error> {
        block_on(self.0.rset())
    }

    /// `NOOP` (RFC 5321 §4.1.1.9), to check that the connection is alive.
    pub fn noop(&mut self) -> Result<Reply, Error> {
        block_on(self.0.noop())
    }

    /// `QUIT` and close (RFC 5321 §4.1.1.10).
    pub fn quit(self) -> Result<(), Error> {
        block_on(self.0.quit())
    }
}
