//! What a citizen signed in with SPID or CIE gets, at the desk on SQLite and PostgreSQL: a
//! session bound to one town, a booking that keeps the verified codice fiscale and records it
//! was verified, services that ask for a verified identity, the town's limit for verified
//! citizens, their appointments in every town (never another citizen's) with cancel and move,
//! a sign-in consumed once and bound to its browser and town, and the privacy module's reach.

#![allow(clippy::unwrap_used)]

use crate::support;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::{AppointmentStatus, Lang};
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::signed_in::SignInRefusal;
use ricevo_desk::staff::town_administrator;
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_identity::{Acr, PendingSignIn, ProviderKind, VerifiedIdentity};
use ricevo_store::{Appointment, CitizenLookup, CitizenSession, Erasure, Store, Tenant};
use support::{citizen, desk_at, engines, town};

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";
// Tuesday 24 November 2026, 10:00, 10:30 and 11:00 in Rome.
const TUESDAY_10: &str = "2026-11-24T09:00:00Z";
const TUESDAY_1030: &str = "2026-11-24T09:30:00Z";
const TUESDAY_11: &str = "2026-11-24T10:00:00Z";

const MARIA: &str = "RSSMRA85T10A562S";
const LUCA: &str = "BNCLCU80A01H501Q";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// What a SPID provider says of a citizen.
pub(crate) fn identity(fiscal_code: &str, given: &str, family: &str) -> VerifiedIdentity {
    VerifiedIdentity {
        kind: ProviderKind::Spid,
        provider: "https://idp.example.it".into(),
        subject: format!("sub-{fiscal_code}"),
        fiscal_code: fiscal_code.into(),
        given_name: given.into(),
        family_name: family.into(),
        email: Some(format!("{}@example.org", given.to_lowercase())),
        phone: Some("+39 333 1234567".into()),
        acr: Acr::SpidL2.as_uri().into(),
        id_token: "header.payload.signature".into(),
    }
}

fn request(service: &ricevo_store::Service, start: &str, name: &str, email: &str) -> BookingRequest {
    BookingRequest {
        service_id: service.id,
        start: at(start),
        input: citizen(name, email),
        idempotency: None,
        source: "203.0.113.7".into(),
    }
}

async fn signed_in(desk: &Desk, tenant: &Tenant, who: &VerifiedIdentity) -> CitizenSession {
    let token = desk.open_citizen_session(tenant, who, at(NOW)).await.unwrap();
    desk.citizen_session(tenant, &token).await.unwrap().unwrap()
}

async fn stored(store: &dyn Store, r: BookingResult) -> Appointment {
    let BookingResult::Booked { token, .. } = r else { panic!("not booked: {r:?}") };
    store.appointment_by_token(&ricevo_desk::tokens::hash(&token)).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_session_belongs_to_one_town_and_ends_at_logout_or_after_half_an_hour() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 2).await;
        let two = town(&*engine.store, "due", 2).await;
        let (desk, clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let token = desk.open_citizen_session(&one.tenant, &identity(MARIA, "Maria", "Rossi"), at(NOW)).await.unwrap();
        let session = desk.citizen_session(&one.tenant, &token).await.unwrap().expect("signed in");
        assert_eq!(session.identity.fiscal_code, MARIA);
        assert_eq!(session.identity.kind, "spid");
        assert!(desk.citizen_session(&two.tenant, &token).await.unwrap().is_none(), "{}: another town", engine.name);
        assert!(desk.citizen_session(&one.tenant, "not-a-token").await.unwrap().is_none());
        clock.set("2026-11-23T08:31:00Z");
        assert!(desk.citizen_session(&one.tenant, &token).await.unwrap().is_none(), "{}: expired", engine.name);
        clock.set(NOW);
        assert!(desk.close_citizen_session(&two.tenant, &token).await.unwrap().is_none(), "another town cannot end it");
        assert!(desk.close_citizen_session(&one.tenant, &token).await.unwrap().is_some());
        assert!(desk.citizen_session(&one.tenant, &token).await.unwrap().is_none(), "{}: logged out", engine.name);
    }
}

#[tokio::test]
async fn a_verified_booking_keeps_the_verified_fiscal_code_and_records_how_it_was_verified() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 2).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let session = signed_in(&desk, &one.tenant, &identity(MARIA, "Maria", "Rossi")).await;
        let mut req = request(&one.service, TUESDAY_10, "Maria Rossi", "maria@example.org");
        // Whatever the form said, the verified codice fiscale is booked.
        req.input.fiscal_code = Some(LUCA.into());
        let a = stored(&*engine.store, desk.book_verified(&one.tenant, req, Lang::It, &session).await.unwrap()).await;
        assert_eq!(a.fiscal_code.as_deref(), Some(MARIA), "{}", engine.name);
        let marks = desk.verified_identities(&one.tenant, &[a.id]).await.unwrap();
        assert_eq!(marks.get(&a.id).map(String::as_str), Some("spid"));
        // A booking without signing in carries no mark.
        let plain = desk
            .book(&one.tenant, request(&one.service, TUESDAY_1030, "Luca Bianchi", "luca@example.org"), Lang::It)
            .await
            .unwrap();
        let plain = stored(&*engine.store, plain).await;
        assert!(desk.verified_identities(&one.tenant, &[plain.id]).await.unwrap().is_empty());
        // A session of another town books nothing here.
        let two = town(&*engine.store, "due", 2).await;
        let other = signed_in(&desk, &two.tenant, &identity(MARIA, "Maria", "Rossi")).await;
        let refused = desk
            .book_verified(
                &one.tenant,
                request(&one.service, TUESDAY_11, "Maria Rossi", "m@example.org"),
                Lang::It,
                &other,
            )
            .await;
        assert!(matches!(refused, Err(DeskError::Unauthorized)), "{refused:?}");
    }
}

#[tokio::test]
async fn a_service_asking_for_a_verified_identity_refuses_anyone_not_signed_in() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 2).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let admin = town_administrator(one.tenant.id);
        assert!(!desk.service_requires_identity(&one.tenant, one.service.id).await.unwrap(), "off by default");
        desk.set_service_requires_identity(&one.tenant, &admin, one.service.id, true).await.unwrap();
        assert!(desk.service_requires_identity(&one.tenant, one.service.id).await.unwrap());
        let page =
            desk.book(&one.tenant, request(&one.service, TUESDAY_10, "Luca Bianchi", "l@example.org"), Lang::It).await;
        assert!(matches!(page, Err(DeskError::IdentityRequired)), "{}: {page:?}", engine.name);
        let api = desk
            .book_through_api(&one.tenant, request(&one.service, TUESDAY_10, "Luca Bianchi", "l@example.org"), Lang::It)
            .await;
        assert!(matches!(api, Err(DeskError::IdentityRequired)), "{api:?}");
        // Nor does its waitlist take anyone (an offer would book without a verified identity).
        let join = ricevo_desk::waitlist::JoinRequest {
            service_id: one.service.id,
            input: citizen("Luca Bianchi", "l@example.org"),
            weekdays: Vec::new(),
            ranges: Vec::new(),
            earlier_than_token: None,
        };
        let waiting = desk.join_waitlist(&one.tenant, join, Lang::It).await;
        assert!(matches!(waiting, Err(DeskError::IdentityRequired)), "{waiting:?}");
        let session = signed_in(&desk, &one.tenant, &identity(MARIA, "Maria", "Rossi")).await;
        let req = request(&one.service, TUESDAY_10, "Maria Rossi", "maria@example.org");
        desk.book_verified(&one.tenant, req, Lang::It, &session).await.unwrap();
        // Another town's administrator cannot change this town's service.
        let two = town(&*engine.store, "due", 2).await;
        let stranger = town_administrator(two.tenant.id);
        let r = desk.set_service_requires_identity(&one.tenant, &stranger, one.service.id, false).await;
        assert!(matches!(r, Err(DeskError::Forbidden)), "{r:?}");
        let audit = engine
            .store
            .audit_log(one.tenant.id, &ricevo_store::AuditFilter { limit: 500, ..Default::default() })
            .await
            .unwrap();
        assert!(audit.iter().any(|e| e.detail == "requires a verified identity"), "audited");
    }
}

#[tokio::test]
async fn a_verified_citizen_holds_at_most_the_towns_number_of_active_appointments_per_service() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 4).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        desk.set_verified_max_active(&one.tenant, &town_administrator(one.tenant.id), Some(1)).await.unwrap();
        let session = signed_in(&desk, &one.tenant, &identity(MARIA, "Maria", "Rossi")).await;
        let first = request(&one.service, TUESDAY_10, "Maria Rossi", "maria@example.org");
        desk.book_verified(&one.tenant, first, Lang::It, &session).await.unwrap();
        // Another e-mail and phone do not make another person: the verified codice fiscale is the key.
        let mut second = request(&one.service, TUESDAY_1030, "Maria Rossi", "altra@example.org");
        second.input.phone = Some("3470000000".into());
        let refused = desk.book_verified(&one.tenant, second, Lang::It, &session).await;
        assert!(matches!(refused, Err(DeskError::CitizenLimit(1))), "{}: {refused:?}", engine.name);
        // Another verified citizen still books.
        let luca = signed_in(&desk, &one.tenant, &identity(LUCA, "Luca", "Bianchi")).await;
        desk.book_verified(
            &one.tenant,
            request(&one.service, TUESDAY_1030, "Luca Bianchi", "l@example.org"),
            Lang::It,
            &luca,
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn my_appointments_are_those_of_my_fiscal_code_in_every_town_and_never_another_citizens() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 2).await;
        let two = town(&*engine.store, "due", 2).await;
        let (desk, _clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let maria = signed_in(&desk, &one.tenant, &identity(MARIA, "Maria", "Rossi")).await;
        let mine_here = stored(
            &*engine.store,
            desk.book_verified(
                &one.tenant,
                request(&one.service, TUESDAY_10, "Maria Rossi", "maria@example.org"),
                Lang::It,
                &maria,
            )
            .await
            .unwrap(),
        )
        .await;
        // Signed in at the other town too.
        let maria_there = signed_in(&desk, &two.tenant, &identity(MARIA, "Maria", "Rossi")).await;
        let mine_there = stored(
            &*engine.store,
            desk.book_verified(
                &two.tenant,
                request(&two.service, TUESDAY_1030, "Maria Rossi", "maria@example.org"),
                Lang::It,
                &maria_there,
            )
            .await
            .unwrap(),
        )
        .await;
        // Booked there without signing in, her codice fiscale typed in small letters: whoever
        // typed it may not be Maria, and their details are not hers to see.
        let mut typed = request(&two.service, TUESDAY_11, "M. Rossi", "someone@example.org");
        typed.input.fiscal_code = Some(MARIA.to_lowercase());
        let typed = stored(&*engine.store, desk.book(&two.tenant, typed, Lang::It).await.unwrap()).await;
        // Luca's, in the first town.
        let mut his = request(&one.service, TUESDAY_11, "Luca Bianchi", "luca@example.org");
        his.input.fiscal_code = Some(LUCA.into());
        let lucas = stored(&*engine.store, desk.book(&one.tenant, his, Lang::It).await.unwrap()).await;

        let found = desk.my_appointments(&maria).await.unwrap();
        let ids: Vec<_> = found.iter().map(|m| m.appointment.id).collect();
        assert_eq!(ids, vec![mine_here.id, mine_there.id], "{}", engine.name);
        assert!(!ids.contains(&typed.id), "a booking made without signing in is not listed");
        assert!(matches!(desk.cancel_mine(&maria, &typed.public_id).await, Err(DeskError::NotFound)));
        assert_eq!(found[1].tenant.slug, "due");
        assert_eq!(found[0].service, "Carta d'identità");
        // Luca's reference is not hers to cancel or move.
        assert!(matches!(desk.cancel_mine(&maria, &lucas.public_id).await, Err(DeskError::NotFound)));
        assert!(matches!(desk.move_mine(&maria, &lucas.public_id, at(TUESDAY_10)).await, Err(DeskError::NotFound)));
        let still = engine.store.appointment(one.tenant.id, lucas.id).await.unwrap().unwrap();
        assert_eq!(still.status, AppointmentStatus::Booked);
        // Hers she moves and cancels, in either town, on the strength of the session alone.
        let moved = desk.move_mine(&maria, &mine_there.public_id, at("2026-11-25T09:00:00Z")).await.unwrap();
        assert_eq!(moved.start, at("2026-11-25T09:00:00Z"));
        let cancelled = desk.cancel_mine(&maria, &mine_here.public_id.to_lowercase()).await.unwrap();
        assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
        let audit = engine
            .store
            .audit_log(one.tenant.id, &ricevo_store::AuditFilter { limit: 500, ..Default::default() })
            .await
            .unwrap();
        assert!(audit.iter().any(|e| e.detail.contains("signed in with spid")), "audited");
    }
}

fn pending(state: &str) -> PendingSignIn {
    PendingSignIn {
        state: state.into(),
        nonce: "nonce".into(),
        code_verifier: "verifier".into(),
        provider: "https://idp.example.it".into(),
        kind: ProviderKind::Spid,
        acr: Acr::SpidL2,
        created_at: at(NOW),
    }
}

#[tokio::test]
async fn a_sign_in_is_good_once_in_the_browser_and_town_that_started_it_and_for_ten_minutes() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 2).await;
        let two = town(&*engine.store, "due", 2).await;
        let (desk, clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let browser = ricevo_desk::tokens::new_token();
        desk.remember_sign_in(&one.tenant, &pending("s1"), &browser, "/uno/services/1/book").await.unwrap();
        let back = desk.resume_sign_in(Some(&one.tenant), "s1", Some(&browser)).await.unwrap();
        assert_eq!(back.tenant.id, one.tenant.id);
        assert_eq!(back.next, "/uno/services/1/book");
        assert_eq!(back.pending, pending("s1"));
        // A replay of the same state.
        let replay = desk.resume_sign_in(Some(&one.tenant), "s1", Some(&browser)).await;
        assert_eq!(replay.unwrap_err(), SignInRefusal::UnknownState, "{}", engine.name);
        // Another browser, or none (and the state is spent all the same).
        desk.remember_sign_in(&one.tenant, &pending("s2"), &browser, "/uno").await.unwrap();
        let other = desk.resume_sign_in(None, "s2", Some(&ricevo_desk::tokens::new_token())).await;
        assert_eq!(other.unwrap_err(), SignInRefusal::OtherBrowser);
        assert_eq!(desk.resume_sign_in(None, "s2", Some(&browser)).await.unwrap_err(), SignInRefusal::UnknownState);
        desk.remember_sign_in(&one.tenant, &pending("s3"), &browser, "/uno").await.unwrap();
        assert_eq!(desk.resume_sign_in(None, "s3", None).await.unwrap_err(), SignInRefusal::OtherBrowser);
        // Another town's callback never finishes this town's sign-in.
        desk.remember_sign_in(&one.tenant, &pending("s4"), &browser, "/uno").await.unwrap();
        assert_eq!(
            desk.resume_sign_in(Some(&two.tenant), "s4", Some(&browser)).await.unwrap_err(),
            SignInRefusal::OtherTown
        );
        // Too late.
        desk.remember_sign_in(&one.tenant, &pending("s5"), &browser, "https://evil.example/").await.unwrap();
        clock.set(&(at(NOW) + SignedDuration::from_mins(11)).to_string());
        assert_eq!(desk.resume_sign_in(None, "s5", Some(&browser)).await.unwrap_err(), SignInRefusal::Expired);
        // A return address outside the town becomes the town's page.
        clock.set(NOW);
        desk.remember_sign_in(&one.tenant, &pending("s6"), &browser, "https://evil.example/").await.unwrap();
        assert_eq!(desk.resume_sign_in(None, "s6", Some(&browser)).await.unwrap().next, "/uno");
    }
}

#[tokio::test]
async fn a_citizens_export_shows_their_sessions_and_verified_bookings_and_erasure_takes_them() {
    for engine in engines().await {
        let one = town(&*engine.store, "uno", 2).await;
        let (desk, clock) = desk_at(&engine.store, DeskSettings::default(), NOW);
        let maria = signed_in(&desk, &one.tenant, &identity(MARIA, "Maria", "Rossi")).await;
        let a = stored(
            &*engine.store,
            desk.book_verified(
                &one.tenant,
                request(&one.service, TUESDAY_10, "Maria Rossi", "maria@example.org"),
                Lang::It,
                &maria,
            )
            .await
            .unwrap(),
        )
        .await;
        let lookup = CitizenLookup::FiscalCode(MARIA.into());
        let record = engine.store.citizen_record(one.tenant.id, &lookup).await.unwrap();
        assert_eq!(record.sessions.len(), 1, "{}", engine.name);
        assert_eq!(record.verified, vec![(a.id, "spid".to_owned())]);
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("header.payload.signature"), "the ID token is never exported");
        // Erased once the appointment is over.
        clock.set("2026-11-25T08:00:00Z");
        let Erasure::Erased(_) =
            engine.store.erase_citizen(one.tenant.id, &lookup, at("2026-11-25T08:00:00Z")).await.unwrap()
        else {
            panic!("not erased")
        };
        let after = engine.store.citizen_record(one.tenant.id, &lookup).await.unwrap();
        assert!(after.sessions.is_empty() && after.verified.is_empty(), "{}", engine.name);
        assert!(desk.verified_identities(&one.tenant, &[a.id]).await.unwrap().is_empty());
    }
}
