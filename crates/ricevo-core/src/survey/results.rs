//! The results of a questionnaire: per question the answers counted with their percentages and
//! the average rating, the texts written, and the same broken down by channel and by service.
//! A group of fewer than [`MIN_GROUP`] responses is not broken down (its figures could point at
//! a person); no identity is ever part of a result.

use std::collections::BTreeMap;

use super::{Answer, Answers, Bilingual, QuestionKey, QuestionKind, Questionnaire, SurveyChannel};

/// The fewest responses a group (a channel, a service) must have to be broken down.
pub const MIN_GROUP: usize = 5;

/// One response as the tally reads it: how it came and what was answered.
#[derive(Debug, Clone)]
pub struct Given<'a> {
    /// How it was given.
    pub channel: SurveyChannel,
    /// The service of the contact, by name, when known.
    pub service: Option<String>,
    /// What was answered.
    pub answers: &'a Answers,
}

/// One option of a question counted.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionCount {
    /// The stored value (`"1"`..`"5"`, `"yes"`, an option's value).
    pub value: String,
    /// Its label.
    pub label: Bilingual,
    /// How many chose it.
    pub count: usize,
    /// Of those who answered the question, in percent (0 when nobody did).
    pub percent: f64,
}

/// One question's results.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionResult {
    /// Its key.
    pub key: QuestionKey,
    /// Its label.
    pub label: Bilingual,
    /// Its kind's name (`QuestionKind::name`).
    pub kind: &'static str,
    /// How many answered it.
    pub answered: usize,
    /// The options counted (ratings, choices, yes/no), in the questionnaire's order.
    pub options: Vec<OptionCount>,
    /// The average of a rating.
    pub average: Option<f64>,
    /// The texts written (text questions), in the order given.
    pub texts: Vec<String>,
}

/// What a group of responses is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupName {
    /// Those given through a channel.
    Channel(SurveyChannel),
    /// Those about a service (by name).
    Service(String),
    /// Those with no known service.
    NoService,
}

/// A group of responses: how many, and, when there are at least [`MIN_GROUP`], the average of
/// each rating question (in [`Results::ratings`] order; `None` where nobody rated).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Which group.
    pub name: GroupName,
    /// How many responses.
    pub responses: usize,
    /// The averages, or `None` when the group is too small to break down.
    pub averages: Option<Vec<Option<f64>>>,
}

/// Everything the results page shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Results {
    /// Responses counted.
    pub total: usize,
    /// Per question, in order.
    pub questions: Vec<QuestionResult>,
    /// The rating questions' labels (the columns of the groups' averages).
    pub ratings: Vec<Bilingual>,
    /// Per channel (only channels with responses).
    pub by_channel: Vec<Group>,
    /// Per service (only when some response names one).
    pub by_service: Vec<Group>,
}

fn percent(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { (n as f64) * 100.0 / (of as f64) }
}

fn average(sum: u64, n: usize) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

impl Results {
    /// Tallies `given` against the questionnaire `q` (answers to keys it no longer has are
    /// ignored).
    pub fn tally(q: &Questionnaire, given: &[Given<'_>]) -> Results {
        let rating_keys: Vec<&QuestionKey> =
            q.questions().filter(|x| x.kind == QuestionKind::Rating).map(|x| &x.key).collect();
        let questions = q
            .questions()
            .map(|question| {
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                let (mut answered, mut sum, mut texts) = (0, 0u64, Vec::new());
                for g in given {
                    let Some(a) = g.answers.get(&question.key) else { continue };
                    answered += 1;
                    match (a, &question.kind) {
                        (Answer::Number(n), _) => {
                            sum += u64::from(*n);
                            *counts.entry(n.to_string()).or_default() += 1;
                        }
                        (Answer::Flag(b), _) => *counts.entry(if *b { "yes" } else { "no" }.into()).or_default() += 1,
                        (Answer::Many(vs), _) => {
                            for v in vs {
                                *counts.entry(v.clone()).or_default() += 1;
                            }
                        }
                        (Answer::Text(t), QuestionKind::ShortText | QuestionKind::LongText) => texts.push(t.clone()),
                        (Answer::Text(t), _) => *counts.entry(t.clone()).or_default() += 1,
                    }
                }
                let options = question
                    .kind
                    .values()
                    .into_iter()
                    .map(|(value, label)| {
                        let count = counts.get(&value).copied().unwrap_or(0);
                        OptionCount { percent: percent(count, answered), value, label, count }
                    })
                    .collect();
                QuestionResult {
                    key: question.key.clone(),
                    label: question.label.clone(),
                    kind: question.kind.name(),
                    answered,
                    options,
                    average: if question.kind == QuestionKind::Rating { average(sum, answered) } else { None },
                    texts,
                }
            })
            .collect();
        let group = |name: GroupName, members: Vec<&Given<'_>>| {
            let averages = (members.len() >= MIN_GROUP).then(|| {
                rating_keys
                    .iter()
                    .map(|k| {
                        let ns: Vec<u64> = members
                            .iter()
                            .filter_map(|g| match g.answers.get(k) {
                                Some(Answer::Number(n)) => Some(u64::from(*n)),
                                _ => None,
                            })
                            .collect();
                        average(ns.iter().sum(), ns.len())
                    })
                    .collect()
            });
            Group { name, responses: members.len(), averages }
        };
        let by_channel = SurveyChannel::ALL
            .into_iter()
            .map(|c| (c, given.iter().filter(|g| g.channel == c).collect::<Vec<_>>()))
            .filter(|(_, m)| !m.is_empty())
            .map(|(c, m)| group(GroupName::Channel(c), m))
            .collect();
        let mut services: BTreeMap<Option<&str>, Vec<&Given<'_>>> = BTreeMap::new();
        for g in given {
            services.entry(g.service.as_deref()).or_default().push(g);
        }
        let by_service = if services.keys().all(Option::is_none) {
            Vec::new()
        } else {
            services
                .into_iter()
                .map(|(s, m)| group(s.map_or(GroupName::NoService, |s| GroupName::Service(s.to_owned())), m))
                .collect()
        };
        Results {
            total: given.len(),
            questions,
            ratings: q.questions().filter(|x| x.kind == QuestionKind::Rating).map(|x| x.label.clone()).collect(),
            by_channel,
            by_service,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn answers(p: &[(&str, &str)]) -> Answers {
        let raw: Vec<(String, String)> = p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Questionnaire::feedback_default().read_answers(&raw).unwrap()
    }

    #[test]
    fn counts_percentages_averages_and_texts_per_question() {
        let q = Questionnaire::feedback_default();
        let a = [
            answers(&[("rating", "2"), ("difficulties", "technical"), ("details", "<b>lento</b>")]),
            answers(&[("rating", "4"), ("liked", "clear")]),
            answers(&[("rating", "5"), ("liked", "clear")]),
            answers(&[("rating", "5")]),
        ];
        let given: Vec<Given<'_>> =
            a.iter().map(|answers| Given { channel: SurveyChannel::Kiosk, service: None, answers }).collect();
        let r = Results::tally(&q, &given);
        assert_eq!(r.total, 4);
        let rating = &r.questions[0];
        assert_eq!(rating.answered, 4);
        assert_eq!(rating.average, Some(4.0));
        assert_eq!(rating.options.iter().map(|o| o.count).collect::<Vec<_>>(), [0, 1, 0, 1, 2]);
        assert_eq!(rating.options[4].percent, 50.0);
        let liked = &r.questions[2];
        assert_eq!((liked.answered, liked.options[0].count, liked.options[0].percent), (2, 2, 100.0));
        assert_eq!(r.questions[3].texts, ["<b>lento</b>"]);
        assert!(r.by_service.is_empty(), "no service known: no breakdown by service");
        assert_eq!(r.by_channel.len(), 1);
        assert_eq!(r.by_channel[0].averages, None, "four responses are too few to break down");
    }

    #[test]
    fn groups_of_five_or_more_are_broken_down_and_smaller_ones_are_not() {
        let q = Questionnaire::feedback_default();
        let four = answers(&[("rating", "4")]);
        let two = answers(&[("rating", "2")]);
        let mut given = Vec::new();
        for _ in 0..5 {
            given.push(Given {
                channel: SurveyChannel::Email,
                service: Some("Carta d'identità".into()),
                answers: &four,
            });
        }
        given.push(Given { channel: SurveyChannel::Kiosk, service: None, answers: &two });
        let r = Results::tally(&q, &given);
        let email = r.by_channel.iter().find(|g| g.name == GroupName::Channel(SurveyChannel::Email)).unwrap();
        assert_eq!((email.responses, email.averages.clone()), (5, Some(vec![Some(4.0)])));
        let kiosk = r.by_channel.iter().find(|g| g.name == GroupName::Channel(SurveyChannel::Kiosk)).unwrap();
        assert_eq!((kiosk.responses, kiosk.averages.clone()), (1, None));
        assert_eq!(r.by_service.len(), 2);
        assert_eq!(r.by_service[0].name, GroupName::NoService);
        assert_eq!(r.by_service[0].averages, None);
        assert_eq!(r.by_service[1].averages, Some(vec![Some(4.0)]));
    }
}
