//! What the booking targets share: a service with intake questions, and the properties of
//! accepted booking details.

use ricevo_core::Mode;
use ricevo_core::citizen::BookingDetails;
use ricevo_core::service::{IntakeQuestion, QuestionKind, ServiceRules};
use ricevo_core::text::is_invisible_format_char;

/// A video or in-person service asking a yes/no, a choice and a free line.
pub fn service() -> (ServiceRules, Vec<IntakeQuestion>) {
    let rules = ServiceRules::new(20, 0, vec![Mode::Video, Mode::InPerson], 0, 60).expect("valid rules");
    let questions = vec![
        IntakeQuestion { key: "spid".into(), label: "Hai lo SPID?".into(), kind: QuestionKind::YesNo, required: true },
        IntakeQuestion {
            key: "tipo".into(),
            label: "Tipo".into(),
            kind: QuestionKind::Choice { options: vec!["Primo rilascio".into(), "Rinnovo".into()] },
            required: false,
        },
        IntakeQuestion { key: "nota".into(), label: "Nota".into(), kind: QuestionKind::ShortText, required: false },
    ];
    (rules, questions)
}

fn clean(s: &str, newlines: bool) -> bool {
    !s.chars()
        .any(|c| (c.is_control() && !(newlines && matches!(c, '\n' | '\r' | '\t'))) || is_invisible_format_char(c))
}

/// Accepted details: an offered mode, only known answers, and no hidden characters anywhere.
pub fn assert_clean_details(d: &BookingDetails) {
    assert!(matches!(d.mode, Mode::Video | Mode::InPerson), "{d:?}");
    assert!(clean(d.citizen.name.as_str(), false), "{d:?}");
    assert!(d.citizen.email.as_ref().is_none_or(|e| clean(e.as_str(), false)), "{d:?}");
    // Someone the office can reach: an e-mail, or else a phone number.
    assert!(d.citizen.email.is_some() || d.citizen.phone.is_some(), "{d:?}");
    assert!(d.notes.as_deref().is_none_or(|n| clean(n, true)), "{d:?}");
    for (key, answer) in &d.answers {
        assert!(["spid", "tipo", "nota"].contains(&key.as_str()), "{d:?}");
        assert!(clean(answer, false), "{d:?}");
    }
    assert!(d.answers.contains_key("spid"), "a required answer is present: {d:?}");
}
