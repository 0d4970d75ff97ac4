//! Reports of the service: who may see which figures, and the report itself.
//!
//! An administrator sees the whole town; a manager or an operator sees the offices of their
//! grant (and a service of one of them). The instance administrator, who acts through the
//! command line, sees whole towns ([`Desk::town_report`]) to compare them. The figures are
//! counted by the store and folded by `ricevo_core::report`.

use jiff::civil::Date;
use ricevo_core::report::{self, Names, Period, PeriodError, Report};
use ricevo_core::{Lang, OfficeId, ServiceId};
use ricevo_store::{Grant, ReportScope, Role, Tenant};

use crate::town::zone_of;
use crate::{Desk, DeskError};

/// What a report is narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportFilter {
    /// One office.
    pub office: Option<OfficeId>,
    /// One service.
    pub service: Option<ServiceId>,
}

/// Why a period is refused, in the reader's language.
pub fn period_message(e: PeriodError, lang: Lang) -> &'static str {
    match (e, lang) {
        (PeriodError::From(_), Lang::It) => "La data di inizio non è valida: scrivila come AAAA-MM-GG.",
        (PeriodError::From(_), _) => "The first day is not a valid date: write it as YYYY-MM-DD.",
        (PeriodError::To(_), Lang::It) => "La data di fine non è valida: scrivila come AAAA-MM-GG.",
        (PeriodError::To(_), _) => "The last day is not a valid date: write it as YYYY-MM-DD.",
        (PeriodError::Reversed, Lang::It) => "La data di inizio viene dopo quella di fine.",
        (PeriodError::Reversed, _) => "The first day comes after the last.",
        // report::MAX_DAYS, written out (a test holds them equal).
        (PeriodError::TooLong, Lang::It) => "Il periodo è troppo lungo: al massimo 1098 giorni (tre anni).",
        (PeriodError::TooLong, _) => "The period is too long: at most 1098 days (three years).",
    }
}

impl Desk {
    /// Today in the town's zone (the default period ends today).
    pub fn today_in(&self, tenant: &Tenant) -> Date {
        self.now().to_zoned(zone_of(tenant)).date()
    }

    /// Reads a period asked for (`YYYY-MM-DD` each, missing means the default); `Invalid` with
    /// the reason in `lang`.
    pub fn report_period(
        &self,
        tenant: &Tenant,
        from: Option<&str>,
        to: Option<&str>,
        lang: Lang,
    ) -> Result<Period, DeskError> {
        Period::parse(from, to, self.today_in(tenant))
            .map_err(|e| DeskError::Invalid(period_message(e, lang).to_owned()))
    }

    /// The report a member of staff may see: the town for an administrator, the grant's offices
    /// otherwise. An office or service of another town is `NotFound`; one outside the grant
    /// `Forbidden`.
    pub async fn report(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        period: Period,
        filter: ReportFilter,
    ) -> Result<Report, DeskError> {
        if grant.tenant_id != tenant.id {
            return Err(DeskError::Forbidden);
        }
        let mine = (grant.role != Role::Admin).then(|| grant.offices.clone());
        self.report_within(tenant, mine, period, filter).await
    }

    /// The whole town's report, for the instance administrator (the command line).
    pub async fn town_report(&self, tenant: &Tenant, period: Period) -> Result<Report, DeskError> {
        self.report_within(tenant, None, period, ReportFilter::default()).await
    }

    async fn report_within(
        &self,
        tenant: &Tenant,
        mine: Option<Vec<OfficeId>>,
        period: Period,
        filter: ReportFilter,
    ) -> Result<Report, DeskError> {
        let offices = self.store.offices(tenant.id).await?;
        let services = self.store.services(tenant.id).await?;
        let allowed = |o: OfficeId| mine.as_ref().is_none_or(|m| m.contains(&o));
        if let Some(o) = filter.office {
            if !offices.iter().any(|x| x.id == o) {
                return Err(DeskError::NotFound);
            }
            if !allowed(o) {
                return Err(DeskError::Forbidden);
            }
        }
        if let Some(s) = filter.service {
            let Some(service) = services.iter().find(|x| x.id == s) else {
                return Err(DeskError::NotFound);
            };
            if !allowed(service.office_id) || filter.office.is_some_and(|o| o != service.office_id) {
                return Err(if allowed(service.office_id) { DeskError::NotFound } else { DeskError::Forbidden });
            }
        }
        let scoped: Option<Vec<OfficeId>> = match (filter.office, mine) {
            (Some(o), _) => Some(vec![o]),
            (None, mine) => mine,
        };
        let zone = zone_of(tenant);
        let (from, to) = period.bounds(&zone);
        let scope = ReportScope { tenant: tenant.id, from, to, offices: scoped.clone(), service: filter.service };
        let facts = self.store.report_facts(&scope).await?;
        let shown = |o: OfficeId| scoped.as_ref().is_none_or(|s| s.contains(&o));
        let names = Names {
            offices: offices.iter().filter(|o| shown(o.id)).map(|o| (o.id, o.name.clone())).collect(),
            services: services
                .iter()
                .filter(|s| shown(s.office_id) && filter.service.is_none_or(|f| f == s.id))
                .map(|s| (s.id, s.name.clone()))
                .collect(),
        };
        Ok(report::build(period, &zone, &facts, &names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_too_long_message_names_the_real_limit() {
        for lang in [Lang::It, Lang::En] {
            assert!(period_message(PeriodError::TooLong, lang).contains(&report::MAX_DAYS.to_string()));
        }
    }
}
