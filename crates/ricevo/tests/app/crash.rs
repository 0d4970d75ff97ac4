//! An acknowledged booking survives the process being killed: SIGKILL in the middle of a
//! booking load, restart, and every booking answered 201 is there, with no slot over capacity.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(data: &Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RICEVO_RATE_LIMIT_PER_MINUTE", "1000000")
        // Every client books from 127.0.0.1: the per-address budget would stop them all.
        .env("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS", "1000000")
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_DATABASE_URL")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    // Readiness, bounded: not a timing assertion.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_booking_survives_a_sigkill_and_no_slot_is_over_capacity() {
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path()).await;
    let http = reqwest::Client::new();
    let services: Value =
        http.get(format!("{}/api/v1/demo/services", server.base)).send().await.unwrap().json().await.unwrap();
    let service = services.as_array().unwrap().iter().find(|s| s["name"] == "Cambio di residenza").unwrap()["id"]
        .as_i64()
        .unwrap();
    let slots: Value = http
        .get(format!("{}/api/v1/demo/services/{service}/slots", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let starts: Vec<String> =
        slots.as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap().to_owned()).collect();
    assert!(starts.len() >= 10, "the demo office should offer slots: {slots}");
    let starts = Arc::new(starts);

    // Sixteen clients book random slots (two desks each) until the server dies under them.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for c in 0..16u32 {
        let (http, base, starts, acknowledged) =
            (http.clone(), server.base.clone(), starts.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            for n in 0..400u32 {
                let start = &starts[rand::random_range(0..starts.len())];
                let body = json!({"service_id": service, "start": start, "mode": "video", "privacy_accepted": true,
                    "citizen": {"name": format!("Cittadino {c}-{n}"), "email": format!("c{c}n{n}@example.it")}});
                let Ok(resp) = http.post(format!("{base}/api/v1/demo/appointments")).json(&body).send().await else {
                    return; // the server is gone
                };
                if resp.status() == reqwest::StatusCode::CREATED {
                    let Ok(receipt) = resp.json::<Value>().await else { return };
                    let url = receipt["manage_url"].as_str().unwrap();
                    acknowledged.lock().unwrap().push(url.rsplit('/').next().unwrap().to_owned());
                }
            }
        }));
    }
    // Kill once some bookings were acknowledged (bounded wait), in the middle of the load.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server); // SIGKILL
    for c in clients {
        c.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 20, "too few bookings before the kill: {}", acknowledged.len());

    let server = start(data.path()).await;
    for token in &acknowledged {
        let resp = http.get(format!("{}/api/v1/appointments/{token}", server.base)).send().await.unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::OK, "an acknowledged booking was lost");
        let view: Value = resp.json().await.unwrap();
        assert_eq!(view["status"], "booked");
    }
    // Capacity: count stored appointments per start through the staff API.
    let out = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .args(["token", "add", "--tenant", "demo", "--role", "admin"])
        .env("RICEVO_DATA_DIR", data.path())
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.len(), 43, "token add prints the token and nothing else");
    let mut days: Vec<String> = starts.iter().map(|s| s[..10].to_owned()).collect();
    days.dedup();
    let mut per_start: HashMap<String, usize> = HashMap::new();
    let mut stored = 0;
    for day in days {
        let list: Value = http
            .get(format!("{}/api/v1/demo/day?date={day}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for a in list.as_array().unwrap() {
            if a["status"] == "booked" {
                stored += 1;
                *per_start.entry(a["start"].as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    assert!(stored >= acknowledged.len(), "stored {stored} < acknowledged {}", acknowledged.len());
    assert!(per_start.values().all(|&n| n <= 2), "a slot is over its two desks: {per_start:?}");
}
