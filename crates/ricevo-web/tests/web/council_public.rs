//! Council sessions on the web, the staff's and the citizens' side: staff schedule a session
//! (errors per field in Italian and English, operators may look but not schedule), see the
//! members' links once and ask for a new one, print the minutes or take them as JSON, and set
//! how long recordings are kept; citizens list the sessions and follow one with no account and
//! no cookie; the stream's files are served with their types and cache headers, a hostile file
//! name never leaves the session's folder, and nothing of one town opens in another.

#![allow(clippy::unwrap_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ricevo_core::TenantId;
use ricevo_core::council::Command;
use ricevo_store::Role;
use ricevo_web::WebConfig;
use support::*;

async fn anonymous(app: &App, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn header_of(a: &Answer, name: header::HeaderName) -> &str {
    a.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

/// An app whose recordings live in its own temporary folder.
async fn council_app() -> App {
    let recordings = tempfile::tempdir().unwrap().keep();
    app_with(WebConfig { council_recordings_dir: recordings, ..WebConfig::default() }).await
}

/// Writes a finished recording of `session` of `tenant` as the packager would.
fn write_recording(app: &App, tenant: TenantId, session: i64) -> std::path::PathBuf {
    let dir = ricevo_web::council::recording_dir(&app.state.config.council_recordings_dir, tenant, session);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.m3u8"),
        "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\ns0.m4s\n#EXT-X-ENDLIST\n",
    )
    .unwrap();
    std::fs::write(dir.join("init.mp4"), b"\0\0\0\x18ftypiso6").unwrap();
    std::fs::write(dir.join("s0.m4s"), vec![7u8; 4096]).unwrap();
    dir
}

const MEMBERS: &str = "Maria Rossi; presidente; maria.rossi@esempio.it\nLuca Bianchi; sindaco\nAnna Verdi; consigliere";

fn session_form<'a>(title: &'a str, members: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("body", "council"),
        ("body_name", "Consiglio comunale"),
        ("title", title),
        ("date", "2026-11-30"),
        ("time", "18:00"),
        ("items", "Approvazione del verbale precedente\nBilancio di previsione 2027"),
        ("members", members),
        ("quorum", "2"),
        ("speech_minutes", "5"),
    ]
}

/// The personal links a page shows once.
fn links_of(body: &str) -> Vec<String> {
    body.split("<code class=\"secret-value\">").skip(1).map(|rest| rest[..rest.find('<').unwrap()].to_owned()).collect()
}

/// Schedules the standard session as the demo town's administrator; returns its id and links.
async fn schedule(app: &App, admin: &Session) -> (i64, Vec<String>) {
    let done = post(app, admin, "/demo/staff/consiglio", &session_form("Seduta ordinaria", MEMBERS)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let links = links_of(&done.body);
    assert_eq!(links.len(), 3, "{}", done.body);
    let sessions = app.state.desk.council_sessions(&app.store.tenant_by_slug("demo").await.unwrap().unwrap()).await;
    let id = sessions.unwrap().into_iter().map(|s| s.id.0).max().unwrap();
    (id, links)
}

/// The token at the end of a member's link.
fn token_of(link: &str) -> &str {
    link.rsplit('/').next().unwrap()
}

#[tokio::test]
async fn staff_schedule_a_session_with_errors_per_field_and_see_each_members_link_once() {
    let app = council_app().await;
    let admin = login(&app, ADMIN).await;

    let list = get(&app, &admin, "/demo/staff/consiglio").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Nuova seduta") && list.body.contains("name=\"members\""), "{}", list.body);
    assert_eq!(header_of(&list, header::CACHE_CONTROL), "no-store");

    // Errors, each beside its field, in Italian...
    let two_chairs = "Maria Rossi; presidente\nLuca Bianchi; presidente";
    let mut bad = session_form("", two_chairs);
    bad.retain(|(k, _)| *k != "date");
    let refused = post(&app, &admin, "/demo/staff/consiglio", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("Indica la data"), "{}", refused.body);
    assert!(refused.body.contains("Serve un solo presidente"), "{}", refused.body);
    assert!(refused.body.contains("href=\"#f-title\""), "the summary links to the field: {}", refused.body);
    assert!(refused.body.contains("Luca Bianchi; presidente"), "what was typed is kept: {}", refused.body);
    // ... and in English.
    let unknown_role = post(
        &app,
        &admin,
        "/demo/staff/consiglio?lang=en",
        &session_form("Seduta", "Maria Rossi; presidente\nLuca Bianchi; re; not-an-email"),
    )
    .await;
    assert_eq!(unknown_role.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown_role.body);
    assert!(unknown_role.body.contains("Line 2: unknown role"), "{}", unknown_role.body);
    assert!(
        app.state
            .desk
            .council_sessions(&app.store.tenant_by_slug("demo").await.unwrap().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // Saved: each member's link, once.
    let (id, links) = schedule(&app, &admin).await;
    assert!(links.iter().all(|l| l.contains("/demo/consiglio/membro/")), "{links:?}");
    let page = get(&app, &admin, &format!("/demo/staff/consiglio/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(links_of(&page.body).is_empty(), "links are not shown again");
    assert!(page.body.contains("Anna Verdi") && page.body.contains("maria.rossi@esempio.it"), "{}", page.body);
    assert!(page.body.contains("Bilancio di previsione 2027"));

    // A new link for one member replaces theirs.
    let member = app
        .state
        .desk
        .council_member(&app.store.tenant_by_slug("demo").await.unwrap().unwrap(), token_of(&links[2]))
        .await
        .unwrap()
        .member
        .0;
    let renewed = post(&app, &admin, &format!("/demo/staff/consiglio/{id}/membri/{member}/link"), &[]).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let new = links_of(&renewed.body);
    assert_eq!(new.len(), 1, "{}", renewed.body);
    assert_ne!(new[0], links[2]);
    let demo = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    assert!(app.state.desk.council_member(&demo, token_of(&links[2])).await.is_err(), "the old link stops working");
    assert!(app.state.desk.council_member(&demo, token_of(&new[0])).await.is_ok());

    // Without the form's token nothing is saved.
    let forged = post_raw(&app, &admin, "/demo/staff/consiglio", &session_form("Falsa", MEMBERS)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operators_see_sessions_and_minutes_but_only_administrators_schedule_renew_links_and_set_retention() {
    let app = council_app().await;
    let admin = login(&app, ADMIN).await;
    let (id, _) = schedule(&app, &admin).await;
    app.store
        .create_user(app.tenant, "operatore@esempio.it", "Operatore", Role::Operator, &PASSWORD_HASH, &[])
        .await
        .unwrap();
    let operator = login(&app, "operatore@esempio.it").await;

    let list = get(&app, &operator, "/demo/staff/consiglio").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(!list.body.contains("name=\"members\""), "no schedule form for operators");
    assert!(list.body.contains("Seduta ordinaria"));
    let session = get(&app, &operator, &format!("/demo/staff/consiglio/{id}")).await;
    assert_eq!(session.status, StatusCode::OK);
    assert!(!session.body.contains("Nuovo link"), "{}", session.body);
    assert_eq!(get(&app, &operator, &format!("/demo/staff/consiglio/{id}/verbale")).await.status, StatusCode::OK);

    let scheduled = post(&app, &operator, "/demo/staff/consiglio", &session_form("Abusiva", MEMBERS)).await;
    assert_eq!(scheduled.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &operator, "/demo/staff/consiglio/impostazioni").await.status, StatusCode::FORBIDDEN);
    let retention = post(&app, &operator, "/demo/staff/consiglio/impostazioni", &[("keep", "remove")]).await;
    assert_eq!(retention.status, StatusCode::FORBIDDEN);
    let renewed = post(&app, &operator, &format!("/demo/staff/consiglio/{id}/membri/1/link"), &[]).await;
    assert_eq!(renewed.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.state.desk.council_sessions(&app.store.tenant_by_slug("demo").await.unwrap().unwrap()).await.unwrap().len(),
        1
    );

    // Not signed in: the login page.
    let stranger = anonymous(&app, "/demo/staff/consiglio").await;
    assert_eq!(stranger.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_town_keeps_recordings_forever_for_some_days_or_not_at_all() {
    let app = council_app().await;
    let admin = login(&app, ADMIN).await;
    let page = get(&app, &admin, "/demo/staff/consiglio/impostazioni").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let bad = post(&app, &admin, "/demo/staff/consiglio/impostazioni", &[("keep", "days"), ("days", "0")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("tra 1 e 3650"), "{}", bad.body);
    let bad_en =
        post(&app, &admin, "/demo/staff/consiglio/impostazioni?lang=en", &[("keep", "days"), ("days", "mille")]).await;
    assert!(bad_en.body.contains("from 1 to 3650"), "{}", bad_en.body);
    let saved = post(&app, &admin, "/demo/staff/consiglio/impostazioni", &[("keep", "days"), ("days", "30")]).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("Impostazioni salvate"));
    let demo = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    assert_eq!(app.state.desk.council_settings(&demo).await.unwrap().recording_keep_days, Some(30));
    post(&app, &admin, "/demo/staff/consiglio/impostazioni", &[("keep", "remove")]).await;
    assert_eq!(app.state.desk.council_settings(&demo).await.unwrap().recording_keep_days, Some(0));

    // Another town's setting is its own.
    let altro = altro_town(&app).await;
    assert_eq!(app.state.desk.council_settings(&altro).await.unwrap().recording_keep_days, None);
}

/// Opens the session and runs it to a closed vote with a speaker, through the desk as the
/// members' sockets would.
async fn run_session(app: &App, links: &[String]) {
    let demo = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let mut seats = Vec::new();
    for l in links {
        seats.push(app.state.desk.council_member(&demo, token_of(l)).await.unwrap());
    }
    for s in &seats {
        app.state.desk.council_presence(s, true).await.unwrap();
    }
    let (chair, mayor, councillor) = (&seats[0], &seats[1], &seats[2]);
    let desk = &app.state.desk;
    desk.council_act(chair, Command::Open).await.unwrap();
    desk.council_act(chair, Command::CallRoll).await.unwrap();
    desk.council_act(chair, serde_json::from_str(r#"{"do":"set_item","item":2}"#).unwrap()).await.unwrap();
    desk.council_act(
        chair,
        serde_json::from_value(serde_json::json!({"do":"give_floor","member":mayor.member})).unwrap(),
    )
    .await
    .unwrap();
    desk.council_act(chair, Command::OpenVote).await.unwrap();
    for s in [chair, mayor, councillor] {
        desk.council_act(s, serde_json::from_str(r#"{"do":"vote","choice":"favorevole"}"#).unwrap()).await.unwrap();
    }
    desk.council_act(chair, Command::CloseVote).await.unwrap();
}

#[tokio::test]
async fn citizens_follow_a_session_with_no_account_and_no_cookie_and_another_town_sees_none_of_it() {
    let app = council_app().await;
    let admin = login(&app, ADMIN).await;
    let (id, links) = schedule(&app, &admin).await;
    altro_town(&app).await;

    // Before it opens: listed among the next sessions, with its agenda.
    let list = anonymous(&app, "/demo/consiglio").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(&format!("/demo/consiglio/{id}")) && list.body.contains("Seduta ordinaria"));
    assert!(list.headers.get(header::SET_COOKIE).is_none(), "no cookie");
    let page = anonymous(&app, &format!("/demo/consiglio/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.headers.get(header::SET_COOKIE).is_none(), "no cookie");
    assert!(page.body.contains("Bilancio di previsione 2027") && page.body.contains("convocata"), "{}", page.body);
    assert!(!page.body.contains("<video"), "no stream before it opens");

    // Under way: the item, the speaker and the closed vote, in the page and in its state.
    run_session(&app, &links).await;
    let page = anonymous(&app, &format!("/demo/consiglio/{id}")).await;
    assert!(page.body.contains("2. Bilancio di previsione 2027"), "{}", page.body);
    assert!(page.body.contains("id=\"council-speaker\" aria-live=\"polite\">Luca Bianchi<"), "{}", page.body);
    assert!(page.body.contains("Favorevoli 3") && page.body.contains("Approvato"), "{}", page.body);
    let state = anonymous(&app, &format!("/demo/consiglio/{id}/stato.json")).await;
    assert_eq!(state.status, StatusCode::OK, "{}", state.body);
    assert_eq!(header_of(&state, header::CACHE_CONTROL), "public, max-age=1");
    assert!(state.headers.get(header::SET_COOKIE).is_none());
    let json: serde_json::Value = serde_json::from_str(&state.body).unwrap();
    assert_eq!(json["state"], "open");
    assert_eq!(json["speaker"], "Luca Bianchi");
    assert_eq!(json["item"]["title"], "Bilancio di previsione 2027");
    assert_eq!(json["results"][0]["in_favour"], 3);
    assert_eq!(json["live"], false, "no stream runs on this node in this test");
    assert!(json.get("queue").is_none() && !state.body.contains("token"), "nothing for members only: {}", state.body);

    // Another town: none of it, on any page.
    for uri in [
        format!("/altro/consiglio/{id}"),
        format!("/altro/consiglio/{id}/stato.json"),
        format!("/altro/consiglio/{id}/registrazione/index.m3u8"),
        format!("/altro/consiglio/{id}/live/index.m3u8"),
        format!("/nessuno/consiglio/{id}"),
    ] {
        assert_eq!(anonymous(&app, &uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    let altro_list = anonymous(&app, "/altro/consiglio").await;
    assert_eq!(altro_list.status, StatusCode::OK);
    assert!(!altro_list.body.contains("Seduta ordinaria"));
    let altro_admin = {
        let altro = app.store.tenant_by_slug("altro").await.unwrap().unwrap();
        app.store
            .create_user(altro.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[])
            .await
            .unwrap();
        login_to(&app, "altro", "admin@altro.it").await
    };
    for uri in [
        format!("/altro/staff/consiglio/{id}"),
        format!("/altro/staff/consiglio/{id}/verbale"),
        format!("/altro/staff/consiglio/{id}/verbale.json"),
    ] {
        assert_eq!(get(&app, &altro_admin, &uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    let renewed = post(&app, &altro_admin, &format!("/altro/staff/consiglio/{id}/membri/1/link"), &[]).await;
    assert_eq!(renewed.status, StatusCode::NOT_FOUND);
    // The demo town's session cookie opens nothing in the other town.
    assert_eq!(get(&app, &admin, &format!("/altro/staff/consiglio/{id}")).await.status, StatusCode::SEE_OTHER);

    // The minutes: printable and JSON, with the vote by name.
    let minutes = get(&app, &admin, &format!("/demo/staff/consiglio/{id}/verbale")).await;
    assert_eq!(minutes.status, StatusCode::OK, "{}", minutes.body);
    assert!(minutes.body.contains("Luca Bianchi") && minutes.body.contains("favorevole"), "{}", minutes.body);
    let json = get(&app, &admin, &format!("/demo/staff/consiglio/{id}/verbale.json")).await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(header_of(&json, header::CONTENT_TYPE).starts_with("application/json"));
    let m: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(m["items"][1]["votes"][0]["in_favour"], 3, "{m}");

    // After the end: the recording on the page.
    let demo = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let chair = app.state.desk.council_member(&demo, token_of(&links[0])).await.unwrap();
    app.state.desk.council_act(&chair, Command::Close).await.unwrap();
    let no_recording = anonymous(&app, &format!("/demo/consiglio/{id}")).await;
    assert!(no_recording.body.contains("non è disponibile"), "{}", no_recording.body);
    write_recording(&app, app.tenant, id);
    let ended = anonymous(&app, &format!("/demo/consiglio/{id}")).await;
    assert!(ended.body.contains(&format!("/demo/consiglio/{id}/registrazione/index.m3u8")), "{}", ended.body);
    let past = anonymous(&app, "/demo/consiglio").await;
    assert!(past.body.contains("Sedute passate") && past.body.contains("conclusa"), "{}", past.body);
}

#[tokio::test]
async fn the_pages_load_nothing_from_another_origin_and_the_player_only_where_needed() {
    let app = council_app().await;
    let admin = login(&app, ADMIN).await;
    let (id, _) = schedule(&app, &admin).await;
    let pages = [
        anonymous(&app, "/demo/consiglio").await,
        anonymous(&app, &format!("/demo/consiglio/{id}")).await,
        get(&app, &admin, "/demo/staff/consiglio").await,
        get(&app, &admin, &format!("/demo/staff/consiglio/{id}")).await,
        get(&app, &admin, &format!("/demo/staff/consiglio/{id}/verbale")).await,
        get(&app, &admin, "/demo/staff/consiglio/impostazioni").await,
    ];
    for p in &pages {
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        for attr in ["src=\"http", "src=\"//", "href=\"//"] {
            assert!(!p.body.contains(attr), "{attr} in {}", p.body);
        }
        for stylesheet in p.body.split("<link ").skip(1) {
            assert!(stylesheet.contains("href=\"/"), "{stylesheet}");
        }
        let csp = header_of(p, header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
    }
    // The public page's script is ours, and it brings the player only where it can run (Media
    // Source Extensions); elsewhere (Safari on the iPhone) the browser's own HLS plays.
    let show = &pages[1].body;
    assert!(show.contains("<script src=\"/static/council/public.js?v="), "{show}");
    assert!(!show.contains("<script src=\"/static/council/hls.light.min.js"), "the player is loaded on demand");
    assert!(show.contains("data-player=\"/static/council/hls.light.min.js?v="));
    let script = anonymous(&app, "/static/council/public.js").await;
    assert!(
        script.body.contains("!window.MediaSource && !window.ManagedMediaSource")
            && script.body.contains("lowLatencyMode")
    );

    let player_url = show.split("data-player=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let player = anonymous(&app, &player_url).await;
    assert_eq!(player.status, StatusCode::OK);
    assert_eq!(header_of(&player, header::CONTENT_TYPE), "text/javascript; charset=utf-8");
    assert_eq!(header_of(&player, header::CACHE_CONTROL), "public, max-age=31536000, immutable");
    assert!(player.body.contains("lowLatencyMode"), "hls.js itself");
    let bare = anonymous(&app, "/static/council/hls.light.min.js").await;
    assert_eq!(header_of(&bare, header::CACHE_CONTROL), "public, max-age=3600");
    assert_eq!(anonymous(&app, "/static/council/..%2Fricevo.css").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn stream_files_have_their_types_and_cache_headers_and_hostile_names_never_leave_the_folder() {
    let app = council_app().await;
    let dir = write_recording(&app, app.tenant, 5);
    // Files beside and above the session's folder that no name may reach.
    std::fs::write(dir.parent().unwrap().join("secret.txt"), "segreto").unwrap();
    std::fs::write(dir.join("notes.txt"), "segreto").unwrap();

    let playlist = anonymous(&app, "/demo/consiglio/5/registrazione/index.m3u8").await;
    assert_eq!(playlist.status, StatusCode::OK, "{}", playlist.body);
    assert_eq!(header_of(&playlist, header::CONTENT_TYPE), "application/vnd.apple.mpegurl");
    assert_eq!(header_of(&playlist, header::CACHE_CONTROL), "public, max-age=60");
    assert!(playlist.body.contains("#EXT-X-ENDLIST"));
    let init = anonymous(&app, "/demo/consiglio/5/registrazione/init.mp4").await;
    assert_eq!((init.status, header_of(&init, header::CONTENT_TYPE)), (StatusCode::OK, "video/mp4"));
    let segment = send(
        &app,
        Request::get("/demo/consiglio/5/registrazione/s0.m4s")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(segment.status, StatusCode::OK);
    assert_eq!(header_of(&segment, header::CONTENT_TYPE), "video/iso.segment");
    assert_eq!(header_of(&segment, header::CACHE_CONTROL), "public, max-age=86400");
    assert!(segment.headers.get(header::CONTENT_ENCODING).is_none(), "video is not gzipped again");
    assert!(segment.headers.get(header::SET_COOKIE).is_none());

    for hostile in [
        "..%2Fsecret.txt",
        "..%2F..%2F5%2Findex.m3u8",
        "%2E%2E",
        "notes.txt",
        "s00.m4s",
        "s0.0.m4s",
        "s-1.m4s",
        "index.m3u8%00",
        "..",
        "s99999999999999999999999.m4s",
        "INIT.MP4",
    ] {
        let uri = format!("/demo/consiglio/5/registrazione/{hostile}");
        let a = anonymous(&app, &uri).await;
        assert!(a.status == StatusCode::NOT_FOUND || a.status == StatusCode::BAD_REQUEST, "{uri}: {}", a.status);
        assert!(!a.body.contains("segreto") && !a.body.contains("EXTM3U"), "{uri}");
        if a.status == StatusCode::NOT_FOUND {
            assert_eq!(header_of(&a, header::CACHE_CONTROL), "no-store", "{uri}");
        }
    }
    for odd_id in ["05", "-5", "0", "5.0", "x"] {
        let uri = format!("/demo/consiglio/{odd_id}/registrazione/index.m3u8");
        assert_eq!(anonymous(&app, &uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    // The same session number in another town is another session: nothing here.
    altro_town(&app).await;
    assert_eq!(anonymous(&app, "/altro/consiglio/5/registrazione/index.m3u8").await.status, StatusCode::NOT_FOUND);
    // No live stream of that session runs on this node.
    assert_eq!(anonymous(&app, "/demo/consiglio/5/live/index.m3u8").await.status, StatusCode::NOT_FOUND);
    assert_eq!(anonymous(&app, "/demo/consiglio/5/live/..%2F..%2Fsecret.txt").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_player_fetching_many_files_does_not_spend_the_request_budget() {
    let recordings = tempfile::tempdir().unwrap().keep();
    let app =
        app_with(WebConfig { council_recordings_dir: recordings, rate_limit_per_minute: 2, ..WebConfig::default() })
            .await;
    write_recording(&app, app.tenant, 9);
    for _ in 0..10 {
        let a = anonymous(&app, "/demo/consiglio/9/registrazione/s0.m4s").await;
        assert_eq!(a.status, StatusCode::OK);
    }
    // Pages still count.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(anonymous(&app, "/demo/consiglio").await.status);
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[tokio::test]
async fn the_sweeper_removes_recordings_past_their_towns_retention_only() {
    let app = council_app().await;
    let admin = login(&app, ADMIN).await;
    post(&app, &admin, "/demo/staff/consiglio/impostazioni", &[("keep", "remove")]).await;
    let (id, links) = schedule(&app, &admin).await;
    let dir = write_recording(&app, app.tenant, id);
    let root = app.state.config.council_recordings_dir.clone();
    // Still under way: kept.
    assert_eq!(ricevo_web::council::sweep_recordings(&app.state.desk, &root).await.unwrap(), 0);
    let demo = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let chair = app.state.desk.council_member(&demo, token_of(&links[0])).await.unwrap();
    app.state.desk.council_presence(&chair, true).await.unwrap();
    app.state.desk.council_act(&chair, Command::Open).await.unwrap();
    app.state.desk.council_act(&chair, Command::Close).await.unwrap();
    // Another town's folder with the same number is not touched.
    let other = write_recording(&app, TenantId(app.tenant.0 + 1000), id);
    assert_eq!(ricevo_web::council::sweep_recordings(&app.state.desk, &root).await.unwrap(), 1);
    assert!(!dir.exists(), "removed at the end, as the town chose");
    assert!(other.exists());
    assert_eq!(
        anonymous(&app, &format!("/demo/consiglio/{id}/registrazione/index.m3u8")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ricevo_web::council::sweep_recordings(&app.state.desk, &root).await.unwrap(), 0, "once");
}
