//! What the query routes share.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use sextant_store::Store;

type Labels = Vec<(&'static str, &'static str)>;

fn query_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

#[derive(Clone)]
pub struct QueryMetrics {
    pub duration: Family<Labels, Histogram, fn() -> Histogram>,
}

impl Default for QueryMetrics {
    fn default() -> Self {
        Self {
            duration: Family::new_with_constructor(query_histogram),
        }
    }
}

impl QueryMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register_with_unit(
            "sextant_query_duration",
            "Time to answer a query, by endpoint",
            Unit::Seconds,
            self.duration.clone(),
        );
    }

    pub fn observe(&self, endpoint: &'static str, started: std::time::Instant) {
        self.duration
            .get_or_create(&vec![("endpoint", endpoint)])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Shared by every query route.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    pub metrics: QueryMetrics,
    /// False once shutdown has begun.
    pub ready: Arc<AtomicBool>,
}
