//! A service (pratica) an office offers, and the rules for booking it.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::Lang;
use crate::hours::GRID_MINUTES;
use crate::mode::Mode;

/// Why a service's rules were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// Duration outside 5..=480 minutes or off the five-minute grid.
    #[error("bad duration")]
    BadDuration,
    /// Buffer outside 0..=120 minutes or off the five-minute grid.
    #[error("bad buffer")]
    BadBuffer,
    /// No mode of meeting was chosen.
    #[error("no mode")]
    NoMode,
    /// Horizon of zero days or more than two years.
    #[error("bad horizon")]
    BadHorizon,
    /// Minimum notice over 30 days.
    #[error("bad notice")]
    BadNotice,
}

impl ServiceError {
    /// A message for the staff member who typed it.
    pub fn message(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ServiceError::BadDuration, Lang::It) => "La durata deve essere tra 5 e 480 minuti, a multipli di 5.",
            (ServiceError::BadDuration, Lang::En) => "The duration must be 5 to 480 minutes, in steps of 5.",
            (ServiceError::BadBuffer, Lang::It) => "La pausa deve essere tra 0 e 120 minuti, a multipli di 5.",
            (ServiceError::BadBuffer, Lang::En) => "The buffer must be 0 to 120 minutes, in steps of 5.",
            (ServiceError::NoMode, Lang::It) => "Scegli almeno una modalità.",
            (ServiceError::NoMode, Lang::En) => "Choose at least one mode.",
            (ServiceError::BadHorizon, Lang::It) => "L'orizzonte deve essere tra 1 e 730 giorni.",
            (ServiceError::BadHorizon, Lang::En) => "The horizon must be 1 to 730 days.",
            (ServiceError::BadNotice, Lang::It) => "Il preavviso non può superare 720 ore.",
            (ServiceError::BadNotice, Lang::En) => "The notice cannot exceed 720 hours.",
        }
    }
}

/// What decides when a service can be booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRules {
    duration_minutes: i32,
    buffer_minutes: i32,
    modes: Vec<Mode>,
    min_notice_hours: i32,
    horizon_days: i32,
}

impl ServiceRules {
    /// Checks every rule.
    pub fn new(
        duration_minutes: i32,
        buffer_minutes: i32,
        mut modes: Vec<Mode>,
        min_notice_hours: i32,
        horizon_days: i32,
    ) -> Result<ServiceRules, ServiceError> {
        if !(5..=480).contains(&duration_minutes) || duration_minutes % GRID_MINUTES != 0 {
            return Err(ServiceError::BadDuration);
        }
        if !(0..=120).contains(&buffer_minutes) || buffer_minutes % GRID_MINUTES != 0 {
            return Err(ServiceError::BadBuffer);
        }
        modes.sort();
        modes.dedup();
        if modes.is_empty() {
            return Err(ServiceError::NoMode);
        }
        if !(1..=730).contains(&horizon_days) {
            return Err(ServiceError::BadHorizon);
        }
        if !(0..=720).contains(&min_notice_hours) {
            return Err(ServiceError::BadNotice);
        }
        Ok(ServiceRules { duration_minutes, buffer_minutes, modes, min_notice_hours, horizon_days })
    }
    /// How long the meeting lasts.
    pub fn duration_minutes(&self) -> i32 {
        self.duration_minutes
    }
    /// The pause the desk needs after the meeting.
    pub fn buffer_minutes(&self) -> i32 {
        self.buffer_minutes
    }
    /// The meeting length as a duration.
    pub fn duration(&self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.duration_minutes))
    }
    /// How long the desk is taken: the meeting plus the buffer.
    pub fn occupancy(&self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.duration_minutes + self.buffer_minutes))
    }
    /// The modes offered.
    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }
    /// Whether `mode` is offered.
    pub fn offers(&self, mode: Mode) -> bool {
        self.modes.contains(&mode)
    }
    /// Bookings must start at least this many hours after now.
    pub fn min_notice_hours(&self) -> i32 {
        self.min_notice_hours
    }
    /// Bookings can be made at most this many days ahead.
    pub fn horizon_days(&self) -> i32 {
        self.horizon_days
    }
}

/// The kind of answer an intake question expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// A short line of text.
    ShortText,
    /// Yes or no.
    YesNo,
    /// One of the listed options.
    Choice {
        /// The options, as shown.
        options: Vec<String>,
    },
}

/// A question the office asks when booking, such as "Hai già lo SPID?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeQuestion {
    /// A stable key for the answer, such as `has_spid`.
    pub key: String,
    /// The question as shown.
    pub label: String,
    /// What kind of answer is expected.
    #[serde(flatten)]
    pub kind: QuestionKind,
    /// Whether an answer is required.
    #[serde(default)]
    pub required: bool,
}

/// The most intake questions one service may ask.
pub const MAX_QUESTIONS: usize = 30;

/// Checks a service's intake questions: at most [`MAX_QUESTIONS`], each with a key of 1 to 40
/// lowercase letters, digits or `_` used once, a one-line label, and for a choice 1 to 20
/// non-empty options. The first problem, worded for the staff member who wrote them.
pub fn check_questions(questions: &[IntakeQuestion], lang: Lang) -> Result<(), String> {
    use crate::text::single_line;
    if questions.len() > MAX_QUESTIONS {
        return Err(match lang {
            Lang::It => "Al massimo 30 domande.",
            Lang::En => "At most 30 questions.",
        }
        .to_owned());
    }
    let mut keys = std::collections::HashSet::new();
    for (i, q) in questions.iter().enumerate() {
        let n = i + 1;
        let key_ok = (1..=40).contains(&q.key.len())
            && q.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            return Err(match lang {
                Lang::It => format!("Domanda {n}: \"key\" deve avere da 1 a 40 lettere minuscole, cifre o _."),
                Lang::En => format!("Question {n}: \"key\" must be 1 to 40 lowercase letters, digits or _."),
            });
        }
        if !keys.insert(q.key.as_str()) {
            return Err(match lang {
                Lang::It => format!("Domanda {n}: la chiave \"{}\" è ripetuta.", q.key),
                Lang::En => format!("Question {n}: the key \"{}\" is repeated.", q.key),
            });
        }
        if single_line(&q.label, 300).is_err() {
            return Err(match lang {
                Lang::It => format!("Domanda {n}: \"label\" deve essere un testo di una riga (massimo 300 caratteri)."),
                Lang::En => format!("Question {n}: \"label\" must be one line of text (at most 300 characters)."),
            });
        }
        if let QuestionKind::Choice { options } = &q.kind
            && (options.is_empty() || options.len() > 20 || options.iter().any(|o| single_line(o, 100).is_err()))
        {
            return Err(match lang {
                Lang::It => format!("Domanda {n}: \"options\" deve elencare da 1 a 20 opzioni non vuote."),
                Lang::En => format!("Question {n}: \"options\" must list 1 to 20 non-empty options."),
            });
        }
    }
    Ok(())
}

/// Why an answer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerError {
    /// A required question was left empty.
    Missing,
    /// The text is too long or has forbidden characters.
    BadText,
    /// Not `yes` or `no`.
    NotYesNo,
    /// Not one of the options.
    NotAnOption,
    /// The answer is for a question the service does not ask.
    UnknownQuestion,
}

impl AnswerError {
    /// A message for the citizen.
    pub fn message(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (AnswerError::Missing, Lang::It) => "Rispondi a questa domanda.",
            (AnswerError::Missing, Lang::En) => "Please answer this question.",
            (AnswerError::BadText, Lang::It) => "Risposta troppo lunga o con caratteri non ammessi.",
            (AnswerError::BadText, Lang::En) => "The answer is too long or has characters that are not allowed.",
            (AnswerError::NotYesNo, Lang::It) => "Rispondi sì o no.",
            (AnswerError::NotYesNo, Lang::En) => "Answer yes or no.",
            (AnswerError::NotAnOption, Lang::It) => "Scegli una delle opzioni proposte.",
            (AnswerError::NotAnOption, Lang::En) => "Choose one of the options offered.",
            (AnswerError::UnknownQuestion, Lang::It) => "Domanda sconosciuta per questo servizio.",
            (AnswerError::UnknownQuestion, Lang::En) => "This service does not ask that question.",
        }
    }
}

/// Checks answers against the questions; returns the cleaned answers or every error by key.
pub fn check_answers(
    questions: &[IntakeQuestion],
    answers: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<(String, AnswerError)>> {
    let mut clean = BTreeMap::new();
    let mut errors = Vec::new();
    for key in answers.keys() {
        if !questions.iter().any(|q| &q.key == key) {
            errors.push((key.chars().take(64).collect(), AnswerError::UnknownQuestion));
        }
    }
    for q in questions {
        let raw = answers.get(&q.key).map(|s| s.trim()).unwrap_or("");
        if raw.is_empty() {
            if q.required {
                errors.push((q.key.clone(), AnswerError::Missing));
            }
            continue;
        }
        let checked = match &q.kind {
            QuestionKind::ShortText => crate::text::single_line(raw, 500).map_err(|_| AnswerError::BadText),
            QuestionKind::YesNo => match raw {
                "yes" | "sì" | "si" | "true" => Ok("yes".to_owned()),
                "no" | "false" => Ok("no".to_owned()),
                _ => Err(AnswerError::NotYesNo),
            },
            QuestionKind::Choice { options } => {
                options.iter().find(|o| o.as_str() == raw).cloned().ok_or(AnswerError::NotAnOption)
            }
        };
        match checked {
            Ok(v) => {
                clean.insert(q.key.clone(), v);
            }
            Err(e) => errors.push((q.key.clone(), e)),
        }
    }
    if errors.is_empty() { Ok(clean) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions() -> Vec<IntakeQuestion> {
        vec![
            IntakeQuestion {
                key: "spid".into(),
                label: "Hai lo SPID?".into(),
                kind: QuestionKind::YesNo,
                required: true,
            },
            IntakeQuestion {
                key: "tipo".into(),
                label: "Tipo".into(),
                kind: QuestionKind::Choice { options: vec!["Primo rilascio".into(), "Rinnovo".into()] },
                required: false,
            },
            IntakeQuestion { key: "nota".into(), label: "Nota".into(), kind: QuestionKind::ShortText, required: false },
        ]
    }

    #[test]
    fn service_rules_refuse_durations_off_the_grid_and_empty_modes() {
        assert!(ServiceRules::new(20, 5, vec![Mode::Video], 24, 60).is_ok());
        assert_eq!(ServiceRules::new(7, 0, vec![Mode::Video], 0, 60), Err(ServiceError::BadDuration));
        assert_eq!(ServiceRules::new(20, 3, vec![Mode::Video], 0, 60), Err(ServiceError::BadBuffer));
        assert_eq!(ServiceRules::new(20, 0, vec![], 0, 60), Err(ServiceError::NoMode));
        assert_eq!(ServiceRules::new(20, 0, vec![Mode::Phone], 0, 0), Err(ServiceError::BadHorizon));
    }

    #[test]
    fn answers_are_checked_per_question_and_all_errors_are_reported() {
        let qs = questions();
        let mut a = BTreeMap::new();
        a.insert("spid".to_owned(), "sì".to_owned());
        a.insert("tipo".to_owned(), "Rinnovo".to_owned());
        let clean = check_answers(&qs, &a).expect("valid answers");
        assert_eq!(clean.get("spid").map(String::as_str), Some("yes"));

        let mut bad = BTreeMap::new();
        bad.insert("tipo".to_owned(), "Furto".to_owned());
        bad.insert("hack".to_owned(), "x".to_owned());
        let errors = check_answers(&qs, &bad).expect_err("invalid answers");
        assert!(errors.contains(&("spid".into(), AnswerError::Missing)));
        assert!(errors.contains(&("tipo".into(), AnswerError::NotAnOption)));
        assert!(errors.contains(&("hack".into(), AnswerError::UnknownQuestion)));
    }

    #[test]
    fn questions_round_trip_through_json_with_a_type_tag() {
        let q = &questions()[1];
        let json = serde_json::to_string(q).expect("serialize");
        assert!(json.contains("\"type\":\"choice\""), "{json}");
        let back: IntakeQuestion = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(&back, q);
    }
}
