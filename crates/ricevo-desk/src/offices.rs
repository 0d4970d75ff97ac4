//! Offices, their services, hours and closures: what administrators (every office) and
//! managers (their own offices) change in the town's catalogue. Operators change nothing here.
//!
//! Each change is checked by the core's rules (`ricevo_core::hours`, `ricevo_core::service`),
//! stored, and the catalogue's short memory is forgotten so that booking sees it at once.

use crate::audit::Record;
use jiff::civil::{Date, Time, Weekday};
use ricevo_core::audit::{Act, Subject};
use ricevo_core::citizen::FieldError;
use ricevo_core::hours::{Closure, GRID_MINUTES, HoursError, MAX_DESKS, OpeningHours, WeeklyRange, minutes_of_day};
use ricevo_core::service::check_questions;
use ricevo_core::text::single_line;
use ricevo_core::{Lang, OfficeId, ServiceId};
use ricevo_store::{Grant, NewOffice, NewService, Office, Role, Service, Tenant};

use crate::{Desk, DeskError};

/// The longest reason a closure may give.
pub const MAX_CLOSURE_REASON: usize = 200;

/// An office's week as someone typed it, before the core checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekPlan {
    /// How many citizens the office receives at once.
    pub desks: i32,
    /// The opening ranges, in the order they were typed.
    pub ranges: Vec<PlannedRange>,
}

/// One opening range as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedRange {
    /// The weekday.
    pub weekday: Weekday,
    /// Opens.
    pub start: Time,
    /// Closes.
    pub end: Time,
}

/// The field of the `i`-th range's opening time in a [`WeekPlan`]'s field errors.
pub fn range_start_field(i: usize) -> String {
    format!("ranges[{i}].start")
}

/// The field of the `i`-th range's closing time in a [`WeekPlan`]'s field errors.
pub fn range_end_field(i: usize) -> String {
    format!("ranges[{i}].end")
}

/// Checks a week with the core's rules and reports every problem at once: `desks` (1 to
/// [`MAX_DESKS`]), `ranges[i].start` / `ranges[i].end` (on the five-minute grid, closing after
/// opening, not overlapping an earlier range of the same day) and `hours` (the week as a whole).
pub fn check_hours(plan: &WeekPlan, lang: Lang) -> Result<OpeningHours, Vec<FieldError>> {
    let mut errors = Vec::new();
    let desks = match u16::try_from(plan.desks) {
        Ok(0) => {
            errors.push(FieldError::new("desks", HoursError::NoDesk.message(lang)));
            None
        }
        Ok(n) if n <= MAX_DESKS => Some(n),
        _ => {
            errors.push(FieldError::new("desks", HoursError::TooManyDesks.message(lang)));
            None
        }
    };
    let mut ranges: Vec<WeeklyRange> = Vec::new();
    for (i, planned) in plan.ranges.iter().enumerate() {
        match WeeklyRange::new(planned.weekday, planned.start, planned.end) {
            Ok(r) => {
                let overlaps =
                    ranges.iter().any(|o| o.weekday() == r.weekday() && r.start() < o.end() && o.start() < r.end());
                if overlaps {
                    errors.push(FieldError::new(range_start_field(i), HoursError::Overlap.message(lang)));
                }
                ranges.push(r);
            }
            Err(e) => {
                let off_grid = |t: Time| minutes_of_day(t) % GRID_MINUTES != 0 || t.second() != 0;
                let field = if off_grid(planned.start) { range_start_field(i) } else { range_end_field(i) };
                errors.push(FieldError::new(field, e.message(lang)));
            }
        }
    }
    let Some(desks) = desks.filter(|_| errors.is_empty()) else { return Err(errors) };
    OpeningHours::new(ranges, desks).map_err(|e| vec![FieldError::new("hours", e.message(lang))])
}

/// A closure as someone typed it, before the core checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosurePlan {
    /// The first closed day.
    pub first: Date,
    /// The last closed day.
    pub last: Date,
    /// Why (may be empty).
    pub reason: String,
}

/// Checks a closure with the core's rules: `reason` (one line, at most
/// [`MAX_CLOSURE_REASON`] characters, may be empty) and `last_day` (not before the first).
pub fn check_closure(plan: &ClosurePlan, lang: Lang) -> Result<Closure, Vec<FieldError>> {
    let (first, last, reason) = (plan.first, plan.last, plan.reason.as_str());
    let reason = if reason.trim().is_empty() {
        Ok(String::new())
    } else {
        single_line(reason, MAX_CLOSURE_REASON).map_err(|e| FieldError::new("reason", e.message(lang)))
    };
    let closure = Closure::new(first, last, String::new()).map_err(|e| FieldError::new("last_day", e.message(lang)));
    match (reason, closure) {
        (Ok(reason), Ok(_)) => {
            Closure::new(first, last, reason).map_err(|e| vec![FieldError::new("last_day", e.message(lang))])
        }
        (reason, closure) => Err(reason.err().into_iter().chain(closure.err()).collect()),
    }
}

impl Desk {
    /// An office of this town that `grant` manages: `Forbidden` for an operator (who may not
    /// even learn which offices exist) or an office of someone else, `NotFound` for no such
    /// office in this town.
    pub async fn managed_office(&self, tenant: &Tenant, grant: &Grant, id: OfficeId) -> Result<Office, DeskError> {
        if grant.tenant_id != tenant.id || grant.role == Role::Operator {
            return Err(DeskError::Forbidden);
        }
        let office = self.store.office(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        if !grant.manages_office(office.id) {
            return Err(DeskError::Forbidden);
        }
        Ok(office)
    }

    /// A service of this town with its office, if `grant` manages that office (see
    /// [`Desk::managed_office`]).
    pub async fn managed_service(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: ServiceId,
    ) -> Result<(Service, Office), DeskError> {
        if grant.tenant_id != tenant.id || grant.role == Role::Operator {
            return Err(DeskError::Forbidden);
        }
        let service = self.store.service(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        let office = self.managed_office(tenant, grant, service.office_id).await?;
        Ok((service, office))
    }

    /// Creates an office (administrators only), with one desk and no hours yet.
    pub async fn create_office(&self, tenant: &Tenant, grant: &Grant, new: &NewOffice) -> Result<Office, DeskError> {
        crate::staff::require_admin(tenant, grant)?;
        let office = self.store.create_office(tenant.id, new).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, office = %office.id, "office created");
        self.record(grant, Record::new(Act::OfficeChanged, Subject::Office(office.id)).detail("created")).await;
        Ok(office)
    }

    /// Replaces an office's name, description, address and e-mail.
    pub async fn update_office(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: OfficeId,
        new: &NewOffice,
    ) -> Result<(), DeskError> {
        let office = self.managed_office(tenant, grant, id).await?;
        self.store.update_office(tenant.id, office.id, new).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, office = %office.id, "office updated");
        self.record(grant, Record::new(Act::OfficeChanged, Subject::Office(office.id)).detail("description")).await;
        Ok(())
    }

    /// Replaces an office's weekly hours and desks, checked by [`check_hours`] (`Fields`
    /// worded in `lang` when refused).
    pub async fn set_hours(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: OfficeId,
        plan: &WeekPlan,
        lang: Lang,
    ) -> Result<OpeningHours, DeskError> {
        let office = self.managed_office(tenant, grant, id).await?;
        let hours = check_hours(plan, lang).map_err(DeskError::Fields)?;
        self.store.set_hours(tenant.id, office.id, &hours).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, office = %office.id, "hours set");
        self.record(grant, Record::new(Act::OfficeChanged, Subject::Office(office.id)).detail("hours")).await;
        // New hours or desks may free slots for the waitlist.
        self.slot_freed(tenant, office.id).await;
        Ok(hours)
    }

    /// Closes an office for some days, checked by [`check_closure`];
    /// returns the closure's id.
    pub async fn add_closure(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: OfficeId,
        plan: &ClosurePlan,
        lang: Lang,
    ) -> Result<i64, DeskError> {
        let office = self.managed_office(tenant, grant, id).await?;
        let closure = check_closure(plan, lang).map_err(DeskError::Fields)?;
        let closure_id = self.store.add_closure(tenant.id, office.id, &closure).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, office = %office.id, closure = closure_id, "closure added");
        self.record(
            grant,
            Record::new(Act::OfficeChanged, Subject::Office(office.id)).detail(format!("closure {closure_id} added")),
        )
        .await;
        Ok(closure_id)
    }

    /// Removes one of an office's closures (`NotFound` if it is not one of this office's).
    pub async fn delete_closure(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: OfficeId,
        closure: i64,
    ) -> Result<(), DeskError> {
        let office = self.managed_office(tenant, grant, id).await?;
        self.store.delete_closure(tenant.id, office.id, closure).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, office = %office.id, closure, "closure deleted");
        self.record(
            grant,
            Record::new(Act::OfficeChanged, Subject::Office(office.id)).detail(format!("closure {closure} removed")),
        )
        .await;
        // The days it closed are open again: the waitlist may take them.
        self.slot_freed(tenant, office.id).await;
        Ok(())
    }

    /// Creates a service in an office `grant` manages. Its rules were checked when they were
    /// built (`ServiceRules::new`); its intake questions are checked here (`Invalid`, worded
    /// in `lang`).
    pub async fn create_service(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        new: &NewService,
        lang: Lang,
    ) -> Result<Service, DeskError> {
        let office = self.managed_office(tenant, grant, new.office_id).await?;
        check_questions(&new.questions, lang).map_err(DeskError::Invalid)?;
        let service = self.store.create_service(tenant.id, new).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, office = %office.id, service = %service.id, "service created");
        self.record(grant, Record::new(Act::OfficeChanged, Subject::Service(service.id)).detail("service created"))
            .await;
        Ok(service)
    }

    /// Replaces a service; `grant` must manage both the office it is in and the office
    /// `new` puts it in.
    pub async fn update_service(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: ServiceId,
        new: &NewService,
        lang: Lang,
    ) -> Result<(), DeskError> {
        let (service, _) = self.managed_service(tenant, grant, id).await?;
        if new.office_id != service.office_id {
            self.managed_office(tenant, grant, new.office_id).await?;
        }
        check_questions(&new.questions, lang).map_err(DeskError::Invalid)?;
        self.store.update_service(tenant.id, service.id, new).await?;
        self.catalogue.forget();
        tracing::info!(tenant = %tenant.slug, service = %service.id, "service updated");
        self.record(grant, Record::new(Act::OfficeChanged, Subject::Service(service.id)).detail("service changed"))
            .await;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn range(weekday: Weekday, start: Time, end: Time) -> PlannedRange {
        PlannedRange { weekday, start, end }
    }

    #[test]
    fn a_week_is_checked_range_by_range_and_each_problem_named() {
        let ok = WeekPlan {
            desks: 2,
            ranges: vec![
                range(Weekday::Monday, time(9, 0, 0, 0), time(12, 30, 0, 0)),
                range(Weekday::Monday, time(15, 0, 0, 0), time(17, 0, 0, 0)),
            ],
        };
        let hours = check_hours(&ok, Lang::En).unwrap();
        assert_eq!((hours.desks(), hours.ranges().len()), (2, 2));

        let bad = WeekPlan {
            desks: 0,
            ranges: vec![
                range(Weekday::Tuesday, time(12, 0, 0, 0), time(9, 0, 0, 0)),
                range(Weekday::Wednesday, time(9, 3, 0, 0), time(10, 0, 0, 0)),
                range(Weekday::Friday, time(9, 0, 0, 0), time(12, 0, 0, 0)),
                range(Weekday::Friday, time(11, 0, 0, 0), time(13, 0, 0, 0)),
            ],
        };
        let errors = check_hours(&bad, Lang::En).unwrap_err();
        let field = |name: &str| errors.iter().find(|e| e.field == name).map(|e| e.message);
        assert_eq!(field("desks"), Some("At least one desk is needed."));
        assert_eq!(field("ranges[0].end"), Some(HoursError::EndsBeforeStart.message(Lang::En)));
        assert_eq!(field("ranges[1].start"), Some(HoursError::OffGrid.message(Lang::En)));
        assert_eq!(field("ranges[3].start"), Some(HoursError::Overlap.message(Lang::En)));
        assert_eq!(errors.len(), 4);

        let too_many = WeekPlan { desks: 100, ranges: Vec::new() };
        assert_eq!(check_hours(&too_many, Lang::It).unwrap_err()[0].message, "Indica da 1 a 99 sportelli.");
    }

    #[test]
    fn a_closure_ends_on_or_after_its_first_day_and_gives_a_one_line_reason() {
        let plan = |first, last, reason: &str| ClosurePlan { first, last, reason: reason.into() };
        let c = check_closure(&plan(date(2026, 8, 10), date(2026, 8, 14), "Ferie"), Lang::It).unwrap();
        assert_eq!((c.first(), c.last(), c.reason()), (date(2026, 8, 10), date(2026, 8, 14), "Ferie"));
        let errors = check_closure(&plan(date(2026, 8, 14), date(2026, 8, 10), "a\nb"), Lang::En).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["reason", "last_day"]);
    }
}
