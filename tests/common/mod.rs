//! What the end-to-end tests share: an in-memory `isola serve` on a free loopback port.

/// Starts a server on a free port in a background runtime; returns the port.
#[allow(dead_code)] // not every test file starts an in-memory server
pub fn start_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(isola::server::THREAD_STACK_BYTES)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let engine = isola::sql::Engine::new(isola::Database::new());
            let _ = isola::server::serve(engine, listener, isola::server::ServerConfig::default())
                .await;
        });
    });
    port
}

/// A tokio-postgres client on the server at `port` (user and database `isola`); its connection
/// task runs on the caller's runtime.
#[allow(dead_code)] // not every test file connects this way
pub async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=isola dbname=isola"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

/// An error's SQLSTATE, or a description when it has none (a closed connection, say).
#[allow(dead_code)]
pub fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no code: {e}"))
}

/// A client on a server process just started on `port`, waiting (bounded: 30 s) for it to
/// finish recovery and listen; panics if the process exits meanwhile.
#[allow(dead_code)]
pub async fn connect_when_up(
    port: u16,
    server: &mut std::process::Child,
) -> tokio_postgres::Client {
    let url = format!("host=127.0.0.1 port={port} user=isola dbname=isola");
    for _ in 0..600 {
        if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            return client;
        }
        if let Some(status) = server.try_wait().unwrap() {
            panic!("isola serve exited during startup: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("isola serve did not come up");
}
