//! The questionnaire builder's working copy: what the builder form holds between round trips
//! (sections, questions with their kind, labels, options and condition), read from the posted
//! form leniently (so a half-written question survives "add a question"), changed by the
//! buttons (add, remove, move up or down), and turned into a `Questionnaire` only on save.
//!
//! Field names: `title`, `office`, `service`, `kind`; per section `s{i}.it`, `s{i}.en`; per
//! question `q{n}.key` (kept, never typed), `q{n}.section`, `q{n}.it`, `q{n}.en`, `q{n}.kind`,
//! `q{n}.required`, `q{n}.options_it` and `q{n}.options_en` (one option a line),
//! `q{n}.values` (the options' stored values, kept), `q{n}.cond` (`key=value,value` or empty).

use ricevo_core::survey::{Bilingual, Choice, Condition, Question, QuestionKey, QuestionKind, Questionnaire, Section};

/// The kinds the builder offers, with their names in Italian and English.
pub(crate) const KINDS: [(&str, &str, &str); 6] = [
    ("rating", "Valutazione da 1 a 5", "Rating from 1 to 5"),
    ("single", "Scelta singola", "Single choice"),
    ("multiple", "Scelta multipla", "Multiple choice"),
    ("yes_no", "Sì / no", "Yes / no"),
    ("short_text", "Testo breve", "Short text"),
    ("long_text", "Testo lungo", "Long text"),
];

/// One question as the builder holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DraftQuestion {
    pub(crate) key: String,
    pub(crate) section: usize,
    pub(crate) it: String,
    pub(crate) en: String,
    pub(crate) kind: String,
    pub(crate) required: bool,
    pub(crate) options_it: String,
    pub(crate) options_en: String,
    pub(crate) values: String,
    pub(crate) cond: String,
}

/// One section as the builder holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DraftSection {
    pub(crate) it: String,
    pub(crate) en: String,
}

/// The builder's working copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Draft {
    pub(crate) title: String,
    pub(crate) office: String,
    pub(crate) service: String,
    pub(crate) kind: String,
    pub(crate) sections: Vec<DraftSection>,
    pub(crate) questions: Vec<DraftQuestion>,
}

/// The most sections and questions the builder holds (the model's limits).
const MAX_SECTIONS: usize = ricevo_core::survey::MAX_SECTIONS;
const MAX_QUESTIONS: usize = ricevo_core::survey::MAX_QUESTIONS;

fn lines(s: &str) -> Vec<&str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

impl Draft {
    /// A new questionnaire: one section with one rating question.
    pub(crate) fn blank() -> Draft {
        let mut d = Draft { kind: "survey".into(), sections: vec![DraftSection::default()], ..Draft::default() };
        d.add_question(0);
        d.questions[0].kind = "rating".into();
        d.questions[0].required = true;
        d
    }

    /// The working copy of a stored questionnaire.
    pub(crate) fn of(title: &str, office: Option<i64>, service: Option<i64>, kind: &str, q: &Questionnaire) -> Draft {
        let mut d = Draft {
            title: title.to_owned(),
            office: office.map(|o| o.to_string()).unwrap_or_default(),
            service: service.map(|s| s.to_string()).unwrap_or_default(),
            kind: kind.to_owned(),
            ..Draft::default()
        };
        for (i, s) in q.sections.iter().enumerate() {
            d.sections.push(DraftSection { it: s.title.it.clone(), en: s.title.en.clone() });
            for x in &s.questions {
                let choices = x.kind.choices();
                d.questions.push(DraftQuestion {
                    key: x.key.to_string(),
                    section: i,
                    it: x.label.it.clone(),
                    en: x.label.en.clone(),
                    kind: x.kind.name().to_owned(),
                    required: x.required,
                    options_it: choices.iter().map(|c| c.label.it.as_str()).collect::<Vec<_>>().join("\n"),
                    options_en: choices.iter().map(|c| c.label.en.as_str()).collect::<Vec<_>>().join("\n"),
                    values: choices.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(","),
                    cond: x
                        .show_if
                        .as_ref()
                        .map(|c| format!("{}={}", c.question, c.values.join(",")))
                        .unwrap_or_default(),
                });
            }
        }
        if d.sections.is_empty() {
            d.sections.push(DraftSection::default());
        }
        d
    }

    /// The working copy as posted (anything missing is empty; sections and questions stop at
    /// the first index not posted, and at the model's limits).
    pub(crate) fn read(form: &[(String, String)]) -> Draft {
        let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let has = |name: &str| form.iter().any(|(k, _)| k == name);
        let mut d = Draft {
            title: get("title"),
            office: get("office"),
            service: get("service"),
            kind: get("kind"),
            ..Draft::default()
        };
        for i in 0..MAX_SECTIONS {
            if !has(&format!("s{i}.it")) {
                break;
            }
            d.sections.push(DraftSection { it: get(&format!("s{i}.it")), en: get(&format!("s{i}.en")) });
        }
        if d.sections.is_empty() {
            d.sections.push(DraftSection::default());
        }
        for n in 0..MAX_QUESTIONS {
            let f = |x: &str| get(&format!("q{n}.{x}"));
            if !has(&format!("q{n}.key")) {
                break;
            }
            d.questions.push(DraftQuestion {
                key: f("key"),
                section: f("section").parse::<usize>().unwrap_or(0).min(d.sections.len() - 1),
                it: f("it"),
                en: f("en"),
                kind: f("kind"),
                required: has(&format!("q{n}.required")),
                options_it: f("options_it"),
                options_en: f("options_en"),
                values: f("values"),
                cond: f("cond"),
            });
        }
        d
    }

    /// A key no question uses yet (`q1`, `q2`, ...).
    fn fresh_key(&self) -> String {
        (1..).map(|n| format!("q{n}")).find(|k| !self.questions.iter().any(|q| &q.key == k)).unwrap_or_default()
    }

    /// Adds an empty question at the end of section `section`.
    pub(crate) fn add_question(&mut self, section: usize) {
        if self.questions.len() >= MAX_QUESTIONS || section >= self.sections.len() {
            return;
        }
        let q = DraftQuestion { key: self.fresh_key(), section, kind: "single".into(), ..DraftQuestion::default() };
        let at = self.questions.iter().rposition(|x| x.section <= section).map_or(0, |i| i + 1);
        self.questions.insert(at, q);
    }

    /// Adds an empty section at the end.
    pub(crate) fn add_section(&mut self) {
        if self.sections.len() < MAX_SECTIONS {
            self.sections.push(DraftSection::default());
        }
    }

    /// Removes section `i` with its questions (the last section stays).
    pub(crate) fn remove_section(&mut self, i: usize) {
        if self.sections.len() <= 1 || i >= self.sections.len() {
            return;
        }
        self.sections.remove(i);
        self.questions.retain(|q| q.section != i);
        for q in &mut self.questions {
            if q.section > i {
                q.section -= 1;
            }
        }
    }

    /// Removes question `n`, and the conditions that named it.
    pub(crate) fn remove_question(&mut self, n: usize) {
        if n < self.questions.len() {
            let gone = self.questions.remove(n).key;
            for q in &mut self.questions {
                if q.cond.split('=').next() == Some(gone.as_str()) {
                    q.cond.clear();
                }
            }
        }
    }

    /// Moves question `n` before the previous one of its section (`up`) or after the next.
    pub(crate) fn move_question(&mut self, n: usize, up: bool) {
        let Some(section) = self.questions.get(n).map(|q| q.section) else { return };
        let other = if up {
            self.questions[..n].iter().rposition(|q| q.section == section)
        } else {
            self.questions.iter().enumerate().skip(n + 1).find(|(_, q)| q.section == section).map(|(i, _)| i)
        };
        if let Some(o) = other {
            self.questions.swap(n, o);
        }
    }

    /// The questions of section `i`, with their index in the whole list.
    pub(crate) fn in_section(&self, i: usize) -> Vec<(usize, &DraftQuestion)> {
        // Questions are kept grouped by section, in the order shown.
        self.questions.iter().enumerate().filter(|(_, q)| q.section == i).collect()
    }

    /// Keeps questions grouped by section (after a question changed section).
    pub(crate) fn regroup(&mut self) {
        self.questions.sort_by_key(|q| q.section);
    }

    /// The questionnaire the working copy describes; its checks are `Questionnaire::check`'s
    /// (the desk runs them).
    pub(crate) fn to_questionnaire(&self) -> Questionnaire {
        let mut sections: Vec<Section> = self
            .sections
            .iter()
            .map(|s| Section { title: Bilingual::new(s.it.trim(), s.en.trim()), questions: Vec::new() })
            .collect();
        for q in &self.questions {
            // Keys are generated and kept by the builder: a question with a forged one is dropped.
            let Some(key) = QuestionKey::parse(&q.key) else { continue };
            let its = lines(&q.options_it);
            let ens: Vec<&str> = q.options_en.lines().map(str::trim).collect();
            let old: Vec<&str> = q.values.split(',').filter(|v| !v.is_empty()).collect();
            let mut used: Vec<String> = Vec::new();
            let choices: Vec<Choice> = its
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    let value = old
                        .get(i)
                        .filter(|v| QuestionKey::parse(v).is_some() && !used.iter().any(|u| u == *v))
                        .map(|v| (*v).to_owned())
                        .unwrap_or_else(|| {
                            (1..)
                                .map(|n| format!("o{n}"))
                                .find(|v| !used.contains(v) && !old.contains(&v.as_str()))
                                .unwrap_or_default()
                        });
                    used.push(value.clone());
                    Choice { value, label: Bilingual::new(*it, ens.get(i).copied().unwrap_or("")) }
                })
                .collect();
            let kind = match q.kind.as_str() {
                "rating" => QuestionKind::Rating,
                "multiple" => QuestionKind::Multiple { choices },
                "yes_no" => QuestionKind::YesNo,
                "short_text" => QuestionKind::ShortText,
                "long_text" => QuestionKind::LongText,
                _ => QuestionKind::Single { choices },
            };
            let show_if = q.cond.split_once('=').and_then(|(k, vs)| {
                Some(Condition {
                    question: QuestionKey::parse(k)?,
                    values: vs.split(',').filter(|v| !v.is_empty()).map(str::to_owned).collect(),
                })
            });
            let question = Question {
                key,
                label: Bilingual::new(q.it.trim(), q.en.trim()),
                help: None,
                kind,
                required: q.required,
                show_if,
            };
            if let Some(s) = sections.get_mut(q.section) {
                s.questions.push(question);
            }
        }
        Questionnaire { sections }
    }
}

/// A button of the builder, as posted in `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Save (create or update).
    Save,
    /// Re-render after a change of section or kind (no script).
    Refresh,
    AddQuestion(usize),
    AddSection,
    RemoveSection(usize),
    RemoveQuestion(usize),
    Up(usize),
    Down(usize),
}

impl Action {
    /// The action a posted `action` names (`save` when missing or unknown).
    pub(crate) fn parse(s: &str) -> Action {
        let (name, n) = s.split_once(':').map_or((s, None), |(a, b)| (a, b.parse::<usize>().ok()));
        match (name, n) {
            ("refresh", _) => Action::Refresh,
            ("add_question", Some(i)) => Action::AddQuestion(i),
            ("add_section", _) => Action::AddSection,
            ("remove_section", Some(i)) => Action::RemoveSection(i),
            ("remove", Some(i)) => Action::RemoveQuestion(i),
            ("up", Some(i)) => Action::Up(i),
            ("down", Some(i)) => Action::Down(i),
            _ => Action::Save,
        }
    }

    /// Applies a change to the working copy (nothing for save).
    pub(crate) fn apply(self, d: &mut Draft) {
        d.regroup();
        match self {
            Action::Save | Action::Refresh => {}
            Action::AddQuestion(i) => d.add_question(i),
            Action::AddSection => d.add_section(),
            Action::RemoveSection(i) => d.remove_section(i),
            Action::RemoveQuestion(n) => d.remove_question(n),
            Action::Up(n) => d.move_question(n, true),
            Action::Down(n) => d.move_question(n, false),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn form_of(d: &Draft) -> Vec<(String, String)> {
        let mut f = vec![("title".to_owned(), d.title.clone()), ("kind".to_owned(), d.kind.clone())];
        for (i, s) in d.sections.iter().enumerate() {
            f.push((format!("s{i}.it"), s.it.clone()));
            f.push((format!("s{i}.en"), s.en.clone()));
        }
        for (n, q) in d.questions.iter().enumerate() {
            let mut p = |k: &str, v: &str| f.push((format!("q{n}.{k}"), v.to_owned()));
            p("key", &q.key);
            p("section", &q.section.to_string());
            p("it", &q.it);
            p("en", &q.en);
            p("kind", &q.kind);
            p("options_it", &q.options_it);
            p("options_en", &q.options_en);
            p("values", &q.values);
            p("cond", &q.cond);
            if q.required {
                p("required", "on");
            }
        }
        f
    }

    #[test]
    fn the_default_feedback_survives_the_builder_round_trip() {
        let q = Questionnaire::feedback_default();
        let d = Draft::of("Feedback", None, None, "survey", &q);
        let back = Draft::read(&form_of(&d));
        assert_eq!(back, d);
        let mut expected = q.clone();
        for question in expected.sections.iter_mut().flat_map(|s| s.questions.iter_mut()) {
            question.help = None;
        }
        assert_eq!(back.to_questionnaire(), expected);
    }

    #[test]
    fn questions_are_added_moved_and_removed_with_the_conditions_on_them() {
        let mut d = Draft::blank();
        Action::AddQuestion(0).apply(&mut d);
        d.questions[1].cond = format!("{}=1,2", d.questions[0].key);
        d.questions[1].it = "Perché?".into();
        Action::AddSection.apply(&mut d);
        Action::AddQuestion(1).apply(&mut d);
        assert_eq!(d.questions.iter().map(|q| q.key.as_str()).collect::<Vec<_>>(), ["q1", "q2", "q3"]);
        Action::Up(1).apply(&mut d);
        assert_eq!(d.questions[0].key, "q2");
        Action::Up(2).apply(&mut d);
        assert_eq!(d.questions[2].key, "q3", "moves stay inside a section");
        Action::RemoveQuestion(1).apply(&mut d);
        assert!(d.questions[0].cond.is_empty(), "a condition on a removed question goes with it");
        Action::RemoveSection(1).apply(&mut d);
        assert_eq!(d.questions.len(), 1);
        assert_eq!(Action::parse("remove:x"), Action::Save);
        assert_eq!(Action::parse("down:3"), Action::Down(3));
    }

    #[test]
    fn new_options_get_values_of_their_own_and_kept_ones_keep_theirs() {
        let mut d = Draft::blank();
        d.questions[0].kind = "multiple".into();
        d.questions[0].options_it = "Uno\nDue\n\n".into();
        d.questions[0].values = "o2".into();
        let q = d.to_questionnaire();
        let values: Vec<&str> = q.sections[0].questions[0].kind.choices().iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["o2", "o1"]);
    }
}
