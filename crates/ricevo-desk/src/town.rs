//! A town's facts as the use cases need them: the town itself, its zone, a service with its
//! office, an office's hours, closures and holidays, and its webhook subscriptions. Reads go
//! through the catalogue's short memory (see [`crate::catalogue`]).

use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use ricevo_core::holidays::PatronDay;
use ricevo_core::hours::{Closure, OpeningHours, WeeklyRange};
use ricevo_core::service::ServiceRules;
use ricevo_core::slots::{Booked, SlotQuery};
use ricevo_core::{ServiceId, Slug, TenantId};
use ricevo_store::{Office, Service, Tenant, Webhook};

use crate::catalogue::ServiceContext;
use crate::{Desk, DeskError};

/// What the slot engine needs about one office.
#[derive(Debug)]
pub struct OfficeFacts {
    /// The town's zone.
    pub zone: TimeZone,
    /// Weekly hours and desks.
    pub hours: OpeningHours,
    /// Closures.
    pub closures: Vec<Closure>,
    /// The patron saint's day.
    pub patron: Option<PatronDay>,
}

impl OfficeFacts {
    /// The slot engine's question about this office: `rules`' slots between two local days,
    /// given what is `booked` and what time it is.
    pub fn slot_query<'a>(
        &'a self,
        rules: &'a ServiceRules,
        booked: &'a [Booked],
        now: jiff::Timestamp,
        from: Date,
        to: Date,
    ) -> SlotQuery<'a> {
        SlotQuery {
            zone: &self.zone,
            hours: &self.hours,
            closures: &self.closures,
            patron: self.patron,
            service: rules,
            booked,
            now,
            from,
            to,
        }
    }
}

/// The town's time zone, falling back to Rome for a zone the database does not know.
pub fn zone_of(tenant: &Tenant) -> TimeZone {
    TimeZone::get(&tenant.time_zone).unwrap_or_else(|_| TimeZone::get("Europe/Rome").unwrap_or(TimeZone::UTC))
}

/// An instant as the API and webhooks write it: RFC 3339 with the local offset.
pub fn rfc3339(z: &jiff::Zoned) -> String {
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

impl Desk {
    /// A town by its slug; `NotFound` for anything that is not one.
    pub async fn town(&self, slug: &str) -> Result<Tenant, DeskError> {
        if Slug::parse(slug).is_err() {
            return Err(DeskError::NotFound);
        }
        let t = match self.catalogue.tenant(slug) {
            Some(t) => t,
            None => {
                let t = self.store.tenant_by_slug(slug).await?.ok_or(DeskError::NotFound)?;
                self.catalogue.keep_tenant(t.clone());
                t
            }
        };
        // Every channel finds its town here: a suspended one serves nothing.
        if t.disabled { Err(DeskError::Suspended) } else { Ok(t) }
    }

    /// A town by its id (`Suspended` when the instance administrator suspended it).
    pub async fn town_by_id(&self, id: TenantId) -> Result<Tenant, DeskError> {
        let t = self.store.tenants().await?.into_iter().find(|t| t.id == id).ok_or(DeskError::NotFound)?;
        if t.disabled { Err(DeskError::Suspended) } else { Ok(t) }
    }

    /// Loads an office's hours, closures and the town's holidays.
    pub async fn office_facts(&self, tenant: &Tenant, office: &Office) -> Result<OfficeFacts, DeskError> {
        let ranges = self.store.hours(tenant.id, office.id).await?;
        let mut weekly = Vec::new();
        for r in ranges {
            let t = |m: i32| jiff::civil::Time::new((m / 60) as i8, (m % 60) as i8, 0, 0);
            let weekday = jiff::civil::Weekday::from_monday_one_offset(r.weekday as i8);
            if let (Ok(wd), Ok(s), Ok(e)) = (weekday, t(r.start_minute), t(r.end_minute))
                && let Ok(range) = WeeklyRange::new(wd, s, e)
            {
                weekly.push(range);
            }
        }
        let desks = u16::try_from(office.desks).unwrap_or(1).max(1);
        let hours = OpeningHours::new(weekly, desks)
            .or_else(|_| OpeningHours::new(Vec::new(), desks))
            .map_err(|e| DeskError::Internal(e.to_string()))?;
        let closures = self
            .store
            .closures(tenant.id, office.id)
            .await?
            .into_iter()
            .filter_map(|c| Closure::new(c.first_day.parse().ok()?, c.last_day.parse().ok()?, c.reason).ok())
            .collect();
        Ok(OfficeFacts {
            zone: zone_of(tenant),
            hours,
            closures,
            patron: tenant.patron_day.as_deref().and_then(PatronDay::parse),
        })
    }

    /// An active service with its office, both of this town; `ServiceNotFound` otherwise.
    pub async fn service_and_office(
        &self,
        tenant: &Tenant,
        service_id: ServiceId,
    ) -> Result<(Service, Office), DeskError> {
        let service =
            self.store.service(tenant.id, service_id).await?.filter(|s| s.active).ok_or(DeskError::ServiceNotFound)?;
        let office = self.store.office(tenant.id, service.office_id).await?.ok_or(DeskError::ServiceNotFound)?;
        Ok((service, office))
    }

    /// A bookable service with its office and the office's facts, from the catalogue memory.
    pub async fn service_context(
        &self,
        tenant: &Tenant,
        service_id: ServiceId,
    ) -> Result<Arc<ServiceContext>, DeskError> {
        if let Some(ctx) = self.catalogue.service(tenant.id, service_id) {
            return Ok(ctx);
        }
        let (service, office) = self.service_and_office(tenant, service_id).await?;
        let facts = self.office_facts(tenant, &office).await?;
        let ctx = Arc::new(ServiceContext { service, office, facts });
        self.catalogue.keep_service(tenant.id, ctx.clone());
        Ok(ctx)
    }

    /// A town's webhook subscriptions, from the catalogue memory.
    pub async fn webhooks(&self, tenant: &Tenant) -> Result<Arc<Vec<Webhook>>, DeskError> {
        if let Some(hooks) = self.catalogue.webhooks(tenant.id) {
            return Ok(hooks);
        }
        let hooks = Arc::new(self.store.webhooks(tenant.id).await?);
        self.catalogue.keep_webhooks(tenant.id, hooks.clone());
        Ok(hooks)
    }
}
