//! The PostgreSQL wire-protocol server (protocol v3 through the `pgwire` crate).
//!
//! One [`Connection`] per client socket owns one SQL [`Session`](crate::sql::Session), in the
//! database its startup named ([`Databases`]).
//! Statements that may block a thread (the core waits for row locks by blocking) run on
//! tokio's blocking pool; short reads, one-row writes in a block and COMMIT run on the
//! connection's task, awaiting their lock waits and the log as futures. Either way a session
//! waiting on a lock holds no other session up. The ReadyForQuery status always comes from
//! the session (idle / in block / failed block). LISTEN notifications reach an idle client
//! through the connection's own message loop (`socket.rs`). Errors are sent with their SQLSTATE; only a
//! malformed protocol message closes the connection. A dropped connection drops its session,
//! which rolls back its transaction and releases its locks.
//!
//! Security: with no password file every user is trusted, so the server then listens on
//! loopback only ([`check_listen_address`] refuses anything else); with one, every connection
//! authenticates with SCRAM-SHA-256 ([`security`]). TLS is offered when a certificate is
//! configured, and an SSLRequest is refused cleanly otherwise.

mod batch;
pub mod databases;
mod handler;
pub mod security;
mod socket;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;

pub use databases::Databases;
pub use handler::Connection;

use crate::sql::Engine;

/// Stack size of the server's threads (runtime workers and the blocking pool). Binding and
/// evaluating an expression recurses once per level; with `crate::sql::parse::MAX_EXPRESSION_DEPTH`
/// levels a debug build needs tens of MiB. Only touched pages cost memory.
pub const THREAD_STACK_BYTES: usize = 64 << 20;

/// Server settings.
#[derive(Clone)]
pub struct ServerConfig {
    pub max_connections: usize,
    /// Users and SCRAM verifiers; `None`: trust everyone (loopback only).
    pub credentials: Option<Arc<security::Credentials>>,
    /// Offered to clients that ask for TLS; `None`: SSLRequest answered 'N'.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { max_connections: 1000, credentials: None, tls: None }
    }
}

/// What all connections share: the databases, the limits, and the cancel keys.
pub struct Shared {
    pub databases: Arc<Databases>,
    pub config: ServerConfig,
    /// backend pid → (secret, session id)
    pub cancel_keys: Mutex<HashMap<i32, (i32, u32)>>,
}

/// Refuses to listen beyond loopback unless passwords are required.
pub fn check_listen_address(addr: &SocketAddr, config: &ServerConfig) -> Result<(), String> {
    if addr.ip().is_loopback() || config.credentials.is_some() {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {addr}: beyond loopback every client must authenticate; configure passwords with --password-file FILE (SCRAM-SHA-256)"
        ))
    }
}

/// Accepts connections to one engine's database until the listener fails (CREATE DATABASE
/// makes databases in memory beside it when it is in memory; see [`Databases::single`]).
pub async fn serve(
    engine: Arc<Engine>,
    listener: TcpListener,
    config: ServerConfig,
) -> std::io::Result<()> {
    serve_databases(Databases::single(engine), listener, config).await
}

/// Accepts connections to these databases until the listener fails.
pub async fn serve_databases(
    databases: Arc<Databases>,
    listener: TcpListener,
    config: ServerConfig,
) -> std::io::Result<()> {
    let tls = config.tls.clone();
    let shared = Arc::new(Shared { databases, config, cancel_keys: Mutex::new(HashMap::new()) });
    loop {
        let (socket, _) = listener.accept().await?;
        let _ = socket.set_nodelay(true);
        let conn = Arc::new(Connection::new(shared.clone()));
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = socket::serve_socket(socket, tls, conn.clone()).await;
            conn.close();
        });
    }
}
