//! Questionnaires: what a town asks its citizens (sections of questions, some shown only after
//! a given answer) and the checking of what they answer. Pure: the store keeps a
//! [`Questionnaire`] as JSON, the web edge renders it and hands the posted pairs to
//! [`Questionnaire::read_answers`], which lets nothing through that the questionnaire does not ask.
//!
//! The after-contact feedback is [`Questionnaire::feedback_default`]: the questions of the
//! Designers Italia "feedback" component of the municipal website model (a 1–5 rating; below 4
//! where the difficulties were, from 4 what was liked, each with the component's fixed options;
//! an optional detail of at most 200 characters). A town appends its own with
//! [`Questionnaire::with_extra`].

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::Lang;
use crate::text::{multi_line, single_line};

/// Longest answer to a short-text question, in characters (the feedback component's 200).
pub const SHORT_TEXT_MAX: usize = 200;
/// Longest answer to a long-text question, in characters.
pub const LONG_TEXT_MAX: usize = 2000;
/// Longest label, title or option text, in characters.
pub const LABEL_MAX: usize = 300;
/// Most sections in a questionnaire.
pub const MAX_SECTIONS: usize = 20;
/// Most questions in a questionnaire (all sections together).
pub const MAX_QUESTIONS: usize = 60;
/// Most options of a choice question.
pub const MAX_CHOICES: usize = 20;
/// The highest rating (ratings go from 1).
pub const RATING_MAX: u8 = 5;

/// A stored questionnaire's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuestionnaireId(pub i64);

impl std::fmt::Display for QuestionnaireId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A text in Italian and English; an empty English text falls back to the Italian one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bilingual {
    /// Italian (always given).
    pub it: String,
    /// English (may be empty).
    #[serde(default)]
    pub en: String,
}

impl Bilingual {
    /// A text in both languages.
    pub fn new(it: impl Into<String>, en: impl Into<String>) -> Bilingual {
        Bilingual { it: it.into(), en: en.into() }
    }

    /// The text in `lang`, falling back to Italian.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.en.trim().is_empty() => &self.en,
            _ => &self.it,
        }
    }
}

/// The stable name of a question, used as the form field and as the key of the stored answer:
/// 1 to 40 lowercase ASCII letters, digits or `_`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QuestionKey(String);

impl QuestionKey {
    /// Checks a key; `None` when it is not one.
    pub fn parse(s: &str) -> Option<QuestionKey> {
        let ok = (1..=40).contains(&s.len())
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        ok.then(|| QuestionKey(s.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for QuestionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for QuestionKey {
    type Error = String;
    fn try_from(s: String) -> Result<QuestionKey, String> {
        QuestionKey::parse(&s).ok_or_else(|| format!("not a question key: {s:?}"))
    }
}

impl From<QuestionKey> for String {
    fn from(k: QuestionKey) -> String {
        k.0
    }
}

/// One option of a choice question: a stable value (what is stored) and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// What is stored and compared (a [`QuestionKey`]-shaped word such as `unclear`).
    pub value: String,
    /// What the citizen reads.
    pub label: Bilingual,
}

impl Choice {
    /// An option.
    pub fn new(value: &str, it: &str, en: &str) -> Choice {
        Choice { value: value.to_owned(), label: Bilingual::new(it, en) }
    }
}

/// What kind of answer a question expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// A rating from 1 to [`RATING_MAX`].
    Rating,
    /// Exactly one of the options.
    Single {
        /// The options, in order.
        choices: Vec<Choice>,
    },
    /// Any number of the options.
    Multiple {
        /// The options, in order.
        choices: Vec<Choice>,
    },
    /// Yes or no (stored as `true` / `false`).
    YesNo,
    /// One line of at most [`SHORT_TEXT_MAX`] characters.
    ShortText,
    /// Several lines, at most [`LONG_TEXT_MAX`] characters.
    LongText,
}

impl QuestionKind {
    /// The stored name of the kind (`rating`, `single`, `multiple`, `yes_no`, `short_text`,
    /// `long_text`).
    pub fn name(&self) -> &'static str {
        match self {
            QuestionKind::Rating => "rating",
            QuestionKind::Single { .. } => "single",
            QuestionKind::Multiple { .. } => "multiple",
            QuestionKind::YesNo => "yes_no",
            QuestionKind::ShortText => "short_text",
            QuestionKind::LongText => "long_text",
        }
    }

    /// The options of a choice question (none for the others).
    pub fn choices(&self) -> &[Choice] {
        match self {
            QuestionKind::Single { choices } | QuestionKind::Multiple { choices } => choices,
            _ => &[],
        }
    }

    /// The values an answer can take, with their labels, for the kinds a condition can test
    /// (rating `1`..`5`, yes/no `yes` `no`, the options); empty for texts.
    pub fn values(&self) -> Vec<(String, Bilingual)> {
        match self {
            QuestionKind::Rating => {
                (1..=RATING_MAX).map(|n| (n.to_string(), Bilingual::new(n.to_string(), n.to_string()))).collect()
            }
            QuestionKind::YesNo => {
                vec![("yes".into(), Bilingual::new("Sì", "Yes")), ("no".into(), Bilingual::new("No", "No"))]
            }
            QuestionKind::Single { choices } | QuestionKind::Multiple { choices } => {
                choices.iter().map(|c| (c.value.clone(), c.label.clone())).collect()
            }
            QuestionKind::ShortText | QuestionKind::LongText => Vec::new(),
        }
    }
}

/// "Show this question only if question `question`'s answer is one of `values`" (for a
/// multiple-choice question: if one of `values` was ticked). Values are written as
/// [`QuestionKind::values`] names them: `"1"`..`"5"`, `"yes"`, `"no"`, an option's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// The question whose answer decides (an earlier one).
    pub question: QuestionKey,
    /// The answers that show this question.
    pub values: Vec<String>,
}

impl Condition {
    /// Whether `answers` meet the condition (an unanswered question meets none).
    pub fn holds(&self, answers: &Answers) -> bool {
        match answers.get(&self.question) {
            None => false,
            Some(Answer::Number(n)) => self.values.iter().any(|v| *v == n.to_string()),
            Some(Answer::Flag(b)) => self.values.iter().any(|v| v == if *b { "yes" } else { "no" }),
            Some(Answer::Text(t)) => self.values.iter().any(|v| v == t),
            Some(Answer::Many(ts)) => ts.iter().any(|t| self.values.contains(t)),
        }
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Its stable key.
    pub key: QuestionKey,
    /// The question as asked.
    pub label: Bilingual,
    /// A hint below the question (such as "Inserire massimo 200 caratteri").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Bilingual>,
    /// The kind of answer.
    #[serde(flatten)]
    pub kind: QuestionKind,
    /// Whether it must be answered (when it is shown).
    #[serde(default)]
    pub required: bool,
    /// Shown only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
}

/// A group of questions under a title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Its title (may be empty for a questionnaire of one section).
    #[serde(default)]
    pub title: Bilingual,
    /// Its questions, in order.
    pub questions: Vec<Question>,
}

/// A whole questionnaire: sections of questions. Its title, status and town live with the
/// stored row; this is what is asked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Questionnaire {
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// One answer as stored: a rating (`Number`), yes/no (`Flag`), the options ticked of a
/// multiple choice (`Many`), or the option of a single choice or a text (`Text`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// A rating, 1 to 5.
    Number(u8),
    /// Yes (`true`) or no.
    Flag(bool),
    /// The values of the options ticked, in the questionnaire's order.
    Many(Vec<String>),
    /// A single choice's value, or a text as written (trimmed).
    Text(String),
}

/// The checked answers of one person: question key → answer. Stored as a JSON object such as
/// `{"rating":2,"difficulties":"unclear","details":"..."}`; questions not answered are absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(pub BTreeMap<QuestionKey, Answer>);

impl Answers {
    /// The answer to `key`.
    pub fn get(&self, key: &QuestionKey) -> Option<&Answer> {
        self.0.get(key)
    }

    /// The answer to the first rating question of `q`, if it was answered.
    pub fn rating(&self, q: &Questionnaire) -> Option<u8> {
        let first = q.questions().find(|x| x.kind == QuestionKind::Rating)?;
        match self.get(&first.key) {
            Some(Answer::Number(n)) => Some(*n),
            _ => None,
        }
    }

    /// Whether nothing was answered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What is wrong with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A field that names no question of this questionnaire.
    UnknownQuestion,
    /// A required question shown but not answered.
    Missing,
    /// Not a rating from 1 to 5.
    NotARating,
    /// Not one of the options.
    NotAnOption,
    /// Not yes or no.
    NotYesNo,
    /// Text longer than the question allows.
    TooLong,
    /// Text with control or invisible formatting characters.
    BadCharacters,
    /// Several answers to a question that takes one, or an option ticked twice.
    Repeated,
}

/// Why answers were refused: the question (by key, with its label when it is one of ours) and
/// the problem. Nothing of a refused set of answers is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem:?}")]
pub struct SurveyError {
    /// The field as posted (cut to 64 characters), or the question's key.
    pub key: String,
    /// The question's label, when the key names one.
    pub label: Option<Bilingual>,
    /// What is wrong.
    pub problem: Problem,
}

impl SurveyError {
    fn of(q: &Question, problem: Problem) -> SurveyError {
        SurveyError { key: q.key.to_string(), label: Some(q.label.clone()), problem }
    }

    /// The refusal in `lang`, naming the question.
    pub fn message(&self, lang: Lang) -> String {
        let what = match (self.problem, lang) {
            (Problem::UnknownQuestion, Lang::It) => "Risposta a una domanda che questo questionario non contiene.",
            (Problem::UnknownQuestion, Lang::En) => "An answer to a question this questionnaire does not ask.",
            (Problem::Missing, Lang::It) => "Rispondi a questa domanda.",
            (Problem::Missing, Lang::En) => "Please answer this question.",
            (Problem::NotARating, Lang::It) => "Scegli un valore da 1 a 5.",
            (Problem::NotARating, Lang::En) => "Choose a value from 1 to 5.",
            (Problem::NotAnOption, Lang::It) => "Scegli una delle opzioni proposte.",
            (Problem::NotAnOption, Lang::En) => "Choose one of the options offered.",
            (Problem::NotYesNo, Lang::It) => "Rispondi sì o no.",
            (Problem::NotYesNo, Lang::En) => "Answer yes or no.",
            (Problem::TooLong, Lang::It) => "La risposta è troppo lunga.",
            (Problem::TooLong, Lang::En) => "The answer is too long.",
            (Problem::BadCharacters, Lang::It) => "La risposta contiene caratteri non ammessi.",
            (Problem::BadCharacters, Lang::En) => "The answer contains characters that are not allowed.",
            (Problem::Repeated, Lang::It) => "Questa domanda ammette una sola risposta.",
            (Problem::Repeated, Lang::En) => "This question takes one answer only.",
        };
        match &self.label {
            Some(l) => format!("«{}»: {what}", l.get(lang)),
            None => what.to_owned(),
        }
    }
}

/// Why a questionnaire's definition was refused (the builder's checks), worded for staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{it}")]
pub struct DefinitionError {
    /// In Italian.
    pub it: String,
    /// In English.
    pub en: String,
    /// The question concerned, if any.
    pub key: Option<QuestionKey>,
}

impl DefinitionError {
    fn new(key: Option<&QuestionKey>, it: String, en: String) -> DefinitionError {
        DefinitionError { it, en, key: key.cloned() }
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::It => &self.it,
            Lang::En => &self.en,
        }
    }
}

fn label_ok(b: &Bilingual, required: bool) -> bool {
    let it_ok = if required {
        single_line(&b.it, LABEL_MAX).is_ok()
    } else {
        b.it.is_empty() || single_line(&b.it, LABEL_MAX).is_ok()
    };
    it_ok && (b.en.is_empty() || single_line(&b.en, LABEL_MAX).is_ok())
}

impl Questionnaire {
    /// Every question, in order, across the sections.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    /// The question with `key`.
    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions().find(|q| q.key.as_str() == key)
    }

    /// The after-contact feedback of the Designers Italia municipal website model ("Quanto è
    /// stato facile usare questo servizio?", then the difficulties below 4 or the preferred
    /// aspects from 4, then an optional detail), with its fixed options and English wording.
    /// Keys: `rating`, `difficulties`, `liked`, `details`.
    pub fn feedback_default() -> Questionnaire {
        let key = |k: &str| QuestionKey(k.to_owned());
        let low = Condition { question: key("rating"), values: vec!["1".into(), "2".into(), "3".into()] };
        let high = Condition { question: key("rating"), values: vec!["4".into(), "5".into()] };
        Questionnaire {
            sections: vec![Section {
                title: Bilingual::new("La tua opinione", "Your opinion"),
                questions: vec![
                    Question {
                        key: key("rating"),
                        label: Bilingual::new(
                            "Quanto è stato facile usare questo servizio?",
                            "How easy was it to use this service?",
                        ),
                        help: Some(Bilingual::new("Da 1 (per niente) a 5 (molto)", "From 1 (not at all) to 5 (very)")),
                        kind: QuestionKind::Rating,
                        required: true,
                        show_if: None,
                    },
                    Question {
                        key: key("difficulties"),
                        label: Bilingual::new(
                            "Dove hai incontrato le maggiori difficoltà?",
                            "Where did you find the most difficulty?",
                        ),
                        help: None,
                        kind: QuestionKind::Single {
                            choices: vec![
                                Choice::new(
                                    "unclear",
                                    "A volte le indicazioni non erano chiare",
                                    "Sometimes the instructions were not clear",
                                ),
                                Choice::new(
                                    "incomplete",
                                    "A volte le indicazioni non erano complete",
                                    "Sometimes the instructions were not complete",
                                ),
                                Choice::new(
                                    "unsure",
                                    "A volte non capivo se stavo procedendo correttamente",
                                    "Sometimes I could not tell whether I was doing it right",
                                ),
                                Choice::new("technical", "Ho avuto problemi tecnici", "I had technical problems"),
                                Choice::new("other", "Altro", "Other"),
                            ],
                        },
                        required: false,
                        show_if: Some(low),
                    },
                    Question {
                        key: key("liked"),
                        label: Bilingual::new(
                            "Quali sono stati gli aspetti che hai preferito?",
                            "What did you like most?",
                        ),
                        help: None,
                        kind: QuestionKind::Single {
                            choices: vec![
                                Choice::new("clear", "Le indicazioni erano chiare", "The instructions were clear"),
                                Choice::new(
                                    "complete",
                                    "Le indicazioni erano complete",
                                    "The instructions were complete",
                                ),
                                Choice::new(
                                    "sure",
                                    "Capivo sempre che stavo procedendo correttamente",
                                    "I always knew I was doing it right",
                                ),
                                Choice::new(
                                    "no_technical",
                                    "Non ho avuto problemi tecnici",
                                    "I had no technical problems",
                                ),
                                Choice::new("other", "Altro", "Other"),
                            ],
                        },
                        required: false,
                        show_if: Some(high),
                    },
                    Question {
                        key: key("details"),
                        label: Bilingual::new("Vuoi aggiungere altri dettagli?", "Would you like to add any details?"),
                        help: Some(Bilingual::new("Inserire massimo 200 caratteri", "At most 200 characters")),
                        kind: QuestionKind::ShortText,
                        required: false,
                        show_if: None,
                    },
                ],
            }],
        }
    }

    /// This questionnaire followed by `extra`'s sections (a town's own questions for an office
    /// or service). An extra question whose key this one already uses is left out (ours stay
    /// as they are), and so is one whose condition then names no earlier question.
    pub fn with_extra(&self, extra: &Questionnaire) -> Questionnaire {
        let mut out = self.clone();
        let mut keys: HashSet<QuestionKey> = self.questions().map(|q| q.key.clone()).collect();
        for section in &extra.sections {
            let mut questions = Vec::new();
            for q in &section.questions {
                let cond_ok = q.show_if.as_ref().is_none_or(|c| keys.contains(&c.question));
                if cond_ok && keys.insert(q.key.clone()) {
                    questions.push(q.clone());
                }
            }
            if !questions.is_empty() {
                out.sections.push(Section { title: section.title.clone(), questions });
            }
        }
        out
    }

    /// Checks a definition as the builder saves it: 1 to [`MAX_SECTIONS`] sections, 1 to
    /// [`MAX_QUESTIONS`] questions, keys used once, one-line labels (Italian required), 1 to
    /// [`MAX_CHOICES`] distinct options for a choice question, and each condition naming an
    /// earlier question that has values to test, with values it can take.
    pub fn check(&self) -> Result<(), DefinitionError> {
        if self.sections.is_empty() || self.sections.len() > MAX_SECTIONS {
            return Err(DefinitionError::new(
                None,
                format!("Da 1 a {MAX_SECTIONS} sezioni."),
                format!("From 1 to {MAX_SECTIONS} sections."),
            ));
        }
        let count = self.questions().count();
        if count == 0 || count > MAX_QUESTIONS {
            return Err(DefinitionError::new(
                None,
                format!("Da 1 a {MAX_QUESTIONS} domande."),
                format!("From 1 to {MAX_QUESTIONS} questions."),
            ));
        }
        let mut earlier: BTreeMap<&QuestionKey, &Question> = BTreeMap::new();
        for (si, s) in self.sections.iter().enumerate() {
            if !label_ok(&s.title, false) {
                return Err(DefinitionError::new(
                    None,
                    format!("Sezione {}: il titolo deve stare su una riga (al massimo {LABEL_MAX} caratteri).", si + 1),
                    format!("Section {}: the title must be one line (at most {LABEL_MAX} characters).", si + 1),
                ));
            }
            for q in &s.questions {
                let k = Some(&q.key);
                if earlier.contains_key(&q.key) {
                    return Err(DefinitionError::new(
                        k,
                        format!("La chiave «{}» è usata due volte.", q.key),
                        format!("The key \"{}\" is used twice.", q.key),
                    ));
                }
                let n = &q.label.it;
                if !label_ok(&q.label, true) || q.help.as_ref().is_some_and(|h| !label_ok(h, false)) {
                    return Err(DefinitionError::new(
                        k,
                        format!(
                            "Domanda «{}»: il testo (in italiano obbligatorio) deve stare su una riga, al massimo {LABEL_MAX} caratteri.",
                            q.key
                        ),
                        format!(
                            "Question \"{}\": the text (Italian required) must be one line, at most {LABEL_MAX} characters.",
                            q.key
                        ),
                    ));
                }
                let choices = q.kind.choices();
                if matches!(q.kind, QuestionKind::Single { .. } | QuestionKind::Multiple { .. }) {
                    let mut values = HashSet::new();
                    let bad = choices.is_empty()
                        || choices.len() > MAX_CHOICES
                        || choices.iter().any(|c| {
                            QuestionKey::parse(&c.value).is_none()
                                || !values.insert(&c.value)
                                || !label_ok(&c.label, true)
                        });
                    if bad {
                        return Err(DefinitionError::new(
                            k,
                            format!(
                                "«{n}»: da 1 a {MAX_CHOICES} opzioni, ognuna con un testo di una riga e diversa dalle altre."
                            ),
                            format!(
                                "\"{n}\": 1 to {MAX_CHOICES} options, each one line of text and different from the others."
                            ),
                        ));
                    }
                }
                if let Some(c) = &q.show_if {
                    let source = earlier.get(&c.question);
                    let possible = source.map(|s| s.kind.values()).unwrap_or_default();
                    if source.is_none()
                        || c.values.is_empty()
                        || c.values.iter().any(|v| !possible.iter().any(|(p, _)| p == v))
                    {
                        return Err(DefinitionError::new(
                            k,
                            format!(
                                "«{n}»: la condizione deve riferirsi a una domanda precedente (valutazione, scelta o sì/no) e a una delle sue risposte."
                            ),
                            format!(
                                "\"{n}\": the condition must refer to an earlier question (rating, choice or yes/no) and to one of its answers."
                            ),
                        ));
                    }
                }
                earlier.insert(&q.key, q);
            }
        }
        Ok(())
    }

    /// Whether `q` is shown given `answers` so far.
    pub fn is_shown(&self, q: &Question, answers: &Answers) -> bool {
        q.show_if.as_ref().is_none_or(|c| c.holds(answers))
    }

    /// Reads posted pairs (question key, value; repeated for a multiple choice; empty values
    /// count as not answered) into checked [`Answers`]. Refused: a key naming no question,
    /// a second value for a question taking one, a value that is not an option, a rating out of
    /// 1..=5, a text too long or with control characters, a required question left empty while
    /// shown. Answers to a question its condition hides are dropped, not refused: without a
    /// script the citizen sees every question, and a radio button once ticked cannot be cleared.
    pub fn read_answers(&self, raw: &[(String, String)]) -> Result<Answers, SurveyError> {
        let mut given: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in raw {
            let Some(q) = self.question(k) else {
                return Err(SurveyError {
                    key: k.chars().take(64).collect(),
                    label: None,
                    problem: Problem::UnknownQuestion,
                });
            };
            let v = v.trim();
            if !v.is_empty() {
                given.entry(q.key.as_str()).or_default().push(v);
            }
        }
        let mut answers = Answers::default();
        for q in self.questions() {
            let values = given.get(q.key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            if !self.is_shown(q, &answers) {
                continue;
            }
            if values.is_empty() {
                if q.required {
                    return Err(SurveyError::of(q, Problem::Missing));
                }
                continue;
            }
            let one = || if values.len() == 1 { Ok(values[0]) } else { Err(SurveyError::of(q, Problem::Repeated)) };
            let text_problem = |e: crate::text::TextError| match e {
                crate::text::TextError::TooLong => Problem::TooLong,
                _ => Problem::BadCharacters,
            };
            let answer = match &q.kind {
                QuestionKind::Rating => {
                    let n = one()?
                        .parse::<u8>()
                        .ok()
                        .filter(|n| (1..=RATING_MAX).contains(n))
                        .ok_or_else(|| SurveyError::of(q, Problem::NotARating))?;
                    Answer::Number(n)
                }
                QuestionKind::YesNo => match one()? {
                    "yes" => Answer::Flag(true),
                    "no" => Answer::Flag(false),
                    _ => return Err(SurveyError::of(q, Problem::NotYesNo)),
                },
                QuestionKind::Single { choices } => {
                    let v = one()?;
                    let c = choices
                        .iter()
                        .find(|c| c.value == v)
                        .ok_or_else(|| SurveyError::of(q, Problem::NotAnOption))?;
                    Answer::Text(c.value.clone())
                }
                QuestionKind::Multiple { choices } => {
                    let mut seen = HashSet::new();
                    for v in values {
                        if !choices.iter().any(|c| c.value == *v) {
                            return Err(SurveyError::of(q, Problem::NotAnOption));
                        }
                        if !seen.insert(*v) {
                            return Err(SurveyError::of(q, Problem::Repeated));
                        }
                    }
                    Answer::Many(
                        choices.iter().filter(|c| seen.contains(c.value.as_str())).map(|c| c.value.clone()).collect(),
                    )
                }
                QuestionKind::ShortText => {
                    Answer::Text(single_line(one()?, SHORT_TEXT_MAX).map_err(|e| SurveyError::of(q, text_problem(e)))?)
                }
                QuestionKind::LongText => match multi_line(one()?, LONG_TEXT_MAX) {
                    Ok(Some(t)) => Answer::Text(t),
                    Ok(None) => continue,
                    Err(e) => return Err(SurveyError::of(q, text_problem(e))),
                },
            };
            answers.0.insert(q.key.clone(), answer);
        }
        Ok(answers)
    }
}

/// How an answer reached the town.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyChannel {
    /// The feedback after a meeting, a served ticket or an appointment marked done.
    AfterContact,
    /// A tablet at a counter (in person).
    Kiosk,
    /// A personal link in a campaign e-mail.
    Email,
    /// A public link.
    Link,
}

impl SurveyChannel {
    /// Every channel, in the order results list them.
    pub const ALL: [SurveyChannel; 4] =
        [SurveyChannel::Kiosk, SurveyChannel::Email, SurveyChannel::AfterContact, SurveyChannel::Link];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SurveyChannel::AfterContact => "after_contact",
            SurveyChannel::Kiosk => "kiosk",
            SurveyChannel::Email => "email",
            SurveyChannel::Link => "link",
        }
    }

    /// The channel a stored name names.
    pub fn parse(s: &str) -> Option<SurveyChannel> {
        SurveyChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Its name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SurveyChannel::AfterContact, Lang::It) => "Dopo il contatto",
            (SurveyChannel::AfterContact, Lang::En) => "After the contact",
            (SurveyChannel::Kiosk, Lang::It) => "Di persona (postazione)",
            (SurveyChannel::Kiosk, Lang::En) => "In person (kiosk)",
            (SurveyChannel::Email, Lang::It) => "E-mail",
            (SurveyChannel::Email, Lang::En) => "E-mail",
            (SurveyChannel::Link, Lang::It) => "Link",
            (SurveyChannel::Link, Lang::En) => "Link",
        }
    }
}

/// Whether a questionnaire takes answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyStatus {
    /// Being written: previewed, not answered.
    Draft,
    /// Taking answers.
    Open,
    /// No longer taking answers (its results stay).
    Closed,
}

impl SurveyStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SurveyStatus::Draft => "draft",
            SurveyStatus::Open => "open",
            SurveyStatus::Closed => "closed",
        }
    }

    /// The status a stored name names.
    pub fn parse(s: &str) -> Option<SurveyStatus> {
        [SurveyStatus::Draft, SurveyStatus::Open, SurveyStatus::Closed].into_iter().find(|c| c.as_str() == s)
    }

    /// Its name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SurveyStatus::Draft, Lang::It) => "Bozza",
            (SurveyStatus::Draft, Lang::En) => "Draft",
            (SurveyStatus::Open, Lang::It) => "Aperto",
            (SurveyStatus::Open, Lang::En) => "Open",
            (SurveyStatus::Closed, Lang::It) => "Chiuso",
            (SurveyStatus::Closed, Lang::En) => "Closed",
        }
    }
}

/// What a questionnaire row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyKind {
    /// A questionnaire of its own (kiosk, campaign, link).
    Survey,
    /// A town's extra questions appended to the after-contact feedback of an office or service.
    Feedback,
}

impl SurveyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SurveyKind::Survey => "survey",
            SurveyKind::Feedback => "feedback",
        }
    }

    /// The kind a stored name names.
    pub fn parse(s: &str) -> Option<SurveyKind> {
        [SurveyKind::Survey, SurveyKind::Feedback].into_iter().find(|c| c.as_str() == s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn every_kind() -> Questionnaire {
        let k = |s: &str| QuestionKey::parse(s).unwrap();
        let q = |key: &str, kind: QuestionKind, required: bool| Question {
            key: k(key),
            label: Bilingual::new(format!("Domanda {key}"), format!("Question {key}")),
            help: None,
            kind,
            required,
            show_if: None,
        };
        let mut follow = q("why_not", QuestionKind::LongText, true);
        follow.show_if = Some(Condition { question: k("again"), values: vec!["no".into()] });
        Questionnaire {
            sections: vec![
                Section {
                    title: Bilingual::new("Uno", "One"),
                    questions: vec![
                        q("score", QuestionKind::Rating, true),
                        q(
                            "office",
                            QuestionKind::Single {
                                choices: vec![
                                    Choice::new("anagrafe", "Anagrafe", "Registry"),
                                    Choice::new("urp", "URP", ""),
                                ],
                            },
                            false,
                        ),
                        q(
                            "topics",
                            QuestionKind::Multiple {
                                choices: vec![
                                    Choice::new("a", "A", ""),
                                    Choice::new("b", "B", ""),
                                    Choice::new("c", "C", ""),
                                ],
                            },
                            false,
                        ),
                    ],
                },
                Section {
                    title: Bilingual::default(),
                    questions: vec![
                        q("again", QuestionKind::YesNo, true),
                        follow,
                        q("name", QuestionKind::ShortText, false),
                    ],
                },
            ],
        }
    }

    #[test]
    fn the_default_feedback_is_a_valid_questionnaire_with_the_designers_italia_wording() {
        let f = Questionnaire::feedback_default();
        f.check().unwrap();
        assert_eq!(f.question("rating").unwrap().label.it, "Quanto è stato facile usare questo servizio?");
        assert_eq!(f.question("difficulties").unwrap().kind.choices().len(), 5);
        assert_eq!(f.question("liked").unwrap().kind.choices()[4].label.it, "Altro");
    }

    #[test]
    fn a_low_rating_asks_for_difficulties_and_a_high_one_for_what_was_liked() {
        let f = Questionnaire::feedback_default();
        let low =
            f.read_answers(&pairs(&[("rating", "2"), ("difficulties", "technical"), ("liked", "clear")])).unwrap();
        assert_eq!(low.get(&QuestionKey::parse("difficulties").unwrap()), Some(&Answer::Text("technical".into())));
        assert_eq!(low.get(&QuestionKey::parse("liked").unwrap()), None, "hidden answers are dropped");
        assert_eq!(low.rating(&f), Some(2));
        let high = f.read_answers(&pairs(&[("rating", "4"), ("liked", "sure"), ("details", "  Bene  ")])).unwrap();
        assert_eq!(high.get(&QuestionKey::parse("liked").unwrap()), Some(&Answer::Text("sure".into())));
        assert_eq!(high.get(&QuestionKey::parse("details").unwrap()), Some(&Answer::Text("Bene".into())));
        assert_eq!(serde_json::to_string(&high).unwrap(), r#"{"details":"Bene","liked":"sure","rating":4}"#);
    }

    #[test]
    fn bad_answers_are_refused_naming_the_question() {
        let f = Questionnaire::feedback_default();
        let e = f.read_answers(&pairs(&[])).unwrap_err();
        assert_eq!(e.problem, Problem::Missing);
        assert_eq!(e.message(Lang::It), "«Quanto è stato facile usare questo servizio?»: Rispondi a questa domanda.");
        assert_eq!(f.read_answers(&pairs(&[("rating", "6")])).unwrap_err().problem, Problem::NotARating);
        assert_eq!(f.read_answers(&pairs(&[("rating", "3"), ("rating", "4")])).unwrap_err().problem, Problem::Repeated);
        assert_eq!(
            f.read_answers(&pairs(&[("rating", "3"), ("difficulties", "clear")])).unwrap_err().problem,
            Problem::NotAnOption
        );
        assert_eq!(
            f.read_answers(&pairs(&[("rating", "3"), ("admin", "1")])).unwrap_err().problem,
            Problem::UnknownQuestion
        );
        let long = "x".repeat(SHORT_TEXT_MAX + 1);
        assert_eq!(
            f.read_answers(&pairs(&[("rating", "5"), ("details", &long)])).unwrap_err().problem,
            Problem::TooLong
        );
        assert_eq!(
            f.read_answers(&pairs(&[("rating", "5"), ("details", "a\u{202E}b")])).unwrap_err().problem,
            Problem::BadCharacters
        );
    }

    #[test]
    fn every_kind_reads_and_a_condition_makes_its_question_required_only_when_shown() {
        let q = every_kind();
        q.check().unwrap();
        let a = q
            .read_answers(&pairs(&[
                ("score", "5"),
                ("office", "urp"),
                ("topics", "c"),
                ("topics", "a"),
                ("again", "yes"),
                ("name", ""),
            ]))
            .unwrap();
        assert_eq!(a.get(&QuestionKey::parse("topics").unwrap()), Some(&Answer::Many(vec!["a".into(), "c".into()])));
        assert_eq!(a.get(&QuestionKey::parse("again").unwrap()), Some(&Answer::Flag(true)));
        assert_eq!(a.get(&QuestionKey::parse("name").unwrap()), None);
        let e = q.read_answers(&pairs(&[("score", "5"), ("again", "no")])).unwrap_err();
        assert_eq!((e.key.as_str(), e.problem), ("why_not", Problem::Missing));
        assert!(q.read_answers(&pairs(&[("score", "5"), ("again", "no"), ("why_not", "riga 1\nriga 2")])).is_ok());
        assert_eq!(
            q.read_answers(&pairs(&[("score", "5"), ("again", "yes"), ("topics", "a"), ("topics", "a")]))
                .unwrap_err()
                .problem,
            Problem::Repeated
        );
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Answers>(&json).unwrap(), a);
    }

    #[test]
    fn extra_questions_follow_the_feedback_and_never_replace_its_own() {
        let f = Questionnaire::feedback_default();
        let mut extra = every_kind();
        extra.sections[0].questions[0].key = QuestionKey::parse("rating").unwrap();
        let all = f.with_extra(&extra);
        assert_eq!(all.question("rating"), f.question("rating"));
        assert!(all.question("office").is_some() && all.question("why_not").is_some());
        all.check().unwrap();
    }

    #[test]
    fn definitions_with_duplicates_dangling_conditions_or_no_options_are_refused() {
        let mut q = every_kind();
        q.sections[1].questions[1].show_if =
            Some(Condition { question: QuestionKey::parse("name").unwrap(), values: vec!["x".into()] });
        assert!(q.check().is_err(), "a condition on a later question");
        let mut q = every_kind();
        q.sections[1].questions[1].show_if.as_mut().unwrap().values = vec!["maybe".into()];
        assert!(q.check().is_err(), "a value the question cannot take");
        let mut q = every_kind();
        q.sections[0].questions[1].kind = QuestionKind::Single { choices: vec![] };
        assert!(q.check().is_err());
        let mut q = every_kind();
        q.sections[1].questions[2].key = QuestionKey::parse("score").unwrap();
        assert!(q.check().is_err());
        assert!(Questionnaire::default().check().is_err());
        assert!(QuestionKey::parse("Bad-key").is_none() && QuestionKey::parse("1x").is_none());
        assert!(serde_json::from_str::<QuestionKey>("\"<b>\"").is_err());
    }

    #[test]
    fn a_definition_survives_its_json() {
        let q = every_kind().with_extra(&Questionnaire::feedback_default());
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(serde_json::from_str::<Questionnaire>(&json).unwrap(), q);
    }

    proptest! {
        // Whatever is posted, what comes back only answers questions asked, with allowed values.
        #[test]
        fn accepted_answers_only_hold_what_the_questionnaire_allows(
            raw in proptest::collection::vec(
                (prop_oneof![Just("score"), Just("office"), Just("topics"), Just("again"), Just("why_not"), Just("name"), Just("zzz")],
                 prop_oneof![Just("1".to_owned()), Just("5".to_owned()), Just("9".to_owned()), Just("urp".to_owned()),
                             Just("a".to_owned()), Just("yes".to_owned()), Just("no".to_owned()), ".{0,300}"]),
                0..12)
        ) {
            let q = every_kind();
            let raw: Vec<(String, String)> = raw.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if let Ok(a) = q.read_answers(&raw) {
                for (key, answer) in &a.0 {
                    let question = q.question(key.as_str()).unwrap();
                    prop_assert!(q.is_shown(question, &a));
                    match (&question.kind, answer) {
                        (QuestionKind::Rating, Answer::Number(n)) => prop_assert!((1..=5).contains(n)),
                        (QuestionKind::YesNo, Answer::Flag(_)) => {}
                        (QuestionKind::Single { choices }, Answer::Text(t)) => prop_assert!(choices.iter().any(|c| &c.value == t)),
                        (QuestionKind::Multiple { choices }, Answer::Many(ts)) => prop_assert!(ts.iter().all(|t| choices.iter().any(|c| &c.value == t))),
                        (QuestionKind::ShortText, Answer::Text(t)) => prop_assert!(t.chars().count() <= SHORT_TEXT_MAX && !t.chars().any(char::is_control)),
                        (QuestionKind::LongText, Answer::Text(t)) => prop_assert!(t.chars().count() <= LONG_TEXT_MAX),
                        (k, a) => prop_assert!(false, "{k:?} answered with {a:?}"),
                    }
                }
                prop_assert!(a.get(&QuestionKey::parse("score").unwrap()).is_some());
            }
        }

        // Reading is stable: the stored answers, posted again, read to the same answers.
        #[test]
        fn stored_answers_posted_again_read_the_same(score in 1u8..=5, again in any::<bool>(), topics in proptest::sample::subsequence(vec!["a", "b", "c"], 0..=3)) {
            let q = every_kind();
            let mut raw = vec![("score".to_owned(), score.to_string()), ("again".to_owned(), if again { "yes" } else { "no" }.to_owned())];
            if !again { raw.push(("why_not".into(), "perché".into())); }
            raw.extend(topics.iter().map(|t| ("topics".to_owned(), (*t).to_owned())));
            let a = q.read_answers(&raw).unwrap();
            let mut back = Vec::new();
            for (k, v) in &a.0 {
                match v {
                    Answer::Number(n) => back.push((k.to_string(), n.to_string())),
                    Answer::Flag(b) => back.push((k.to_string(), if *b { "yes" } else { "no" }.to_owned())),
                    Answer::Text(t) => back.push((k.to_string(), t.clone())),
                    Answer::Many(ts) => back.extend(ts.iter().map(|t| (k.to_string(), t.clone()))),
                }
            }
            prop_assert_eq!(q.read_answers(&back).unwrap(), a);
        }
    }
}
