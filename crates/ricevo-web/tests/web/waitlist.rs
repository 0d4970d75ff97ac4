//! The waitlist's pages: the service page invites to it, the join form puts a citizen on it
//! (bad input refused in their language), their page shows the time held for them with the
//! time it is held until and confirms it, and nothing of one town opens in another, for
//! citizens or staff.

#![allow(clippy::unwrap_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ricevo_store::Role;
use support::*;

async fn get_page(app: &App, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// Opens the page (for its form token and cookie) and posts `pairs` with them.
async fn submit(app: &App, page_uri: &str, post_uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let page = get_page(app, page_uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let cookie = cookie_value(set_cookie(&page.headers, "ricevo_csrf").unwrap());
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(pairs);
    let req = Request::post(post_uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ricevo_csrf={cookie}"))
        .body(Body::from(form_body(&all)))
        .unwrap();
    send(app, req).await
}

#[tokio::test]
async fn a_citizen_joins_sees_the_time_held_for_them_and_takes_it_and_another_town_sees_nothing() {
    let app = app().await;
    let service = service_id(&app, "Carta d'identità elettronica").await;
    let join_uri = format!("/demo/lista-attesa/servizio/{service}");
    let page = get_page(&app, &format!("/demo/services/{service}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&join_uri), "the service page links to the waitlist");

    // Bad input: no day chosen, in Italian; a range that ends before it starts, in English.
    let none =
        submit(&app, &join_uri, &join_uri, &[("name", "Ada Rossi"), ("email", "ada@example.it"), ("privacy", "yes")])
            .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.body);
    assert!(none.body.contains("Scegli almeno un giorno"), "{}", none.body);
    let en = format!("{join_uri}?lang=en");
    let backwards = submit(
        &app,
        &en,
        &en,
        &[
            ("day", "1"),
            ("from", "12:00"),
            ("to", "09:00"),
            ("name", "Ada Rossi"),
            ("email", "ada@example.it"),
            ("privacy", "yes"),
        ],
    )
    .await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST, "{}", backwards.body);
    assert!(backwards.body.contains("must end after it starts"), "{}", backwards.body);

    // Joining: free times exist, so the first that suits is offered and held at once.
    let joined = submit(
        &app,
        &join_uri,
        &join_uri,
        &[
            ("day", "3"),
            ("from", "09:00"),
            ("to", "10:00"),
            ("name", "Ada Rossi"),
            ("email", "ada@example.it"),
            ("privacy", "yes"),
        ],
    )
    .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let mine = joined.headers.get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    let token = mine.rsplit('/').next().unwrap().to_owned();
    let own = get_page(&app, &mine).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(own.body.contains("Lo teniamo per te fino alle"), "{}", own.body);
    assert!(own.body.contains("<time datetime="), "the hold's end is written, no script needed");
    // The same, twice: one waiting entry per citizen and service.
    let again = submit(
        &app,
        &join_uri,
        &join_uri,
        &[("day", "3"), ("name", "Ada Rossi"), ("email", "ada@example.it"), ("privacy", "yes")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // Another town opens nothing of it, and cannot take the held time.
    let altro = altro_town(&app).await;
    assert_eq!(get_page(&app, &format!("/altro/lista-attesa/{token}")).await.status, StatusCode::NOT_FOUND);
    let stolen = submit(&app, &mine, &format!("/altro/lista-attesa/{token}/conferma"), &[]).await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND, "{}", stolen.body);
    // Staff: the town's list shows Ada with her offer; the other town's staff see none of it.
    let admin = login(&app, ADMIN).await;
    let list = get(&app, &admin, "/demo/staff/waitlist").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Ada Rossi") && list.body.contains("offerto"), "{}", list.body);
    app.store.create_user(altro.id, "admin@altro.it", "Altra Admin", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let other = login_to(&app, "altro", "admin@altro.it").await;
    let theirs = get(&app, &other, "/altro/staff/waitlist").await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    assert!(!theirs.body.contains("Ada Rossi"), "{}", theirs.body);
    let across = get(&app, &other, "/demo/staff/waitlist").await;
    assert!(!across.body.contains("Ada Rossi"), "{}", across.body);

    // Ada takes the time (her page open on two devices): on to her appointment's page, once.
    let held = get_page(&app, &mine).await;
    let csrf = hidden(&held.body, "csrf");
    let cookie = cookie_value(set_cookie(&held.headers, "ricevo_csrf").unwrap());
    let confirm = || {
        Request::post(format!("{mine}/conferma"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("ricevo_csrf={cookie}"))
            .body(Body::from(form_body(&[("csrf", &csrf)])))
            .unwrap()
    };
    let taken = send(&app, confirm()).await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    assert!(taken.headers.get(header::LOCATION).unwrap().to_str().unwrap().contains("/a/"));
    let twice = send(&app, confirm()).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
}
