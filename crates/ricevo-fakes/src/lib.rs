//! Local fakes of the outside services Ricevo sends to, for tests and benchmarks: each is a
//! small axum server on a loopback port that follows the service's published contract, records
//! what it received, and can be told to misbehave (be down, refuse a citizen). Never shipped.
//!
//! Each module has `start() -> (base_url, handle)`.

pub mod app_io;
pub mod sms;
// ---- telegram ----
pub mod telegram;
// ---- end telegram ----
// ---- webpush ----
pub mod push;
// ---- end webpush ----
// ---- fed ----
pub mod federation;
// ---- end fed ----

/// Binds a loopback port the system chooses and serves `router` on it until the process ends;
/// returns the base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: axum::Router) -> String {
    // A fake that cannot bind loopback means a broken test machine: nothing to recover.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let address = listener.local_addr().expect("the bound address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}
