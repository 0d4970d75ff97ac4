use super::*;
use crate::hours::WeeklyRange;
use jiff::civil::{Weekday, date, time};
use proptest::prelude::*;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn entry(id: i64, kind: EntryKind, arrived: &str, booked: Option<&str>) -> Entry {
    Entry {
        id: EntryId(id),
        tenant_id: TenantId(1),
        office_id: OfficeId(1),
        kind,
        appointment_id: (kind == EntryKind::Appointment).then_some(AppointmentId(id)),
        ticket_number: (kind == EntryKind::Ticket).then_some(i32::try_from(id).unwrap()),
        meeting_id: None,
        name: format!("Persona {id}"),
        service: "Carta d'identità".into(),
        booked_start: booked.map(at),
        booked_end: booked.map(|b| at(b) + SignedDuration::from_mins(20)),
        abilities: Abilities::citizen(),
        muted: false,
        direct: false,
        status: EntryStatus::Waiting,
        message: None,
        arrived_at: at(arrived),
        admitted_at: None,
        joined_at: None,
        ended_at: None,
    }
}

fn citizen() -> Entry {
    entry(1, EntryKind::Appointment, "2026-11-30T08:50:00Z", Some("2026-11-30T09:00:00Z"))
}

#[test]
fn spellings_round_trip() {
    for k in EntryKind::ALL {
        assert_eq!(EntryKind::parse(k.as_str()), Some(k));
    }
    for s in EntryStatus::ALL {
        assert_eq!(EntryStatus::parse(s.as_str()), Some(s));
    }
    assert_eq!(EntryStatus::parse("lost"), None);
    assert_eq!(EntryStatus::InMeeting.as_str(), "in_meeting");
    assert_eq!(Abilities::official().to_string(), "speak,video,screen,documents,moderate");
    assert_eq!(Abilities::parse(&Abilities::citizen().to_string()), Abilities::citizen());
    assert_eq!(
        Abilities::parse(" speak, fly ,documents"),
        Abilities { speak: true, share_documents: true, ..Abilities::default() }
    );
    assert_eq!(Abilities::parse(""), Abilities::default());
}

#[test]
fn a_citizen_waits_is_admitted_meets_and_is_done() {
    let now = at("2026-11-30T09:02:00Z");
    let admitted = citizen().admit(MeetingId(7), now).unwrap();
    assert_eq!(admitted.status, EntryStatus::Admitted);
    assert_eq!(admitted.meeting_id, Some(MeetingId(7)));
    assert_eq!(admitted.waited(), Some(SignedDuration::from_mins(12)));
    let joined = admitted.join_media(at("2026-11-30T09:03:00Z")).unwrap();
    assert_eq!(joined.status, EntryStatus::InMeeting);
    let done = joined.finish(at("2026-11-30T09:23:00Z")).unwrap();
    assert_eq!(done.status, EntryStatus::Done);
    assert_eq!(done.met(), Some(SignedDuration::from_mins(20)));
    assert!(done.status.is_final() && !done.is_active());
}

#[test]
fn a_dropped_connection_rejoins_without_queueing_and_keeps_its_first_join_time() {
    let first = at("2026-11-30T09:03:00Z");
    let joined = citizen().admit(MeetingId(7), at("2026-11-30T09:02:00Z")).unwrap().join_media(first).unwrap();
    let gone = joined.leave(at("2026-11-30T09:10:00Z")).unwrap();
    assert_eq!(gone.status, EntryStatus::Left);
    assert!(gone.is_active(), "a participant who left may come back while the meeting lasts");
    let back = gone.join_media(at("2026-11-30T09:10:05Z")).unwrap();
    assert_eq!((back.status, back.joined_at), (EntryStatus::InMeeting, Some(first)));
    let reload = back.join_media(at("2026-11-30T09:11:00Z")).unwrap();
    assert_eq!(reload.joined_at, Some(first));
}

#[test]
fn the_gate_holds_before_admission() {
    let waiting = citizen();
    assert!(!waiting.may_join_media());
    let err = waiting.join_media(at("2026-11-30T09:00:00Z")).unwrap_err();
    assert_eq!(err, TransitionError { from: EntryStatus::Waiting, action: Action::JoinMedia });
    assert_eq!(err.to_string(), "cannot join the meeting of an entry that is waiting");
    // An invitee knows its meeting but still waits to be let in.
    let invitee = Entry { kind: EntryKind::Invitee, meeting_id: Some(MeetingId(7)), ..citizen() };
    assert!(invitee.join_media(at("2026-11-30T09:00:00Z")).is_err());
    // Giving up the queue does not open the meeting either.
    let gave_up = invitee.leave(at("2026-11-30T09:01:00Z")).unwrap();
    assert_eq!(gave_up.status, EntryStatus::Left);
    assert!(!gave_up.is_active());
    assert!(gave_up.join_media(at("2026-11-30T09:02:00Z")).is_err());
}

#[test]
fn a_removed_participant_loses_the_meeting_until_an_official_admits_them_again() {
    let t = |m: &str| at(&format!("2026-11-30T09:{m}:00Z"));
    let joined = citizen().admit(MeetingId(7), t("02")).unwrap().join_media(t("03")).unwrap();
    let removed = joined.remove(t("10")).unwrap();
    assert_eq!(
        (removed.status, removed.meeting_id, removed.ended_at),
        (EntryStatus::Removed, Some(MeetingId(7)), Some(t("10")))
    );
    assert!(!removed.may_join_media(), "no media, chat or documents");
    assert!(!removed.is_active(), "a reload does not reopen the meeting");
    assert!(!removed.may_read_documents(true));
    assert_eq!(
        removed.join_media(t("11")).unwrap_err(),
        TransitionError { from: EntryStatus::Removed, action: Action::JoinMedia }
    );
    assert!(removed.leave(t("11")).is_err(), "leaving does not turn a removal into a rejoinable absence");
    assert!(removed.finish(t("30")).is_err(), "the meeting's end keeps the removal on record");
    assert!(removed.admit(MeetingId(8), t("12")).is_err(), "only back into the same meeting");
    // Removing someone who left for a moment works too; someone not admitted cannot be removed.
    assert!(joined.leave(t("05")).unwrap().remove(t("06")).is_ok());
    assert!(citizen().remove(t("06")).is_err());

    let back = removed.admit(MeetingId(7), t("12")).unwrap();
    assert_eq!((back.status, back.ended_at, back.admitted_at), (EntryStatus::Admitted, None, Some(t("02"))));
    assert!(back.may_join_media());
    assert_eq!(back.join_media(t("13")).unwrap().joined_at, Some(t("03")), "the first join time stays");
}

#[test]
fn a_mute_is_part_of_the_entry_and_holds_through_leaving_removal_and_readmission() {
    let now = at("2026-11-30T09:05:00Z");
    assert!(citizen().set_muted(true).is_err(), "nobody mutes someone who is not in a meeting");
    let joined = citizen().admit(MeetingId(7), now).unwrap().join_media(now).unwrap();
    assert!(joined.may_speak());
    let muted = joined.set_muted(true).unwrap();
    assert!(muted.muted && !muted.may_speak());
    assert_eq!(muted.status, EntryStatus::InMeeting, "muting is not a change of place");
    let again = muted.leave(now).unwrap().join_media(now).unwrap();
    assert!(!again.may_speak(), "rejoining does not lift the mute");
    let readmitted = again.remove(now).unwrap().admit(MeetingId(7), now).unwrap();
    assert!(!readmitted.may_speak(), "neither does a removal and readmission");
    assert!(readmitted.set_muted(false).unwrap().may_speak());
    let listener = Entry { abilities: Abilities { speak: false, ..Abilities::citizen() }, ..joined };
    assert!(!listener.may_speak(), "lifting a mute never grants a voice that was not given");
}

#[test]
fn a_cancelled_appointment_ends_the_place_wherever_it_stands() {
    let now = at("2026-11-30T09:05:00Z");
    let admitted = citizen().admit(MeetingId(7), now).unwrap();
    let places = [
        citizen(),
        citizen().hold("Un momento".into(), now).unwrap(),
        admitted.clone(),
        admitted.join_media(now).unwrap(),
        admitted.leave(now).unwrap(),
        admitted.remove(now).unwrap(),
    ];
    for place in places {
        let gone = place.cancel(now).unwrap();
        assert_eq!((gone.status, gone.ended_at), (EntryStatus::Cancelled, Some(now)), "{place:?}");
        assert!(gone.status.is_final() && !gone.is_active() && !gone.may_join_media());
        assert!(gone.admit(MeetingId(7), now).is_err(), "a cancelled place cannot be let in");
        assert!(!gone.may_read_documents(true));
    }
    for over in [citizen().no_show(now).unwrap(), citizen().leave(now).unwrap(), admitted.finish(now).unwrap()] {
        assert_eq!(over.cancel(now).unwrap_err().action, Action::Cancel);
    }
}

#[test]
fn documents_are_read_by_participants_while_the_meeting_lasts_and_by_the_official_after() {
    let now = at("2026-11-30T09:05:00Z");
    let citizen = citizen().admit(MeetingId(7), now).unwrap();
    assert!(citizen.may_read_documents(true));
    assert!(!citizen.may_read_documents(false), "the meeting is over");
    assert!(!citizen.finish(now).unwrap().may_read_documents(false), "done is not a participant any more");
    let official = Entry { kind: EntryKind::Official, ..citizen.clone() };
    assert!(official.finish(now).unwrap().may_read_documents(false), "the office keeps the case's documents");
    let invited_not_admitted = Entry { kind: EntryKind::Official, meeting_id: Some(MeetingId(7)), ..self::citizen() };
    assert!(!invited_not_admitted.may_read_documents(true));
}

#[test]
fn holding_transferring_and_refusing_keep_the_office_informed() {
    let now = at("2026-11-30T09:00:00Z");
    let held = citizen().hold("L'operatore è in ritardo di 10 minuti".into(), now).unwrap();
    assert_eq!(held.status, EntryStatus::Held);
    assert!(held.message.is_some());
    let moved = held.transfer(OfficeId(2), now).unwrap();
    assert_eq!((moved.status, moved.office_id, moved.message.as_deref()), (EntryStatus::Waiting, OfficeId(2), None));
    assert_eq!(moved.arrived_at, citizen().arrived_at, "a transfer keeps the place by arrival");
    let refused = moved.refuse("Documenti mancanti".into(), now).unwrap();
    assert_eq!((refused.status, refused.message.as_deref()), (EntryStatus::Refused, Some("Documenti mancanti")));
    assert!(refused.admit(MeetingId(1), now).is_err());
    assert!(refused.hold(String::new(), now).is_err());
    let no_show = citizen().no_show(now).unwrap();
    assert_eq!(no_show.status, EntryStatus::NoShow);
    assert!(citizen().admit(MeetingId(1), now).unwrap().no_show(now).is_err());
}

#[test]
fn a_no_show_ends_the_wait_of_someone_queued_and_only_once() {
    let now = at("2026-11-30T09:10:00Z");
    for queued in [citizen(), citizen().hold("Un momento".into(), now).unwrap()] {
        let gone = queued.no_show(now).unwrap();
        assert_eq!((gone.status, gone.ended_at, gone.meeting_id), (EntryStatus::NoShow, Some(now), None));
        assert!(gone.status.is_final() && !gone.is_active());
        assert_eq!(gone.no_show(now), Err(TransitionError { from: EntryStatus::NoShow, action: Action::NoShow }));
        assert!(gone.admit(MeetingId(1), now).is_err(), "a no-show cannot be let in afterwards");
    }
    let refused = citizen().refuse(String::new(), now).unwrap();
    assert_eq!(refused.no_show(now).unwrap_err().to_string(), "cannot mark as a no-show an entry that is refused");
}

#[test]
fn ending_a_meeting_finishes_admitted_people_and_invitees_still_waiting() {
    let now = at("2026-11-30T09:30:00Z");
    let admitted = citizen().admit(MeetingId(7), at("2026-11-30T09:00:00Z")).unwrap();
    let done = admitted.finish(now).unwrap();
    assert_eq!((done.status, done.met()), (EntryStatus::Done, None), "never connected: no meeting time");
    let invitee = Entry { kind: EntryKind::Invitee, meeting_id: Some(MeetingId(7)), ..citizen() };
    assert_eq!(invitee.finish(now).unwrap().status, EntryStatus::Done);
    assert!(citizen().finish(now).is_err(), "a queued citizen has no meeting to end");
    assert!(done.finish(now).is_err());
}

#[test]
fn the_queue_serves_appointments_by_booked_time_and_walk_ins_by_arrival() {
    let entries = vec![
        entry(1, EntryKind::Appointment, "2026-11-30T08:40:00Z", Some("2026-11-30T09:30:00Z")),
        entry(2, EntryKind::Ticket, "2026-11-30T09:10:00Z", None),
        entry(3, EntryKind::Appointment, "2026-11-30T08:55:00Z", Some("2026-11-30T09:00:00Z")),
        Entry { status: EntryStatus::Admitted, ..entry(4, EntryKind::Ticket, "2026-11-30T08:00:00Z", None) },
        Entry { status: EntryStatus::Held, ..entry(5, EntryKind::Ticket, "2026-11-30T09:10:00Z", None) },
    ];
    let order: Vec<i64> = queue_order(&entries).iter().map(|e| e.id.0).collect();
    assert_eq!(order, vec![3, 2, 5, 1], "ties by id; the admitted entry is not queued");
    assert_eq!(position(&entries, EntryId(1)), Some(3));
    assert_eq!(position(&entries, EntryId(4)), None);
    assert_eq!(next_in_line(&entries).map(|e| e.id), Some(EntryId(3)));
    assert_eq!(next_in_line(&[]), None);
    // Order 3, 2, 5, 1: ticket 2 has one person ahead, so its turn is near.
    assert_eq!(turn_near(&entries).map(|e| e.id), Some(EntryId(2)));
    // An appointment one place from the desk (order 3, 1) is no walk-in ticket: nobody is told.
    assert_eq!(turn_near(&[entries[0].clone(), entries[2].clone()]), None);
}

#[test]
fn the_wait_is_estimated_from_the_median_of_recent_service_times() {
    let mins = SignedDuration::from_mins;
    assert_eq!(estimate_wait(2, &[600, 60], 1, 15), mins(30), "too few samples: the default");
    assert_eq!(estimate_wait(2, &[600, 60, 300], 1, 15), mins(10), "median of 1, 5 and 10 minutes is 5");
    assert_eq!(estimate_wait(3, &[600, 60, 300, 420], 2, 15), mins(12), "two rounds of the 6-minute median");
    assert_eq!(estimate_wait(0, &[600, 60, 300], 1, 15), SignedDuration::ZERO);
    assert_eq!(estimate_wait(1, &[], 0, 10), mins(10), "no desks counts as one");
    let early = citizen();
    let now = at("2026-11-30T08:50:00Z");
    assert_eq!(estimate_entry_wait(&early, 0, &[], 1, 15, now), mins(10), "not before the booked start");
    assert_eq!(estimate_entry_wait(&early, 2, &[], 1, 15, now), mins(30));
    let ticket = entry(2, EntryKind::Ticket, "2026-11-30T08:50:00Z", None);
    assert_eq!(estimate_entry_wait(&ticket, 0, &[], 1, 15, now), SignedDuration::ZERO);
}

#[test]
fn arrivals_are_early_on_time_or_late_beyond_the_tolerance() {
    let start = at("2026-11-30T09:00:00Z");
    assert_eq!(punctuality(start, at("2026-11-30T08:48:30Z"), 5), Punctuality::Early { minutes: 11 });
    assert_eq!(punctuality(start, at("2026-11-30T08:55:00Z"), 5), Punctuality::OnTime);
    assert_eq!(punctuality(start, at("2026-11-30T09:05:59Z"), 5), Punctuality::OnTime);
    assert_eq!(punctuality(start, at("2026-11-30T09:06:00Z"), 5), Punctuality::Late { minutes: 6 });
    assert_eq!(punctuality(start, at("2026-11-30T09:00:30Z"), 0), Punctuality::OnTime);
}

#[test]
fn a_join_link_opens_fifteen_minutes_before_and_closes_at_the_end() {
    let (start, end) = (at("2026-11-30T09:00:00Z"), at("2026-11-30T09:20:00Z"));
    let before = SignedDuration::from_mins(15);
    assert_eq!(
        join_window(start, end, at("2026-11-30T08:44:59Z"), before),
        JoinWindow::TooEarly { opens_at: at("2026-11-30T08:45:00Z") }
    );
    assert_eq!(join_window(start, end, at("2026-11-30T08:45:00Z"), before), JoinWindow::Open);
    assert_eq!(join_window(start, end, at("2026-11-30T09:19:59Z"), before), JoinWindow::Open);
    assert_eq!(join_window(start, end, end, before), JoinWindow::Over);
}

#[test]
fn a_walk_in_desk_opens_in_its_local_hours_unless_closed() {
    let rome = TimeZone::get("Europe/Rome").unwrap();
    let monday_morning = WeeklyRange::new(Weekday::Monday, time(9, 0, 0, 0), time(12, 0, 0, 0)).unwrap();
    let desk = WalkInDesk { always_open: false, hours: OpeningHours::new(vec![monday_morning], 1).unwrap() };
    let open_days = |_: Date| false;
    // 2026-11-30 is a Monday; Rome is UTC+1 in winter.
    assert!(!walk_in_open(&desk, &rome, at("2026-11-30T07:59:59Z"), open_days));
    assert!(walk_in_open(&desk, &rome, at("2026-11-30T08:00:00Z"), open_days));
    assert!(walk_in_open(&desk, &rome, at("2026-11-30T10:59:59Z"), open_days));
    assert!(!walk_in_open(&desk, &rome, at("2026-11-30T11:00:00Z"), open_days));
    assert!(!walk_in_open(&desk, &rome, at("2026-12-01T09:00:00Z"), open_days), "Tuesday");
    assert!(!walk_in_open(&desk, &rome, at("2026-11-30T09:00:00Z"), |d| d == date(2026, 11, 30)));
    assert!(!walk_in_open(&WalkInDesk::default(), &rome, at("2026-11-30T09:00:00Z"), open_days));
    let urp = WalkInDesk { always_open: true, ..WalkInDesk::default() };
    assert!(walk_in_open(&urp, &rome, at("2026-12-25T03:00:00Z"), |_| true), "always open ignores closures");
}

#[derive(Debug, Clone)]
enum Act {
    Hold,
    Admit(i64),
    Refuse,
    Transfer(i64),
    JoinMedia,
    Leave,
    Finish,
    NoShow,
    Remove,
    Mute(bool),
    Cancel,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        Just(Act::Hold),
        (1..4i64).prop_map(Act::Admit),
        Just(Act::Refuse),
        (1..4i64).prop_map(Act::Transfer),
        Just(Act::JoinMedia),
        Just(Act::Leave),
        Just(Act::Finish),
        Just(Act::NoShow),
        Just(Act::Remove),
        any::<bool>().prop_map(Act::Mute),
        Just(Act::Cancel),
    ]
}

fn apply(e: &Entry, a: &Act, now: Timestamp) -> Result<Entry, TransitionError> {
    match a {
        Act::Hold => e.hold("attendere".into(), now),
        Act::Admit(m) => e.admit(MeetingId(*m), now),
        Act::Refuse => e.refuse("no".into(), now),
        Act::Transfer(o) => e.transfer(OfficeId(*o), now),
        Act::JoinMedia => e.join_media(now),
        Act::Leave => e.leave(now),
        Act::Finish => e.finish(now),
        Act::NoShow => e.no_show(now),
        Act::Remove => e.remove(now),
        Act::Mute(on) => e.set_muted(*on),
        Act::Cancel => e.cancel(now),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_sequence_of_actions_breaks_the_waiting_room_rules(
        ticket in any::<bool>(),
        acts in proptest::collection::vec(act(), 0..40),
    ) {
        let kind = if ticket { EntryKind::Ticket } else { EntryKind::Appointment };
        let mut e = entry(1, kind, "2026-11-30T08:50:00Z", (!ticket).then_some("2026-11-30T09:00:00Z"));
        let mut now = at("2026-11-30T08:50:00Z");
        let mut first_join: Option<Timestamp> = None;
        for a in &acts {
            now += SignedDuration::from_secs(30);
            let before = e.clone();
            match apply(&before, a, now) {
                Ok(next) => {
                    prop_assert!(!before.status.is_final(), "{a:?} moved a final entry: {before:?}");
                    prop_assert_eq!(next.id, before.id);
                    prop_assert_eq!(next.arrived_at, before.arrived_at);
                    if let Some(t) = first_join {
                        prop_assert_eq!(next.joined_at, Some(t), "joined_at is set once");
                    } else if next.joined_at.is_some() {
                        first_join = next.joined_at;
                    }
                    if next.status == EntryStatus::InMeeting {
                        prop_assert!(next.was_admitted(), "media before admission");
                    }
                    if before.meeting_id.is_some() && !before.status.is_queued() {
                        prop_assert_eq!(next.meeting_id, before.meeting_id, "an admitted entry stays in its meeting");
                    }
                    e = next;
                }
                Err(err) => {
                    prop_assert_eq!(err.from, before.status);
                    prop_assert!(!err.to_string().is_empty());
                }
            }
            prop_assert!(!(e.status.is_queued() && e.meeting_id.is_some()), "a queued citizen has a meeting: {e:?}");
            let gave_up_the_queue = e.status == EntryStatus::Left && e.admitted_at.is_none();
            let removed = e.status == EntryStatus::Removed;
            prop_assert_eq!(e.is_active(), !(e.status.is_final() || gave_up_the_queue || removed));
            if removed || e.status == EntryStatus::Cancelled {
                prop_assert!(!e.may_join_media() && !e.may_read_documents(true), "rights after removal: {e:?}");
            }
        }
    }
}
