//! The questionnaire pages' templates (in `templates/survey/`) and the small view types they show.

use askama::Template;
use ricevo_core::Lang;
use ricevo_core::survey::results::{GroupName, Results};

use super::builder::{Draft, KINDS};
use super::form::SurveyView;
use crate::lang::tr;
use crate::pages::layout::Layout;
use crate::pages::texts::Texts;
use crate::staff::views::Page;

/// A value, its label and whether it is chosen (select options).
pub(crate) type Opt = (String, String, bool);

/// One question row of the builder.
#[derive(Debug)]
pub(crate) struct QuestionRow {
    pub(crate) n: usize,
    pub(crate) number: usize,
    pub(crate) q: super::builder::DraftQuestion,
    pub(crate) kinds: Vec<Opt>,
    pub(crate) sections: Vec<Opt>,
    pub(crate) conds: Vec<Opt>,
    pub(crate) first: bool,
    pub(crate) last: bool,
    pub(crate) has_options: bool,
}

/// One section of the builder.
#[derive(Debug)]
pub(crate) struct SectionRow {
    pub(crate) i: usize,
    pub(crate) number: usize,
    pub(crate) it: String,
    pub(crate) en: String,
    pub(crate) questions: Vec<QuestionRow>,
    pub(crate) can_remove: bool,
}

/// The builder: a form of sections and questions, changed by round trips.
#[derive(Debug, Template)]
#[template(path = "survey/builder.html")]
pub(crate) struct BuilderPage {
    pub(crate) p: Page,
    pub(crate) action: String,
    pub(crate) error: Option<String>,
    pub(crate) unsaved: bool,
    pub(crate) title: String,
    pub(crate) kinds: Vec<Opt>,
    pub(crate) offices: Vec<Opt>,
    pub(crate) services: Vec<Opt>,
    pub(crate) sections: Vec<SectionRow>,
    pub(crate) back: String,
}

impl BuilderPage {
    /// The builder showing `d`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        p: Page,
        action: String,
        back: String,
        d: &Draft,
        offices: Vec<Opt>,
        services: Vec<Opt>,
        error: Option<String>,
        unsaved: bool,
    ) -> BuilderPage {
        let lang = p.lang;
        let q = d.to_questionnaire();
        let label_of = |key: &str| {
            q.question(key)
                .map(|x| x.label.get(lang).to_owned())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| key.to_owned())
        };
        let mut number = 0;
        let sections = d
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let members = d.in_section(i);
                let count = members.len();
                let questions = members
                    .into_iter()
                    .enumerate()
                    .map(|(pos, (n, x))| {
                        number += 1;
                        // Conditions may name any earlier question that has values to test.
                        let mut conds: Vec<Opt> =
                            vec![(String::new(), tr(lang, "Sempre", "Always").to_owned(), x.cond.is_empty())];
                        for earlier in d.questions[..n].iter() {
                            let Some(eq) = q.question(&earlier.key) else { continue };
                            for (v, l) in eq.kind.values() {
                                let value = format!("{}={v}", earlier.key);
                                let selected = x.cond == value;
                                conds.push((
                                    value,
                                    format!("«{}» = {}", label_of(&earlier.key), l.get(lang)),
                                    selected,
                                ));
                            }
                        }
                        if !x.cond.is_empty() && !conds.iter().any(|c| c.2) {
                            let (k, vs) = x.cond.split_once('=').unwrap_or((&x.cond, ""));
                            conds.push((
                                x.cond.clone(),
                                format!("«{}» = {}", label_of(k), vs.replace(',', ", ")),
                                true,
                            ));
                        }
                        QuestionRow {
                            n,
                            number,
                            kinds: KINDS
                                .iter()
                                .map(|(v, it, en)| ((*v).to_owned(), tr(lang, it, en).to_owned(), x.kind == *v))
                                .collect(),
                            sections: (0..d.sections.len())
                                .map(|j| {
                                    (j.to_string(), format!("{} {}", tr(lang, "Sezione", "Section"), j + 1), j == i)
                                })
                                .collect(),
                            conds,
                            first: pos == 0,
                            last: pos + 1 == count,
                            has_options: matches!(x.kind.as_str(), "single" | "multiple"),
                            q: x.clone(),
                        }
                    })
                    .collect();
                SectionRow {
                    i,
                    number: i + 1,
                    it: s.it.clone(),
                    en: s.en.clone(),
                    questions,
                    can_remove: d.sections.len() > 1,
                }
            })
            .collect();
        BuilderPage {
            p,
            action,
            error,
            unsaved,
            title: d.title.clone(),
            kinds: [
                ("survey", "Questionario", "Questionnaire"),
                ("feedback", "Domande aggiuntive del feedback", "Extra feedback questions"),
            ]
            .iter()
            .map(|(v, it, en)| ((*v).to_owned(), tr(lang, it, en).to_owned(), d.kind == *v))
            .collect(),
            offices,
            services,
            sections,
            back,
        }
    }
}

/// One questionnaire in the list.
#[derive(Debug)]
pub(crate) struct ListRow {
    pub(crate) title: String,
    pub(crate) link: String,
    pub(crate) kind: &'static str,
    pub(crate) office: String,
    pub(crate) status: &'static str,
    pub(crate) kiosk: Option<String>,
}

/// The questionnaires of the town.
#[derive(Debug, Template)]
#[template(path = "survey/list.html")]
pub(crate) struct ListPage {
    pub(crate) p: Page,
    pub(crate) rows: Vec<ListRow>,
    pub(crate) can_create: bool,
}

/// One live kiosk.
#[derive(Debug)]
pub(crate) struct KioskRow {
    pub(crate) place: String,
    pub(crate) since: String,
    pub(crate) until: String,
    pub(crate) stop: String,
}

/// One questionnaire: its status, actions and kiosks.
#[derive(Debug, Template)]
#[template(path = "survey/show.html")]
pub(crate) struct ShowPage {
    pub(crate) p: Page,
    pub(crate) base: String,
    pub(crate) status: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) editable: bool,
    pub(crate) can_open: bool,
    pub(crate) can_close: bool,
    pub(crate) is_survey: bool,
    pub(crate) questions: usize,
    pub(crate) kiosks: Vec<KioskRow>,
}

/// The questionnaire as a citizen sees it, marked as a preview.
#[derive(Template)]
#[template(path = "survey/preview.html")]
pub(crate) struct PreviewPage {
    pub(crate) l: Layout,
    pub(crate) t: &'static Texts,
    pub(crate) title: String,
    pub(crate) banner: &'static str,
    pub(crate) back: String,
    pub(crate) back_label: &'static str,
    pub(crate) action: String,
    pub(crate) csrf: String,
    pub(crate) submit: &'static str,
    pub(crate) checked: Option<&'static str>,
    pub(crate) survey: SurveyView,
}

/// The kiosk: the questionnaire large, a thanks, or a refusal.
#[derive(Template)]
#[template(path = "survey/kiosk.html")]
pub(crate) struct KioskPage {
    pub(crate) l: Layout,
    pub(crate) t: &'static Texts,
    pub(crate) title: String,
    pub(crate) place: String,
    pub(crate) action: String,
    pub(crate) csrf: String,
    pub(crate) submit: &'static str,
    pub(crate) survey: SurveyView,
}

/// After an answer at the kiosk (or when it cannot take one): a message, starting over.
#[derive(Template)]
#[template(path = "survey/kiosk_message.html")]
pub(crate) struct KioskMessage {
    pub(crate) l: Layout,
    pub(crate) t: &'static Texts,
    pub(crate) heading: &'static str,
    pub(crate) text: &'static str,
    /// Start over after so many seconds (the thanks), with a button too.
    pub(crate) restart: Option<(u32, String, &'static str)>,
    pub(crate) script: String,
}

/// Starting a kiosk: the place, and what happens to the session.
#[derive(Debug, Template)]
#[template(path = "survey/kiosk_setup.html")]
pub(crate) struct KioskSetup {
    pub(crate) p: Page,
    pub(crate) action: String,
    pub(crate) place: String,
    pub(crate) places: Vec<String>,
    pub(crate) error: Option<String>,
    pub(crate) days: i64,
}

/// One row of a results table: label, count, percent, bar width.
#[derive(Debug)]
pub(crate) struct OptionRow {
    pub(crate) label: String,
    pub(crate) count: usize,
    pub(crate) percent: String,
    pub(crate) width: u32,
}

/// One question's results.
#[derive(Debug)]
pub(crate) struct QuestionOut {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) answered: usize,
    pub(crate) average: Option<String>,
    pub(crate) options: Vec<OptionRow>,
    pub(crate) texts: Vec<String>,
}

/// One group (channel or service) of the results.
#[derive(Debug)]
pub(crate) struct GroupOut {
    pub(crate) name: String,
    pub(crate) responses: usize,
    /// The averages as text, or `None` when the group has fewer than five responses.
    pub(crate) averages: Option<Vec<String>>,
}

/// The results of a questionnaire.
#[derive(Debug, Template)]
#[template(path = "survey/results.html")]
pub(crate) struct ResultsPage {
    pub(crate) p: Page,
    pub(crate) total: usize,
    pub(crate) questions: Vec<QuestionOut>,
    pub(crate) ratings: Vec<String>,
    pub(crate) by_channel: Vec<GroupOut>,
    pub(crate) by_service: Vec<GroupOut>,
    pub(crate) csv: String,
    pub(crate) back: String,
    pub(crate) refresh: String,
}

impl ResultsPage {
    /// The group tables: by channel, by service.
    pub(crate) fn group_tables(&self) -> Vec<(&'static str, &Vec<GroupOut>)> {
        vec![
            (self.p.t("Per canale", "By channel"), &self.by_channel),
            (self.p.t("Per servizio", "By service"), &self.by_service),
        ]
    }
}

/// A number with one decimal, in the language's style.
pub(crate) fn one_decimal(x: f64, lang: Lang) -> String {
    let s = format!("{x:.1}");
    match lang {
        Lang::It => s.replace('.', ","),
        Lang::En => s,
    }
}

/// The results as the page shows them.
pub(crate) fn results_out(r: &Results, lang: Lang) -> (Vec<QuestionOut>, Vec<GroupOut>, Vec<GroupOut>) {
    let questions = r
        .questions
        .iter()
        .map(|x| QuestionOut {
            id: format!("r-{}", x.key.as_str().replace('_', "-")),
            label: x.label.get(lang).to_owned(),
            answered: x.answered,
            average: x.average.map(|a| one_decimal(a, lang)),
            options: x
                .options
                .iter()
                .map(|o| OptionRow {
                    label: o.label.get(lang).to_owned(),
                    count: o.count,
                    percent: one_decimal(o.percent, lang),
                    width: o.percent.round().clamp(0.0, 100.0) as u32,
                })
                .collect(),
            texts: x.texts.clone(),
        })
        .collect();
    let groups = |gs: &[ricevo_core::survey::results::Group]| {
        gs.iter()
            .map(|g| GroupOut {
                name: match &g.name {
                    GroupName::Channel(c) => c.label(lang).to_owned(),
                    GroupName::Service(s) => s.clone(),
                    GroupName::NoService => tr(lang, "Servizio non indicato", "No service given").to_owned(),
                },
                responses: g.responses,
                averages: g.averages.as_ref().map(|avs| {
                    avs.iter().map(|a| a.map(|a| one_decimal(a, lang)).unwrap_or_else(|| "–".to_owned())).collect()
                }),
            })
            .collect::<Vec<_>>()
    };
    (questions, groups(&r.by_channel), groups(&r.by_service))
}
