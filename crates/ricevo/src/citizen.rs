//! `ricevo citizen export|erase`: a citizen's data on request (GDPR), as a town's
//! administrator would in the staff pages, for an IT office's scripts. The citizen is found by
//! one key within the one town named.

use clap::{Args, Subcommand};
use ricevo_core::Lang;
use ricevo_desk::privacy::CitizenKey;
use ricevo_desk::staff::town_administrator;
use ricevo_desk::{Desk, DeskError};
use ricevo_store::Tenant;

/// The citizen's key: exactly one of the three.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct KeyArgs {
    /// The citizen's e-mail address.
    #[arg(long)]
    email: Option<String>,
    /// The citizen's phone number, however written.
    #[arg(long)]
    phone: Option<String>,
    /// The citizen's codice fiscale.
    #[arg(long)]
    fiscal_code: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CitizenCommand {
    /// Print everything the town holds about a citizen as JSON on standard output.
    Export {
        /// Town slug.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Erase a citizen's data: appointments anonymised, waiting-room names removed, documents
    /// and queued messages deleted. Refused while an appointment is still to come.
    Erase {
        /// Town slug.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        key: KeyArgs,
        /// Confirms the erasure (it cannot be undone).
        #[arg(long)]
        yes: bool,
    },
}

fn key_of(k: &KeyArgs) -> Result<CitizenKey, String> {
    CitizenKey::parse(k.email.as_deref(), k.phone.as_deref(), k.fiscal_code.as_deref(), Lang::En).map_err(|e| match e {
        DeskError::Fields(fields) => {
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        DeskError::Invalid(m) => m,
        other => other.to_string(),
    })
}

fn refusal(e: DeskError) -> String {
    match e {
        DeskError::ActiveAppointments(ids) => format!(
            "the citizen still has appointments to come ({}): cancel them first from the staff pages \
             (the citizen is told and the seats are freed), then erase",
            ids.join(", ")
        ),
        other => other.to_string(),
    }
}

/// Runs a `citizen` command in town `t`; returns what to print.
pub(crate) async fn run(desk: &Desk, t: &Tenant, command: &CitizenCommand) -> Result<String, String> {
    let admin = town_administrator(t.id);
    match command {
        CitizenCommand::Export { key, .. } => {
            let key = key_of(key)?;
            let record = desk.citizen_record(t, &admin, &key).await.map_err(refusal)?;
            let export = ricevo_web::gdpr::export_from(&**desk.store(), t, &key, &record, desk.now())
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&export).map_err(|e| e.to_string())
        }
        CitizenCommand::Erase { key, yes, .. } => {
            let key = key_of(key)?;
            if !yes {
                return Err("erasing cannot be undone: add --yes to confirm".into());
            }
            let counts = desk.erase_citizen(t, &admin, &key).await.map_err(refusal)?;
            let view = ricevo_web::gdpr::ErasureView::from(counts);
            serde_json::to_string_pretty(&view).map_err(|e| e.to_string())
        }
    }
}

impl CitizenCommand {
    /// The town the command names.
    pub(crate) fn tenant(&self) -> &str {
        match self {
            CitizenCommand::Export { tenant, .. } | CitizenCommand::Erase { tenant, .. } => tenant,
        }
    }
}
