//! A questionnaire as form fields, for every page that asks one (the kiosk, the preview, the
//! after-contact feedback, a campaign's answer page): [`SurveyView`] is what the partial
//! `templates/survey/questions.html` renders, and [`read`] turns the posted form back into
//! checked answers.
//!
//! The partial's fields are named `q.{key}`, so they live beside a page's own fields (`csrf`,
//! a token, ...) without clashing; [`read`] looks only at those.

use ricevo_core::Lang;
use ricevo_core::survey::{Answers, Question, QuestionKind, Questionnaire, SurveyError};

/// What the partial's field names start with.
pub(crate) const PREFIX: &str = "q.";

/// Reads the partial's fields out of a posted form (every pair, in order, repeated names
/// allowed; fields not named `q.…` are the page's own and are ignored) into checked answers.
/// A `q.…` field naming no question, a value not offered, a text too long, a required question
/// left empty: refused, with the question named in [`SurveyError::message`].
pub(crate) fn read(q: &Questionnaire, form: &[(String, String)]) -> Result<Answers, SurveyError> {
    let ours: Vec<(String, String)> =
        form.iter().filter_map(|(k, v)| k.strip_prefix(PREFIX).map(|k| (k.to_owned(), v.clone()))).collect();
    q.read_answers(&ours)
}

/// One option of a question as the partial shows it.
#[derive(Debug, Clone)]
pub(crate) struct OptionView {
    /// The posted value.
    pub(crate) value: String,
    /// The label.
    pub(crate) label: String,
    /// The input's id.
    pub(crate) id: String,
    /// Whether it is ticked (a form shown again after a refusal).
    pub(crate) checked: bool,
}

/// One question as the partial shows it.
#[derive(Debug, Clone)]
pub(crate) struct QuestionView {
    /// The field name, `q.{key}`.
    pub(crate) name: String,
    /// The element id, `q-{key}`.
    pub(crate) id: String,
    /// The question.
    pub(crate) label: String,
    /// A hint below it.
    pub(crate) help: Option<String>,
    /// `rating`, `single`, `multiple`, `yes_no`, `short_text` or `long_text`.
    pub(crate) kind: &'static str,
    /// Whether an answer is required (when shown).
    pub(crate) required: bool,
    /// The options of a rating, choice or yes/no question.
    pub(crate) options: Vec<OptionView>,
    /// The text of a text question shown again.
    pub(crate) text: String,
    /// The longest text allowed.
    pub(crate) maxlength: usize,
    /// The field that decides whether it is shown (`q.{key}`), for the script.
    pub(crate) show_if_name: String,
    /// The values of that field that show it, space-separated, for the script.
    pub(crate) show_if_values: String,
    /// For people without the script: when to answer it.
    pub(crate) condition_hint: Option<String>,
    /// Why the last answer was refused.
    pub(crate) error: Option<String>,
}

impl QuestionView {
    /// The ids the fieldset or field is described by (help, condition, error).
    pub(crate) fn describedby(&self) -> String {
        let mut ids = Vec::new();
        if self.help.is_some() {
            ids.push(format!("{}-help", self.id));
        }
        if self.condition_hint.is_some() {
            ids.push(format!("{}-cond", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    /// Whether the question is answered with options (a fieldset of inputs).
    pub(crate) fn is_fieldset(&self) -> bool {
        matches!(self.kind, "rating" | "single" | "multiple" | "yes_no")
    }

    /// The input type of its options.
    pub(crate) fn input_type(&self) -> &'static str {
        if self.kind == "multiple" { "checkbox" } else { "radio" }
    }
}

/// One section as the partial shows it.
#[derive(Debug, Clone)]
pub(crate) struct SectionView {
    /// Its title (may be empty).
    pub(crate) title: String,
    /// Its questions.
    pub(crate) questions: Vec<QuestionView>,
}

/// A questionnaire ready for `templates/survey/questions.html`: a page template that includes
/// the partial has a field `survey` of this type.
#[derive(Debug, Clone)]
pub(crate) struct SurveyView {
    /// The language shown.
    pub(crate) lang: Lang,
    /// The sections.
    pub(crate) sections: Vec<SectionView>,
    /// The refusal of the last submission, for the top of the form.
    pub(crate) error: Option<String>,
    /// The URL of the script that shows conditional questions only when they apply.
    pub(crate) script: String,
    /// Larger type and targets (the kiosk).
    pub(crate) big: bool,
}

impl SurveyView {
    /// An empty form of `q` in `lang`.
    pub(crate) fn new(q: &Questionnaire, lang: Lang) -> SurveyView {
        SurveyView::refill(q, lang, &[], None)
    }

    /// The form of `q` filled with what was posted (`form`, as [`read`] takes it) and the
    /// refusal beside its question.
    pub(crate) fn refill(
        q: &Questionnaire,
        lang: Lang,
        form: &[(String, String)],
        error: Option<&SurveyError>,
    ) -> SurveyView {
        let sections = q
            .sections
            .iter()
            .map(|s| SectionView {
                title: s.title.get(lang).to_owned(),
                questions: s.questions.iter().map(|x| question_view(q, x, lang, form, error)).collect(),
            })
            .collect();
        SurveyView { lang, sections, error: error.map(|e| e.message(lang)), script: script_url(), big: false }
    }

    /// The same, for a kiosk: larger type and targets.
    #[allow(dead_code)]
    pub(crate) fn big(mut self) -> SurveyView {
        self.big = true;
        self
    }

    /// Text in the view's language.
    pub(crate) fn t(&self, it: &'static str, en: &'static str) -> &'static str {
        match self.lang {
            Lang::It => it,
            Lang::En => en,
        }
    }
}

fn question_view(
    all: &Questionnaire,
    q: &Question,
    lang: Lang,
    form: &[(String, String)],
    error: Option<&SurveyError>,
) -> QuestionView {
    let name = format!("{PREFIX}{}", q.key);
    let id = format!("q-{}", q.key.as_str().replace('_', "-"));
    let given: Vec<&str> = form.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.as_str()).collect();
    let options = q
        .kind
        .values()
        .into_iter()
        .enumerate()
        .map(|(i, (value, label))| OptionView {
            checked: given.contains(&value.as_str()),
            id: format!("{id}-{}", i + 1),
            label: label.get(lang).to_owned(),
            value,
        })
        .collect();
    let (show_if_name, show_if_values, condition_hint) = match &q.show_if {
        Some(c) => {
            let source = all.question(c.question.as_str());
            let labels: Vec<String> = c
                .values
                .iter()
                .map(|v| {
                    source
                        .and_then(|s| s.kind.values().into_iter().find(|(x, _)| x == v))
                        .map(|(_, l)| l.get(lang).to_owned())
                        .unwrap_or_else(|| v.clone())
                })
                .collect();
            let asked = source.map(|s| s.label.get(lang).to_owned()).unwrap_or_default();
            let hint = match lang {
                Lang::It => format!("Rispondi solo se alla domanda «{asked}» hai risposto: {}.", labels.join(", ")),
                Lang::En => format!("Answer only if your answer to \"{asked}\" was: {}.", labels.join(", ")),
            };
            (format!("{PREFIX}{}", c.question), c.values.join(" "), Some(hint))
        }
        None => (String::new(), String::new(), None),
    };
    QuestionView {
        text: if matches!(q.kind, QuestionKind::ShortText | QuestionKind::LongText) {
            given.first().map(|s| (*s).to_owned()).unwrap_or_default()
        } else {
            String::new()
        },
        maxlength: match q.kind {
            QuestionKind::LongText => ricevo_core::survey::LONG_TEXT_MAX,
            _ => ricevo_core::survey::SHORT_TEXT_MAX,
        },
        name,
        id,
        label: q.label.get(lang).to_owned(),
        help: q.help.as_ref().map(|h| h.get(lang).to_owned()).filter(|h| !h.is_empty()),
        kind: q.kind.name(),
        required: q.required,
        options,
        show_if_name,
        show_if_values,
        condition_hint,
        error: error.filter(|e| e.key == q.key.as_str()).map(|e| e.message(lang)),
    }
}

/// The script's bytes: shows a conditional question only while its condition holds, and
/// starts a kiosk over after its thanks.
pub(crate) const SCRIPT: &str = include_str!("../../static/survey.js");

/// The script's URL, versioned by its content so it may be cached for long.
pub(crate) fn script_url() -> String {
    use sha2::{Digest, Sha256};
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| format!("{SCRIPT_PATH}?v={}", hex::encode(&Sha256::digest(SCRIPT.as_bytes())[..6]))).clone()
}

/// Where the script is served.
pub(crate) const SCRIPT_PATH: &str = "/static/survey/questions.js";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use askama::Template;

    #[derive(Template)]
    #[template(source = "<form>{% include \"survey/questions.html\" %}</form>", ext = "html")]
    struct Probe {
        survey: SurveyView,
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_page_fields_are_ignored_and_forged_question_fields_refused() {
        let q = Questionnaire::feedback_default();
        let a = read(&q, &pairs(&[("csrf", "x"), ("q.rating", "2"), ("q.difficulties", "unclear")])).unwrap();
        assert_eq!(a.rating(&q), Some(2));
        assert!(read(&q, &pairs(&[("q.rating", "2"), ("q.is_admin", "1")])).is_err());
    }

    #[test]
    fn the_partial_renders_every_question_escaped_with_its_condition_and_refusal() {
        let mut q = Questionnaire::feedback_default();
        q.sections[0].questions[3].label.it = "<script>alert(1)</script>".into();
        let posted = pairs(&[("q.rating", "2"), ("q.details", "<b>ciao</b>")]);
        let err = read(&q, &pairs(&[("q.rating", "9")])).unwrap_err();
        let html = Probe { survey: SurveyView::refill(&q, Lang::It, &posted, Some(&err)) }.render().unwrap();
        assert!(html.contains("Quanto è stato facile usare questo servizio?"), "{html}");
        assert!(html.contains("name=\"q.rating\" value=\"2\" checked"), "{html}");
        assert!(html.contains("data-show-if=\"q.rating\" data-show-values=\"1 2 3\""), "{html}");
        assert!(html.contains("&#60;script&#62;") && !html.contains("<script>alert"), "{html}");
        assert!(html.contains("&#60;b&#62;ciao") && !html.contains("<b>ciao"), "{html}");
        assert!(html.contains("Scegli un valore da 1 a 5."), "{html}");
        assert!(html.contains(SCRIPT_PATH), "{html}");
        let en = Probe { survey: SurveyView::new(&q, Lang::En) }.render().unwrap();
        assert!(en.contains("How easy was it to use this service?"), "{en}");
    }
}
