//! Two nodes on one PostgreSQL: a waiting citizen connected to node B hears, at once, what an
//! official does on node A (PostgreSQL LISTEN/NOTIFY), and is sent to node A when admitted,
//! because the meeting's media live on the node that opened it.
//!
//! Needs PostgreSQL (RICEVO_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test);
//! skipped without it, except under CI=true, where it fails.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ricevo_store::{Role, Store};
use ricevo_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A node: its own router and address on the shared database.
async fn node(store: Arc<dyn Store>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = WebConfig { public_url: base.clone(), rate_limit_per_minute: 100_000, ..WebConfig::default() };
    let state = AppState::new(store, config);
    tokio::spawn(ricevo_web::room::follow_other_nodes(state.clone()));
    let router = ricevo_web::router(state);
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });
    base
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next message of `kind` (bounded wait).
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} message arrived"))
            .expect("socket open")
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn a_citizen_on_node_b_hears_node_a_and_is_sent_to_the_node_of_the_meeting() {
    let Some(schema) = ricevo_store::testing::TestSchema::create("n").await else { return };
    let store_a = schema.node().await;
    store_a.migrate().await.unwrap();
    ricevo_web::demo::load(&*store_a, |pw| format!("plain:{pw}")).await.unwrap();
    let store_b = schema.node().await;
    let a = node(store_a.clone()).await;
    let b = node(store_b).await;
    let http = reqwest::Client::new();

    let demo = store_a.tenant_by_slug("demo").await.unwrap().unwrap();
    let token = ricevo_web::tokens::new_token();
    store_a.create_api_token(demo.id, Role::Admin, None, &ricevo_web::tokens::hash(&token), "t").await.unwrap();
    let offices: Value = http.get(format!("{b}/api/v1/demo/offices")).send().await.unwrap().json().await.unwrap();
    let urp =
        offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap()["id"]
            .as_i64()
            .unwrap();

    // The citizen takes a ticket and waits on node B.
    let ticket: Value = http
        .post(format!("{b}/api/v1/demo/offices/{urp}/tickets"))
        .json(&json!({"name": "Anna Neri"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let join = ticket["join_url"].as_str().unwrap().to_owned();
    let path = join.strip_prefix(&b).unwrap().strip_suffix("/join").unwrap().to_owned();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}{path}/ws", b.strip_prefix("http://").unwrap()))
        .await
        .unwrap();
    assert_eq!(next_of(&mut ws, "state").await["status"], "waiting");

    // The official, on node A, asks her to wait: node B's socket hears it without polling.
    let list: Value = http
        .get(format!("{a}/api/v1/demo/offices/{urp}/waiting"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = list[0]["entry_id"].as_i64().unwrap();
    let resp = http
        .post(format!("{a}/api/v1/demo/waiting/{entry}/hold"))
        .bearer_auth(&token)
        .json(&json!({"message": "Due minuti"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let held = next_of(&mut ws, "state").await;
    assert_eq!((held["status"].as_str(), held["message"].as_str()), (Some("held"), Some("Due minuti")));

    // Admitted on node A: the meeting's media are there, so node B sends the page to node A.
    let resp = http.post(format!("{a}/api/v1/demo/waiting/{entry}/admit")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let moved = next_of(&mut ws, "elsewhere").await;
    assert_eq!(moved["url"].as_str().unwrap(), format!("{a}{path}/join"));
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_redirects.get(format!("{b}{path}/join")).send().await.unwrap();
    assert_eq!(resp.status(), 307, "node B's page sends the browser to node A");
    assert_eq!(resp.headers()["location"].to_str().unwrap(), format!("{a}{path}/join"));
    let resp = no_redirects.get(format!("{a}{path}/join")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "node A serves the meeting page itself");
}
