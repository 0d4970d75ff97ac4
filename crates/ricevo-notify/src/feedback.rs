//! The follow-up e-mail after a contact with the office (a video meeting, a visit, a phone
//! call, a walk-in ticket): a short thank-you and the personal link to the feedback
//! questionnaire, in Italian ("tu", as every citizen page) or English.

use ricevo_core::Lang;
use ricevo_core::feedback::ContactMode;
use serde::{Deserialize, Serialize};

use crate::email::{Action, Detail, Doc, Envelope, Link, OutgoingEmail, footer, one_line, without_invite};

/// Everything the follow-up e-mail needs, resolved by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackNotice {
    /// Names the contact for good (`appointment:ID`, `ticket:O:D:N`); the Message-ID derives from it.
    pub uid: String,
    /// The town, shown as the sender's name.
    pub tenant_name: String,
    /// The town's address for replies.
    pub tenant_email: String,
    /// The office met.
    pub office_name: String,
    /// The service, if any (a walk-in ticket has none).
    pub service_name: String,
    /// How the contact happened.
    pub mode: ContactMode,
    /// The citizen's name as given.
    pub citizen_name: String,
    /// Where the citizen gets the message.
    pub citizen_email: String,
    /// The personal link to the questionnaire.
    pub link: String,
    /// Until when the link works, written for people ("lunedì 4 gennaio 2027").
    pub valid_until: String,
    /// The citizen's language.
    pub lang: Lang,
}

fn contact_words(mode: ContactMode, lang: Lang) -> &'static str {
    match (mode, lang) {
        (ContactMode::Video, Lang::It) => "videochiamata",
        (ContactMode::InPerson, Lang::It) => "appuntamento in presenza",
        (ContactMode::Phone, Lang::It) => "telefonata",
        (ContactMode::WalkIn, Lang::It) => "sportello senza appuntamento",
        (ContactMode::Video, Lang::En) => "video call",
        (ContactMode::InPerson, Lang::En) => "visit",
        (ContactMode::Phone, Lang::En) => "phone call",
        (ContactMode::WalkIn, Lang::En) => "walk-in desk",
    }
}

/// Renders the follow-up e-mail of `n`, sent from `from_address` in the name of the town.
pub fn render_feedback(n: &FeedbackNotice, from_address: &str) -> OutgoingEmail {
    let it = n.lang == Lang::It;
    let (tenant, office) = (n.tenant_name.trim(), n.office_name.trim());
    let subject = one_line(&if it {
        format!("Com'è andata con {office}? Dicci la tua")
    } else {
        format!("How did it go with {office}? Tell us")
    });
    let mut details =
        vec![Detail { label: if it { "Ufficio" } else { "Office" }, text: office.to_owned(), link: None }];
    if !n.service_name.trim().is_empty() {
        details.push(Detail {
            label: if it { "Servizio" } else { "Service" },
            text: n.service_name.trim().to_owned(),
            link: None,
        });
    }
    details.push(Detail {
        label: if it { "Contatto" } else { "Contact" },
        text: contact_words(n.mode, n.lang).to_owned(),
        link: None,
    });
    let doc = Doc {
        lang: n.lang,
        title: if it { "Com'è andata?".into() } else { "How did it go?".into() },
        greeting: format!("{} {},", if it { "Gentile" } else { "Dear" }, one_line(&n.citizen_name)),
        intro: if it {
            format!(
                "grazie per aver usato i servizi di {tenant}. Ci aiuti a migliorarli? Bastano un minuto e \
                 qualche clic; le risposte sono anonime."
            )
        } else {
            format!(
                "Thank you for using the services of {tenant}. Will you help us improve them? It takes a minute \
                 and a few clicks; answers are anonymous."
            )
        },
        details,
        actions: vec![Action {
            lead: if it {
                format!("Il link è personale e vale fino a {}:", one_line(&n.valid_until))
            } else {
                format!("The link is personal and works until {}:", one_line(&n.valid_until))
            },
            link: Link {
                url: n.link.clone(),
                label: if it { "Rispondi al questionario" } else { "Answer the questionnaire" }.into(),
            },
        }],
        sign_off: if it { "Grazie e cordiali saluti," } else { "Thank you and kind regards," }.into(),
        signature: format!("{tenant} – {office}"),
        footer: footer(n.lang, tenant),
    };
    let envelope = Envelope {
        to: (&n.citizen_name, &n.citizen_email),
        town: (&n.tenant_name, &n.tenant_email),
        from_address,
        uid: &n.uid,
        kind: "feedback",
    };
    without_invite(&doc, subject, &envelope, None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample(lang: Lang) -> FeedbackNotice {
        FeedbackNotice {
            uid: "appointment:42".into(),
            tenant_name: "Comune di Serrastretta".into(),
            tenant_email: "protocollo@comune.example.it".into(),
            office_name: "Ufficio Anagrafe".into(),
            service_name: "Carta d'identità".into(),
            mode: ContactMode::InPerson,
            citizen_name: "Maria <b>Rossi</b>".into(),
            citizen_email: "maria.rossi@example.org".into(),
            link: "https://ricevo.example.it/serrastretta/feedback/tok?x=<y>".into(),
            valid_until: "lunedì 4 gennaio 2027".into(),
            lang,
        }
    }

    #[test]
    fn the_follow_up_says_tu_in_italian_and_carries_the_personal_link() {
        let e = render_feedback(&sample(Lang::It), "noreply@ricevo.example.it");
        assert!(e.subject.contains("Ufficio Anagrafe"), "{}", e.subject);
        assert!(e.text.contains("Ci aiuti a migliorarli?"), "{}", e.text);
        assert!(e.text.contains("vale fino a lunedì 4 gennaio 2027"));
        assert!(e.text.contains("https://ricevo.example.it/serrastretta/feedback/tok"));
        assert!(e.html.contains("Rispondi al questionario"));
        assert!(!e.html.contains("<b>Rossi"), "names are escaped in HTML");
        assert!(e.ics.is_none());
        crate::to_eml(&e).unwrap();
    }

    #[test]
    fn the_english_follow_up_and_its_message_id_are_stable() {
        let a = render_feedback(&sample(Lang::En), "noreply@ricevo.example.it");
        let b = render_feedback(&sample(Lang::En), "noreply@ricevo.example.it");
        assert!(a.text.contains("Will you help us improve them?"), "{}", a.text);
        assert!(a.text.contains("Contact: visit"));
        assert_eq!(a.message_id, b.message_id, "a redelivery is recognised as the same message");
        let other =
            render_feedback(&FeedbackNotice { uid: "ticket:3:2026-12-07:4".into(), ..sample(Lang::En) }, "x@y.it");
        assert_ne!(a.message_id, other.message_id);
    }
}
