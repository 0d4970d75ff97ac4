//! The demo town "Comune di Esempio" (slug `demo`), loaded on first start of an empty database.

use jiff::civil::{Time, Weekday};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::{IntakeQuestion, QuestionKind, ServiceRules};
use ricevo_core::{Mode, OfficeId};
use ricevo_store::{NewOffice, NewService, NewTenant, Role, Store, StoreError, Tenant};

/// The demo town's slug.
pub const DEMO_SLUG: &str = "demo";
/// The demo administrator's login.
pub const DEMO_ADMIN_EMAIL: &str = "admin@esempio.it";

/// What loading the demo created.
#[derive(Debug)]
pub struct Demo {
    /// The town.
    pub tenant: Tenant,
    /// The administrator's generated password (shown once).
    pub admin_password: String,
}

/// The privacy notice of the demo town (a town replaces it with its own).
pub const DEMO_PRIVACY: &str = "Il Comune di Esempio, titolare del trattamento, tratta i dati personali forniti \
(nome, e-mail, telefono, codice fiscale, note) al solo fine di gestire l'appuntamento richiesto, ai sensi degli \
artt. 6 e 13 del Regolamento (UE) 2016/679. I dati sono conservati per 365 giorni e poi resi anonimi. \
Puoi esercitare i diritti di accesso, rettifica e cancellazione scrivendo a urp@esempio.it.";

fn t(h: i8, m: i8) -> Time {
    Time::new(h, m, 0, 0).unwrap_or(Time::midnight())
}

// Monday to Friday mornings 9:00-12:30, plus Tuesday and Thursday afternoons 15:00-17:00.
fn weekday_hours(desks: u16) -> Result<OpeningHours, StoreError> {
    let mut ranges = Vec::new();
    let days = [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday];
    for d in days {
        ranges.push(WeeklyRange::new(d, t(9, 0), t(12, 30)).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    }
    for d in [Weekday::Tuesday, Weekday::Thursday] {
        ranges.push(WeeklyRange::new(d, t(15, 0), t(17, 0)).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    }
    OpeningHours::new(ranges, desks).map_err(|e| StoreError::Corrupt(e.to_string()))
}

async fn office(
    store: &dyn Store,
    tenant: &Tenant,
    name: &str,
    description: &str,
    email: &str,
    desks: u16,
) -> Result<OfficeId, StoreError> {
    let o = store
        .create_office(
            tenant.id,
            &NewOffice {
                name: name.into(),
                description: description.into(),
                address: "Piazza del Municipio 1, 00100 Esempio".into(),
                contact_email: email.into(),
            },
        )
        .await?;
    store.set_hours(tenant.id, o.id, &weekday_hours(desks)?).await?;
    Ok(o.id)
}

#[allow(clippy::too_many_arguments)]
async fn service(
    store: &dyn Store,
    tenant: &Tenant,
    office: OfficeId,
    name: &str,
    description: &str,
    minutes: i32,
    modes: Vec<Mode>,
    bring: &str,
    questions: Vec<IntakeQuestion>,
) -> Result<(), StoreError> {
    let rules = ServiceRules::new(minutes, 5, modes, 2, 60).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office,
                name: name.into(),
                description: description.into(),
                rules,
                what_to_bring: bring.into(),
                questions,
                active: true,
            },
        )
        .await?;
    Ok(())
}

/// Loads the demo town; `password_hash` turns the generated password into its stored form.
pub async fn load(store: &dyn Store, password_hash: impl Fn(&str) -> String) -> Result<Demo, StoreError> {
    let tenant = store
        .create_tenant(&NewTenant {
            slug: DEMO_SLUG.into(),
            name: "Comune di Esempio".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: Some("06-29".into()),
            contact_email: "urp@esempio.it".into(),
            privacy_notice: DEMO_PRIVACY.into(),
            retention_days: 365,
        })
        .await?;
    let all = vec![Mode::Video, Mode::InPerson, Mode::Phone];
    let anagrafe = office(
        store,
        &tenant,
        "Anagrafe",
        "Servizi demografici: carta d'identità, residenza, certificati.",
        "anagrafe@esempio.it",
        2,
    )
    .await?;
    service(
        store,
        &tenant,
        anagrafe,
        "Carta d'identità elettronica",
        "Richiesta o rinnovo della carta d'identità elettronica (CIE).",
        20,
        vec![Mode::InPerson],
        "Una fototessera recente, la vecchia carta d'identità o una denuncia di smarrimento, la tessera sanitaria.",
        vec![IntakeQuestion {
            key: "tipo".into(),
            label: "Si tratta di primo rilascio o di rinnovo?".into(),
            kind: QuestionKind::Choice {
                options: vec!["Primo rilascio".into(), "Rinnovo".into(), "Smarrimento o furto".into()],
            },
            required: true,
        }],
    )
    .await?;
    service(
        store,
        &tenant,
        anagrafe,
        "Cambio di residenza",
        "Dichiarazione di residenza o cambio di indirizzo.",
        30,
        all.clone(),
        "Un documento d'identità e i dati di chi si trasferisce con te.",
        vec![],
    )
    .await?;
    let tributi = office(store, &tenant, "Tributi", "Tasse e tributi comunali.", "tributi@esempio.it", 1).await?;
    service(
        store,
        &tenant,
        tributi,
        "TARI / IMU",
        "Chiarimenti su TARI e IMU, avvisi di pagamento, rateizzazioni.",
        20,
        all.clone(),
        "L'avviso di pagamento, se lo hai.",
        vec![],
    )
    .await?;
    let sue = office(store, &tenant, "Edilizia / SUE", "Sportello unico per l'edilizia.", "sue@esempio.it", 1).await?;
    service(
        store,
        &tenant,
        sue,
        "Consulenza tecnica",
        "Incontro con il tecnico comunale su pratiche edilizie (CILA, SCIA, permessi di costruire).",
        45,
        vec![Mode::Video],
        "Gli elaborati del progetto in PDF, da condividere sullo schermo.",
        vec![IntakeQuestion {
            key: "tecnico".into(),
            label: "Parteciperà anche un tecnico di fiducia?".into(),
            kind: QuestionKind::YesNo,
            required: false,
        }],
    )
    .await?;
    let polizia =
        office(store, &tenant, "Polizia Municipale", "Verbali, permessi, segnalazioni.", "polizia@esempio.it", 1)
            .await?;
    service(
        store,
        &tenant,
        polizia,
        "Colloquio con la Polizia Municipale",
        "Verbali, ricorsi, permessi di transito e sosta.",
        15,
        all.clone(),
        "Il verbale o la documentazione relativa.",
        vec![],
    )
    .await?;
    let sindaco =
        office(store, &tenant, "Ufficio del Sindaco", "Ricevimento del Sindaco.", "sindaco@esempio.it", 1).await?;
    service(
        store,
        &tenant,
        sindaco,
        "Incontro con il Sindaco",
        "Un incontro con il Sindaco per proposte e segnalazioni.",
        30,
        vec![Mode::Video, Mode::InPerson],
        "",
        vec![],
    )
    .await?;
    // The URP keeps a walk-in virtual desk open at all hours, so anyone can try a meeting
    // with two browser tabs: one takes a ticket, the other is the official.
    let urp = office(
        store,
        &tenant,
        "URP – Ufficio Relazioni con il Pubblico",
        "Informazioni, segnalazioni e orientamento ai servizi del Comune. Sportello virtuale sempre aperto.",
        "urp@esempio.it",
        1,
    )
    .await?;
    let always = ricevo_core::lobby::WalkInDesk { always_open: true, ..Default::default() };
    store.set_walk_in(tenant.id, urp, &always).await?;
    let admin_password = ricevo_desk::tokens::new_public_id();
    store
        .create_user(tenant.id, DEMO_ADMIN_EMAIL, "Amministratore", Role::Admin, &password_hash(&admin_password), &[])
        .await?;
    Ok(Demo { tenant, admin_password })
}
