//! A small pool of connections to one server, for applications that send a
//! steady stream of messages.

use std::sync::Mutex;

use smtp_adapter::driver::Body;
use smtp_proto::client::{Envelope, TransactionResult};
use tokio::sync::Semaphore;

use super::{ClientOptions, Connection, Error};

/// Up to `size` connections to the server of one [`ClientOptions`], opened
/// when needed and reused while they stay usable.
///
/// ```no_run
/// # async fn f() -> Result<(), smtp_tokio::client::Error> {
/// use smtp_tokio::client::{ClientOptions, Pool};
/// use smtp_tokio::proto::client::Envelope;
/// let pool = Pool::new(ClientOptions::from_url("smtp://127.0.0.1:2525?tls=none")?, 4);
/// let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
/// pool.send(envelope, &b"Subject: hi\r\n\r\nhi\r\n"[..]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pool {
    options: ClientOptions,
    idle: Mutex<Vec<Connection>>,
    slots: Semaphore,
}

impl Pool {
    /// A pool of at most `size` connections (at least one).
    pub fn new(options: ClientOptions, size: usize) -> Pool {
        Pool {
            options,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(size.max(1)),
        }
    }

    /// Sends one message over an idle connection, or a new one when none is
    /// idle and the pool has room (otherwise waits for one). The connection
    /// goes back to the pool unless it failed.
    pub async fn send(
        &self,
        envelope: Envelope,
        body: impl Body,
    ) -> Result<TransactionResult, Error> {
        let _slot = self.slots.acquire().await.map_err(|_| Error::Closed)?;
        let idle = self.idle.lock().expect("pool lock").pop();
        let mut connection = match idle {
            Some(c) if c.is_ready() => c,
            _ => Connection::connect(&self.options).await?,
        };
        let result = connection.send(envelope, body).await;
        if matches!(result, Ok(_) | Err(Error::Refused(_))) && connection.is_ready() {
            self.idle.lock().expect("pool lock").push(connection);
        }
        result
    }

    /// Closes the idle connections with QUIT.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().expect("pool lock"));
        for connection in idle {
            let _ = connection.quit().await;
        }
    }
}
