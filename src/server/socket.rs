//! One client socket's message loop: pgwire's own (`pgwire::tokio::process_socket`, whose
//! steps it repeats: TLS negotiation, the startup timeout, each message to its handler, errors
//! answered, FATAL closes), plus what pgwire's loop cannot do: send a LISTEN notification
//! while the client is idle.
//!
//! Invariants: notifications are sent only at rest (after a simple query's or a Sync's
//! ReadyForQuery, nothing else in flight) and only when the session is outside a transaction
//! block, as PostgreSQL sends them; one arriving meanwhile waits in the session's mailbox until
//! the next rest (the end of the current command, or of the block).

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers};
use pgwire::messages::response::NotificationResponse;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio::net::TcpStream;

use super::Connection;
use crate::sql::Prepared;

/// How long a client has to finish its startup (pgwire's own limit).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one client socket until it closes.
pub async fn serve_socket(
    socket: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    conn: Arc<Connection>,
) -> std::io::Result<()> {
    let startup_timeout = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_timeout);
    let negotiated = tokio::select! {
        _ = &mut startup_timeout => return Ok(()),
        socket = negotiate_tls::<Arc<Prepared>>(socket, tls) => socket?,
    };
    let Some(mut socket) = negotiated else { return Ok(()) };
    // The connection is every kind of handler.
    let error_handler = conn.error_handler();
    let wakeup = conn.notification_wakeup();
    // After a ReadyForQuery that ended a simple query or a Sync, with nothing in flight.
    let mut at_rest = false;
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let msg = if starting {
            tokio::select! {
                _ = &mut startup_timeout => None,
                msg = socket.next() => msg,
            }
        } else if at_rest {
            tokio::select! {
                msg = socket.next() => msg,
                _ = wakeup.notified() => {
                    send_notifications(&conn, &mut socket).await?;
                    continue;
                }
            }
        } else {
            socket.next().await
        };
        let Some(Ok(msg)) = msg else { break };
        // A Terminate: the client is leaving (asyncpg waits for the socket to close).
        if matches!(msg, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let is_extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(is_extended_query) => is_extended_query,
            _ => msg.is_extended_query(),
        };
        let is_cancel_request = matches!(msg, PgWireFrontendMessage::CancelRequest(_));
        let ends_cycle =
            matches!(msg, PgWireFrontendMessage::Query(_) | PgWireFrontendMessage::Sync(_));
        if let Err(mut e) = process_message(
            msg,
            &mut socket,
            conn.clone(),
            conn.clone(),
            conn.clone(),
            conn.clone(),
            conn.clone(),
        )
        .await
        {
            error_handler.on_error(&socket, &mut e);
            let is_fatal = e.is_fatal();
            process_error(&mut socket, e, is_extended_query).await?;
            if is_fatal {
                break;
            }
        }
        if is_cancel_request {
            break;
        }
        at_rest = ends_cycle && matches!(socket.state(), PgWireConnectionState::ReadyForQuery);
        if at_rest {
            send_notifications(&conn, &mut socket).await?;
        }
    }
    Ok(())
}

/// Sends the parameter statuses that changed (a replica's) and what the session's mailbox
/// holds, if the session is idle outside a block.
async fn send_notifications<S>(conn: &Connection, socket: &mut S) -> std::io::Result<()>
where
    S: futures::Sink<PgWireBackendMessage, Error = std::io::Error> + Unpin,
{
    let notifications = conn.pending_notifications();
    let parameters = conn.changed_parameters();
    if notifications.is_empty() && parameters.is_empty() {
        return Ok(());
    }
    for (name, value) in parameters {
        let status = pgwire::messages::startup::ParameterStatus::new(name, value);
        socket.feed(PgWireBackendMessage::ParameterStatus(status)).await?;
    }
    for n in notifications {
        let message = NotificationResponse::new(n.pid as i32, n.channel, n.payload);
        socket.feed(PgWireBackendMessage::NotificationResponse(message)).await?;
    }
    socket.flush().await
}
