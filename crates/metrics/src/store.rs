//! The durable, per-tenant series store: [`SeriesStore`].
//!
//! ```text
//!  append ─▶ validate (ooo window, duplicates, limits) ─▶ head chunks ─▶ WAL (group fsync) ─▶ ack
//!  maintain ─▶ head older than head_flush_ms ─▶ block file, new WAL segment; old blocks expire
//!  source(tenant) ─▶ inverted index ─▶ block chunks + head chunks ─▶ promql::SeriesSource
//! ```

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use sextant_promql::Labels;

use crate::error::{Error, Result};
use crate::head::Rejection;
use crate::source::TenantSource;
use crate::tenant::{Tenant, validate_tenant};

/// Settings of the series store.
#[derive(Debug, Clone)]
pub struct SeriesStoreConfig {
    /// How far behind a series' newest sample a sample is still accepted (ms; default 10 min).
    pub ooo_window_ms: i64,
    /// Samples and blocks older than this are rejected or deleted (ms; default 15 days).
    pub retention_ms: i64,
    /// Active series (with samples in the head) per tenant (default 1,000,000).
    pub max_active_series: usize,
    /// The head is written to a block this often (ms; default 2 h).
    pub head_flush_ms: i64,
    /// ... or once it holds this many samples (default 50 million).
    pub max_head_samples: usize,
}

impl Default for SeriesStoreConfig {
    fn default() -> Self {
        SeriesStoreConfig {
            ooo_window_ms: 10 * 60_000,
            retention_ms: 15 * 24 * 3_600_000,
            max_active_series: 1_000_000,
            head_flush_ms: 2 * 3_600_000,
            max_head_samples: 50_000_000,
        }
    }
}

/// What one [`SeriesStore::append`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendStats {
    /// Samples stored (or identical to a stored one).
    pub accepted: usize,
    /// Series created by this call.
    pub new_series: usize,
    /// Rejected: too far behind the series' newest sample.
    pub out_of_order: usize,
    /// Rejected: older than the retention period.
    pub too_old: usize,
    /// Rejected: same timestamp, different value.
    pub duplicate: usize,
    /// Rejected: new series beyond the active-series limit.
    pub series_limit: usize,
    /// The first rejection reason met.
    pub first_rejection: Option<Rejection>,
    tenant: String,
    limit: usize,
}

impl AppendStats {
    pub(crate) fn new(tenant: &str, limit: usize) -> Self {
        AppendStats {
            accepted: 0,
            new_series: 0,
            out_of_order: 0,
            too_old: 0,
            duplicate: 0,
            series_limit: 0,
            first_rejection: None,
            tenant: tenant.to_owned(),
            limit,
        }
    }

    pub(crate) fn reject(&mut self, r: Rejection) {
        self.first_rejection.get_or_insert(r);
        match r {
            Rejection::OutOfOrder => self.out_of_order += 1,
            Rejection::TooOld => self.too_old += 1,
            Rejection::Duplicate => self.duplicate += 1,
            Rejection::SeriesLimit => self.series_limit += 1,
        }
    }

    /// Samples rejected for any reason.
    pub fn rejected(&self) -> usize {
        self.out_of_order + self.too_old + self.duplicate + self.series_limit
    }

    /// The typed error describing the rejections (the series limit first), if any; the
    /// accepted samples are stored regardless (partial success).
    pub fn error(&self) -> Option<Error> {
        if self.series_limit > 0 {
            return Some(Error::SeriesLimit {
                tenant: self.tenant.clone(),
                limit: self.limit,
                rejected: self.series_limit,
            });
        }
        let count = self.rejected();
        self.first_rejection
            .filter(|_| count > 0)
            .map(|reason| Error::Rejected { reason, count })
    }
}

/// The current time in ms since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Durable series storage, split by tenant, readable by the PromQL engine.
pub struct SeriesStore {
    dir: PathBuf,
    config: SeriesStoreConfig,
    tenants: RwLock<HashMap<String, Arc<Tenant>>>,
}

impl SeriesStore {
    /// Opens (or creates) the store in `dir`, loading blocks and replaying each tenant's WAL.
    pub fn open(dir: &Path, config: SeriesStoreConfig) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let now = now_ms();
        let mut tenants = HashMap::new();
        for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if validate_tenant(&name).is_err() || !entry.path().is_dir() {
                continue;
            }
            let t = Tenant::open(&name, &entry.path(), now)?;
            tenants.insert(name, Arc::new(t));
        }
        Ok(SeriesStore {
            dir: dir.to_owned(),
            config,
            tenants: RwLock::new(tenants),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &SeriesStoreConfig {
        &self.config
    }

    fn tenant(&self, name: &str) -> Result<Arc<Tenant>> {
        if let Some(t) = self.tenants.read().get(name) {
            return Ok(t.clone());
        }
        validate_tenant(name)?;
        let mut map = self.tenants.write();
        if let Some(t) = map.get(name) {
            return Ok(t.clone());
        }
        let t = Arc::new(Tenant::open(name, &self.dir.join(name), now_ms())?);
        map.insert(name.to_owned(), t.clone());
        Ok(t)
    }

    /// Stores `samples` (labels, ms, value) for `tenant`; durable when it returns. Rejected
    /// samples are counted in the result (see [`AppendStats::error`]); staleness markers are
    /// stored like any value.
    pub fn append(&self, tenant: &str, samples: &[(Labels, i64, f64)]) -> Result<AppendStats> {
        self.tenant(tenant)?.append(samples, &self.config, now_ms())
    }

    /// A PromQL source over `tenant`'s series (empty for an unknown tenant).
    pub fn source(&self, tenant: &str) -> TenantSource {
        TenantSource::new(self.tenants.read().get(tenant).cloned())
    }

    /// Tenants that have stored anything.
    pub fn tenants(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tenants.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// Writes every tenant's head to a block now.
    pub fn flush(&self) -> Result<()> {
        let tenants: Vec<_> = self.tenants.read().values().cloned().collect();
        for t in tenants {
            t.flush(now_ms())?;
        }
        Ok(())
    }

    /// Periodic work (call every minute or so): flushes heads that are due and deletes blocks
    /// past retention. Returns the number of blocks deleted.
    pub fn maintain(&self, now_ms: i64) -> Result<usize> {
        let tenants: Vec<_> = self.tenants.read().values().cloned().collect();
        let floor = now_ms.saturating_sub(self.config.retention_ms);
        let mut dropped = 0;
        for t in tenants {
            t.flush_if_due(&self.config, now_ms)?;
            dropped += t.drop_blocks_before(floor)?;
        }
        Ok(dropped)
    }

    /// Active series of `tenant` (with samples in the head).
    pub fn active_series(&self, tenant: &str) -> usize {
        self.tenants
            .read()
            .get(tenant)
            .map_or(0, |t| t.head.read().active_series())
    }

    /// Approximate head memory (series table, index, samples) per active series, in bytes,
    /// over all tenants; `None` when there are no active series.
    pub fn memory_per_active_series(&self) -> Option<f64> {
        let tenants: Vec<_> = self.tenants.read().values().cloned().collect();
        let (mut bytes, mut active) = (0usize, 0usize);
        for t in tenants {
            let h = t.head.read();
            bytes += h.memory_bytes();
            active += h.active_series();
        }
        (active > 0).then(|| bytes as f64 / active as f64)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
