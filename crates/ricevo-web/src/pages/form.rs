//! The booking form: its fields with their values and errors, and the parsing of what was posted.

use ricevo_core::citizen::FieldError;
use ricevo_core::service::{IntakeQuestion, QuestionKind};
use ricevo_core::{Lang, Mode};
use ricevo_store::Service;

use super::texts::{self, Texts};

pub(crate) use ricevo_input::form::{ANSWER_PREFIX, Values};

/// A text field.
pub(crate) struct Field {
    /// `id` (and the anchor of the error summary).
    pub id: String,
    /// `name`.
    pub name: String,
    /// The label.
    pub label: String,
    /// `type` of the input; `textarea` for several lines.
    pub kind: &'static str,
    /// `autocomplete`.
    pub autocomplete: &'static str,
    /// Current value.
    pub value: String,
    /// Required.
    pub required: bool,
    /// A hint under the label.
    pub hint: Option<&'static str>,
    /// The error, if any.
    pub error: Option<String>,
    /// `aria-describedby`: the hint's and the error's ids.
    pub describedby: String,
}

/// One option of a radio group or select.
pub(crate) struct Opt {
    /// The input's id.
    pub id: String,
    /// The posted value.
    pub value: String,
    /// What it says.
    pub label: String,
    /// Chosen.
    pub checked: bool,
}

/// A radio group (or a select, when `select`).
pub(crate) struct Group {
    /// The id of the first input (anchor of the error summary); the select's id.
    pub id: String,
    /// `name`.
    pub name: String,
    /// Legend or label.
    pub legend: String,
    /// Options.
    pub options: Vec<Opt>,
    /// Required.
    pub required: bool,
    /// A select instead of radios (long lists).
    pub select: bool,
    /// The error, if any.
    pub error: Option<String>,
    /// `aria-describedby`: the error's id.
    pub describedby: String,
}

/// An intake question, by how it is asked.
pub(crate) enum Question {
    /// A line of text.
    Text(Field),
    /// Yes/no or a choice.
    Choice(Group),
}

/// The form's fields, in order.
pub(crate) struct Fields {
    /// Name, e-mail, phone, codice fiscale.
    pub contact: Vec<Field>,
    /// The mode.
    pub mode: Group,
    /// Intake questions.
    pub questions: Vec<Question>,
    /// Notes.
    pub notes: Field,
    /// Language of e-mails.
    pub email_lang: Group,
    /// Privacy checkbox: its error.
    pub privacy_error: Option<String>,
    /// Privacy checkbox: checked.
    pub privacy_checked: bool,
}

/// A line of the error summary.
pub(crate) struct SummaryLine {
    /// `#id` of the field.
    pub href: String,
    /// "E-mail: ...".
    pub text: String,
}

/// Choices with more options than this are a select instead of radios.
const MAX_RADIOS: usize = 5;

/// The `id` of an intake question's input (its base, for a radio group).
fn question_id(i: usize) -> String {
    format!("f-q{i}")
}

/// The id of a group's first input: the select itself, or the first radio.
fn first_input(base: &str, options: usize) -> String {
    if options > MAX_RADIOS { base.to_owned() } else { format!("{base}-0") }
}

/// The id an error about intake question `q` (the `i`th) links to.
fn question_anchor(q: &IntakeQuestion, i: usize) -> String {
    match &q.kind {
        QuestionKind::ShortText => question_id(i),
        QuestionKind::YesNo => first_input(&question_id(i), 2),
        QuestionKind::Choice { options } => first_input(&question_id(i), options.len()),
    }
}

/// The id and label of the input an error belongs to (`None`: no such input).
fn anchor(field: &str, t: &Texts, questions: &[IntakeQuestion]) -> Option<(String, String)> {
    let plain = |id: &str, label: &str| Some((id.to_owned(), label.to_owned()));
    match field {
        "citizen.name" => plain("f-name", t.name),
        "citizen.email" => plain("f-email", t.email),
        "citizen.phone" => plain("f-phone", t.phone),
        "citizen.fiscal_code" => plain("f-fiscal_code", t.fiscal_code),
        "mode" => plain(&first_input("f-mode", Mode::ALL.len()), t.mode),
        "notes" => plain("f-notes", t.notes),
        "privacy_accepted" => plain("f-privacy", t.privacy),
        other => {
            let key = other.strip_prefix("answers.")?;
            let i = questions.iter().position(|q| q.key == key)?;
            Some((question_anchor(&questions[i], i), questions[i].label.clone()))
        }
    }
}

/// The error summary: every error, linked to its input.
pub(crate) fn summary(errors: &[FieldError], t: &Texts, questions: &[IntakeQuestion]) -> Vec<SummaryLine> {
    errors
        .iter()
        .map(|e| match anchor(&e.field, t, questions) {
            Some((id, label)) => SummaryLine { href: format!("#{id}"), text: format!("{label}: {}", e.message) },
            None => SummaryLine { href: "#form".into(), text: e.message.to_owned() },
        })
        .collect()
}

/// Where a field comes on the booking pages: the details step (privacy, mode, questions,
/// notes), then the applicant's (name, e-mail, phone, codice fiscale, language).
fn page_rank(field: &str, questions: &[IntakeQuestion]) -> usize {
    match field {
        "privacy_accepted" => 0,
        "mode" => 1,
        "notes" => 2 + questions.len(),
        "citizen.name" => 10 + questions.len(),
        "citizen.email" => 11 + questions.len(),
        "citizen.phone" => 12 + questions.len(),
        "citizen.fiscal_code" => 13 + questions.len(),
        other => other
            .strip_prefix("answers.")
            .and_then(|key| questions.iter().position(|q| q.key == key))
            .map_or(20 + questions.len(), |i| 2 + i),
    }
}

/// Puts the error summary (made by [`summary`] from `errors`, line for line) in the order of
/// the fields on the page.
pub(crate) fn order_like_page(lines: &mut Vec<SummaryLine>, errors: &[FieldError], questions: &[IntakeQuestion]) {
    let mut ranked: Vec<(usize, SummaryLine)> =
        errors.iter().map(|e| page_rank(&e.field, questions)).zip(lines.drain(..)).collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    lines.extend(ranked.into_iter().map(|(_, line)| line));
}

/// Builds every field with its value and error.
pub(crate) fn fields(service: &Service, values: &Values, errors: &[FieldError], lang: Lang) -> Fields {
    let t = texts::texts(lang);
    let error_of =
        |field: &str| errors.iter().filter(|e| e.field == field).map(|e| e.message).collect::<Vec<_>>().join(" ");
    let error_of = |field: &str| Some(error_of(field)).filter(|m| !m.is_empty());
    let field = |id: &str,
                 name: &str,
                 label: &str,
                 kind: &'static str,
                 autocomplete: &'static str,
                 required: bool,
                 hint: Option<&'static str>,
                 error_key: &str| {
        let error = error_of(error_key);
        let describedby = [hint.map(|_| format!("{id}-hint")), error.as_ref().map(|_| format!("{id}-error"))]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        Field {
            id: id.to_owned(),
            name: name.to_owned(),
            label: label.to_owned(),
            kind,
            autocomplete,
            value: values.text(name),
            required,
            hint,
            error,
            describedby,
        }
    };
    let contact = vec![
        field("f-name", "name", t.name, "text", "name", true, None, "citizen.name"),
        // Optional: a citizen without e-mail books with a phone number (the core says which).
        field("f-email", "email", t.email, "email", "email", false, Some(t.email_hint), "citizen.email"),
        field("f-phone", "phone", t.phone, "tel", "tel", false, Some(t.phone_hint), "citizen.phone"),
        field("f-fiscal_code", "fiscal_code", t.fiscal_code, "text", "off", false, None, "citizen.fiscal_code"),
    ];
    let group =
        |id: &str, name: &str, legend: &str, options: Vec<(String, String)>, required: bool, error_key: &str| {
            let chosen = values.get(name).map(str::to_owned);
            let only = options.len() == 1 && required;
            let error = error_of(error_key);
            let select = options.len() > MAX_RADIOS;
            Group {
                id: first_input(id, options.len()),
                name: name.to_owned(),
                legend: legend.to_owned(),
                options: options
                    .into_iter()
                    .enumerate()
                    .map(|(i, (value, label))| Opt {
                        id: format!("{id}-{i}"),
                        checked: only || chosen.as_deref() == Some(value.as_str()),
                        value,
                        label,
                    })
                    .collect(),
                required,
                select,
                describedby: error.as_ref().map(|_| format!("{id}-error")).unwrap_or_default(),
                error,
            }
        };
    let modes = service.rules.modes().iter().map(|m| (m.as_str().to_owned(), texts::mode_name(lang, *m).to_owned()));
    let mode = group("f-mode", "mode", t.mode, modes.collect(), true, "mode");
    let questions = service
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let id = question_id(i);
            let name = format!("{ANSWER_PREFIX}{}", q.key);
            // One way of marking: optional fields say so, required ones are the rule.
            let label = if q.required { q.label.clone() } else { format!("{} {}", q.label, t.optional) };
            let error_key = format!("answers.{}", q.key);
            match &q.kind {
                QuestionKind::ShortText => {
                    Question::Text(field(&id, &name, &label, "text", "off", q.required, None, &error_key))
                }
                QuestionKind::YesNo => {
                    let options = vec![("yes".to_owned(), t.yes.to_owned()), ("no".to_owned(), t.no.to_owned())];
                    Question::Choice(group(&id, &name, &label, options, q.required, &error_key))
                }
                QuestionKind::Choice { options } => {
                    let options = options.iter().map(|o| (o.clone(), o.clone())).collect();
                    Question::Choice(group(&id, &name, &label, options, q.required, &error_key))
                }
            }
        })
        .collect();
    let langs = [Lang::It, Lang::En].map(|l| (l.code().to_owned(), texts::lang_name(l).to_owned()));
    let lang_legend = format!("{} {}", t.email_lang, t.optional);
    let mut email_lang = group("f-lang", "email_lang", &lang_legend, langs.to_vec(), false, "lang");
    if !email_lang.options.iter().any(|o| o.checked) {
        for o in &mut email_lang.options {
            o.checked = o.value == lang.code();
        }
    }
    Fields {
        contact,
        mode,
        questions,
        notes: field("f-notes", "notes", t.notes, "textarea", "off", false, Some(t.notes_hint), "notes"),
        email_lang,
        privacy_error: error_of("privacy_accepted"),
        privacy_checked: values.get("privacy_accepted").is_some_and(|v| !v.is_empty()),
    }
}
