//! The counts behind a report of the service (`ricevo_core::report`). Every figure is
//! aggregated by the database: the statements return grouped rows (a few per office, service,
//! channel, mode and status; one per distinct wait, meeting length or lead time), never one row
//! per appointment, so a period of a million appointments costs one scan and little memory.
//! The statements live in `impl_reports!`, which both engines expand.

use jiff::Timestamp;
use ricevo_core::{OfficeId, ServiceId, TenantId};

/// What a report covers: one town, a period, and optionally some offices or one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportScope {
    /// The town.
    pub tenant: TenantId,
    /// From (included).
    pub from: Timestamp,
    /// To (excluded).
    pub to: Timestamp,
    /// Only these offices (`None`: the whole town).
    pub offices: Option<Vec<OfficeId>>,
    /// Only this service.
    pub service: Option<ServiceId>,
}

impl ReportScope {
    /// The condition on a table aliased `alias` with the town in `$1`, the period in `$2` and
    /// `$3` on column `at`, and the office and service filters. Ids are numbers, written into
    /// the statement as such (no text from outside reaches it).
    pub(crate) fn condition(&self, alias: &str, at: &str, service_alias: Option<&str>) -> String {
        let mut sql = format!("{alias}.tenant_id = $1 AND {alias}.{at} >= $2 AND {alias}.{at} < $3");
        if let Some(offices) = &self.offices {
            let list: Vec<String> = offices.iter().map(|o| o.0.to_string()).collect();
            // No office at all selects nothing (an official with no office sees nothing).
            let list = if list.is_empty() { "NULL".to_owned() } else { list.join(", ") };
            sql.push_str(&format!(" AND {alias}.office_id IN ({list})"));
        }
        if let Some(service) = self.service {
            let column = service_alias.unwrap_or(alias);
            sql.push_str(&format!(" AND {column}.service_id = {}", service.0));
        }
        sql
    }
}

/// Implements the report statements for a store type with a `reader` pool of engine `$db`.
macro_rules! impl_reports {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn reports_facts(
                &self,
                scope: &$crate::ReportScope,
            ) -> Result<ricevo_core::report::Facts> {
                use ricevo_core::report::{AppointmentCount, BookedVia, Bucket, RatingCount, Tickets};
                use ricevo_core::{AppointmentStatus, Mode, OfficeId, ServiceId};
                let bind = |sql: String| (sql, scope.tenant.0, scope.from.as_second(), scope.to.as_second());
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                let mut facts = ricevo_core::report::Facts::default();

                let (sql, t, f, to) = bind(format!(
                    "SELECT a.office_id, a.service_id, a.booked_via, a.mode, a.status, COUNT(*), \
                     CAST(SUM(a.sequence - CASE WHEN a.status = 'cancelled' THEN 1 ELSE 0 END) AS BIGINT) \
                     FROM appointments a WHERE {} GROUP BY a.office_id, a.service_id, a.booked_via, a.mode, a.status",
                    scope.condition("a", "start_at", None)
                ));
                let rows: Vec<(i64, i64, String, String, String, i64, Option<i64>)> =
                    sqlx::query_as(&sql).bind(t).bind(f).bind(to).fetch_all(&self.reader).await?;
                for (office, service, via, mode, status, n, moves) in rows {
                    let (Some(mode), Some(status)) = (Mode::parse(&mode), AppointmentStatus::parse(&status)) else {
                        continue;
                    };
                    facts.appointments.push(AppointmentCount {
                        office: OfficeId(office),
                        service: ServiceId(service),
                        via: BookedVia::parse(&via),
                        mode,
                        status,
                        count: count(n),
                        moves: count(moves.unwrap_or(0)),
                    });
                }

                let (sql, t, f, to) = bind(format!(
                    "SELECT a.start_at / 3600, COUNT(*) FROM appointments a WHERE {} AND a.status <> 'cancelled' \
                     GROUP BY a.start_at / 3600",
                    scope.condition("a", "start_at", None)
                ));
                let rows: Vec<(i64, i64)> = sqlx::query_as(&sql).bind(t).bind(f).bind(to).fetch_all(&self.reader).await?;
                facts.hours = rows.into_iter().map(|(h, n)| (h, count(n))).collect();

                let buckets = |rows: Vec<(i64, Option<i64>, i64, i64)>| -> Vec<Bucket> {
                    rows.into_iter()
                        .map(|(office, service, value, n)| Bucket {
                            office: OfficeId(office),
                            service: service.map(ServiceId),
                            value,
                            count: count(n),
                        })
                        .collect()
                };

                let (sql, t, f, to) = bind(format!(
                    "SELECT a.office_id, a.service_id, (a.start_at - a.created_at) / 3600, COUNT(*) FROM appointments a \
                     WHERE {} AND a.status <> 'cancelled' GROUP BY a.office_id, a.service_id, (a.start_at - a.created_at) / 3600",
                    scope.condition("a", "start_at", None)
                ));
                let rows = sqlx::query_as(&sql).bind(t).bind(f).bind(to).fetch_all(&self.reader).await?;
                facts.leads = buckets(rows);

                // A ticket has no service: narrowed to a service, only appointments' places count.
                let (sql, t, f, to) = bind(format!(
                    "SELECT e.office_id, a.service_id, e.admitted_at - e.arrived_at, COUNT(*) FROM entries e \
                     LEFT JOIN appointments a ON a.id = e.appointment_id \
                     WHERE {} AND e.kind IN ('appointment', 'ticket') AND e.admitted_at IS NOT NULL \
                     GROUP BY e.office_id, a.service_id, e.admitted_at - e.arrived_at",
                    scope.condition("e", "arrived_at", Some("a"))
                ));
                let rows = sqlx::query_as(&sql).bind(t).bind(f).bind(to).fetch_all(&self.reader).await?;
                facts.waits = buckets(rows);

                let (sql, t, f, to) = bind(format!(
                    "SELECT m.office_id, a.service_id, m.ended_at - m.started_at, COUNT(*) FROM meetings m \
                     LEFT JOIN appointments a ON a.id = m.appointment_id \
                     WHERE {} AND m.ended_at IS NOT NULL GROUP BY m.office_id, a.service_id, m.ended_at - m.started_at",
                    scope.condition("m", "started_at", Some("a"))
                ));
                let rows = sqlx::query_as(&sql).bind(t).bind(f).bind(to).fetch_all(&self.reader).await?;
                facts.meetings = buckets(rows);

                if scope.service.is_none() {
                    let (sql, t, f, to) = bind(format!(
                        "SELECT e.office_id, COUNT(*), \
                         CAST(SUM(CASE WHEN e.admitted_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
                         CAST(SUM(CASE WHEN e.admitted_at IS NULL AND e.status IN ('left', 'cancelled', 'no_show') \
                         THEN 1 ELSE 0 END) AS BIGINT) \
                         FROM entries e WHERE {} AND e.kind = 'ticket' GROUP BY e.office_id",
                        scope.condition("e", "arrived_at", None)
                    ));
                    let rows: Vec<(i64, i64, Option<i64>, Option<i64>)> =
                        sqlx::query_as(&sql).bind(t).bind(f).bind(to).fetch_all(&self.reader).await?;
                    facts.tickets = rows
                        .into_iter()
                        .map(|(office, taken, served, abandoned)| {
                            let tickets = Tickets {
                                taken: count(taken),
                                served: count(served.unwrap_or(0)),
                                abandoned: count(abandoned.unwrap_or(0)),
                            };
                            (OfficeId(office), tickets)
                        })
                        .collect();
                }

                let (sql, t, f, to) = bind(format!(
                    "SELECT r.office_id, r.service_id, CAST(r.rating AS BIGINT), COUNT(*) FROM survey_responses r \
                     WHERE {} AND r.channel = 'after_contact' AND r.rating BETWEEN 1 AND 5 \
                     GROUP BY r.office_id, r.service_id, r.rating",
                    scope.condition("r", "submitted_at", None)
                ));
                let rows: Vec<(Option<i64>, Option<i64>, i64, i64)> =
                    sqlx::query_as(&sql).bind(t).bind(f).bind(to).fetch_all(&self.reader).await?;
                facts.ratings = rows
                    .into_iter()
                    .filter_map(|(office, service, rating, n)| {
                        Some(RatingCount {
                            office: office.map(OfficeId),
                            service: service.map(ServiceId),
                            rating: u8::try_from(rating).ok()?,
                            count: count(n),
                        })
                    })
                    .collect();
                Ok(facts)
            }
        }
    };
}

pub(crate) use impl_reports;
