//! The PostgreSQL wire-protocol server (protocol v3 through the `pgwire` crate).
//!
//! One [`Connection`] per client socket owns one SQL [`Session`]. Statements run on tokio's
//! blocking pool (the core waits for row locks by blocking), so a session waiting on a lock
//! holds no other session up. The ReadyForQuery status always comes from the session (idle /
//! in block / failed block). Errors are sent with their SQLSTATE; only a malformed protocol
//! message closes the connection. A dropped connection drops its session, which rolls back its
//! transaction and releases its locks.
//!
//! Security: the server only listens on loopback unless a password is configured (checked by
//! [`check_listen_address`]); password authentication is not built yet, so non-loopback
//! addresses are refused.

mod handler;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;

pub use handler::Connection;

use crate::sql::Engine;

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { max_connections: 1000 }
    }
}

/// What all connections share: the engine, the limits, and the cancel keys.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub config: ServerConfig,
    /// backend pid → (secret, session id)
    pub cancel_keys: Mutex<HashMap<i32, (i32, u32)>>,
}

/// Refuses to listen beyond loopback without a password (none can be configured yet).
pub fn check_listen_address(addr: &SocketAddr) -> Result<(), String> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {addr}: listening beyond loopback needs password authentication, which isola does not have yet"
        ))
    }
}

/// Accepts connections until the listener fails.
pub async fn serve(
    engine: Arc<Engine>,
    listener: TcpListener,
    config: ServerConfig,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared { engine, config, cancel_keys: Mutex::new(HashMap::new()) });
    loop {
        let (socket, _) = listener.accept().await?;
        let _ = socket.set_nodelay(true);
        let conn = Arc::new(Connection::new(shared.clone()));
        tokio::spawn(async move {
            let _ = pgwire::tokio::process_socket(socket, None, conn.clone()).await;
            conn.close();
        });
    }
}
