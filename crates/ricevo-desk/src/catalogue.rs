//! A short-lived memory of each town's catalogue (towns, services with their office, hours and
//! closures, webhooks), so that a burst of bookings does not read the same rows thousands of
//! times a second.
//!
//! Entries live two seconds. Staff changes on this node forget everything at once; another
//! node sees them within two seconds. Capacity never depends on it: the seats table decides
//! every booking inside its transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ricevo_core::{ServiceId, TenantId};
use ricevo_store::{Office, Service, Tenant, Webhook};

use crate::town::OfficeFacts;

/// How long an entry is trusted.
pub const FRESH: Duration = Duration::from_secs(2);

/// What booking a service needs to know.
#[derive(Debug)]
pub struct ServiceContext {
    /// The service.
    pub service: Service,
    /// Its office.
    pub office: Office,
    /// The office's hours, closures and holidays.
    pub facts: OfficeFacts,
}

type Entry<T> = (Instant, T);
type Memory<K, T> = Mutex<HashMap<K, Entry<T>>>;

/// The memory itself.
#[derive(Debug, Default)]
pub struct Catalogue {
    tenants: Memory<String, Tenant>,
    services: Memory<(TenantId, ServiceId), Arc<ServiceContext>>,
    webhooks: Memory<TenantId, Arc<Vec<Webhook>>>,
}

fn fresh<K: std::hash::Hash + Eq, T: Clone>(map: &Memory<K, T>, key: &K) -> Option<T> {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.get(key).filter(|(at, _)| at.elapsed() < FRESH).map(|(_, v)| v.clone())
}

fn keep<K: std::hash::Hash + Eq, T>(map: &Memory<K, T>, key: K, value: T) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > 10_000 {
        map.retain(|_, (at, _)| at.elapsed() < FRESH);
    }
    map.insert(key, (Instant::now(), value));
}

impl Catalogue {
    /// A town by slug, if remembered.
    pub fn tenant(&self, slug: &str) -> Option<Tenant> {
        fresh(&self.tenants, &slug.to_owned())
    }
    /// Remembers a town.
    pub fn keep_tenant(&self, tenant: Tenant) {
        keep(&self.tenants, tenant.slug.clone(), tenant);
    }
    /// A service's context, if remembered.
    pub fn service(&self, tenant: TenantId, service: ServiceId) -> Option<Arc<ServiceContext>> {
        fresh(&self.services, &(tenant, service))
    }
    /// Remembers a service's context.
    pub fn keep_service(&self, tenant: TenantId, context: Arc<ServiceContext>) {
        keep(&self.services, (tenant, context.service.id), context);
    }
    /// A town's webhooks, if remembered.
    pub fn webhooks(&self, tenant: TenantId) -> Option<Arc<Vec<Webhook>>> {
        fresh(&self.webhooks, &tenant)
    }
    /// Remembers a town's webhooks.
    pub fn keep_webhooks(&self, tenant: TenantId, hooks: Arc<Vec<Webhook>>) {
        keep(&self.webhooks, tenant, hooks);
    }
    /// Forgets everything (after a staff change).
    pub fn forget(&self) {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.services.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.webhooks.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
