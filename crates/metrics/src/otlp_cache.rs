//! Translated label sets of OTLP data points, kept between export requests.
//!
//! An exporter sends the same series every interval, and building a point's label set
//! (sanitizing attribute keys, rendering values, sorting, allocating every string) cost more
//! than storing the sample. The cache maps the raw inputs of a translation — the scope's
//! common labels, the Prometheus metric name, the point's attributes and a layout key (bucket
//! bounds for histograms) — to the label sets built from them, compared exactly (a hash match
//! alone never returns labels). Repeated points then cost one hash of their attributes and
//! reference-count increments, and the series store sees the same `Labels` handle each time,
//! which it compares by pointer.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use sextant_promql::Labels;

/// Label pairs shared by every point of one scope (`job`, `instance`, `otel_scope_*`).
pub(crate) struct Common {
    pub pairs: Vec<(String, String)>,
    hash: u64,
}

struct Entry {
    common: Arc<Common>,
    name: String,
    attrs: Vec<KeyValue>,
    layout: Vec<u64>,
    labels: Arc<[Labels]>,
}

/// Label sets of recently seen data points; see the module comment.
pub struct LabelCache {
    map: HashMap<u64, Vec<Entry>, ahash::RandomState>,
    /// Interned scope labels: a scope seen before gets its old handle back, so entries
    /// compare their scope by pointer.
    commons: HashMap<u64, Vec<Arc<Common>>, ahash::RandomState>,
    hasher: ahash::RandomState,
    entries: usize,
    max_entries: usize,
}

impl Default for LabelCache {
    fn default() -> Self {
        LabelCache::new(200_000)
    }
}

impl LabelCache {
    /// A cache of at most `max_entries` points; when full it starts over, so a burst of new
    /// series costs one rebuild of the live ones rather than unbounded memory.
    pub fn new(max_entries: usize) -> Self {
        LabelCache {
            map: HashMap::default(),
            commons: HashMap::default(),
            hasher: ahash::RandomState::new(),
            entries: 0,
            max_entries,
        }
    }

    /// Number of cached points.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The handle of a scope's common labels.
    pub(crate) fn common(&mut self, pairs: Vec<(String, String)>) -> Arc<Common> {
        let hash = self.hasher.hash_one(&pairs);
        let list = self.commons.entry(hash).or_default();
        if let Some(c) = list.iter().find(|c| c.pairs == pairs) {
            return c.clone();
        }
        let c = Arc::new(Common { pairs, hash });
        list.push(c.clone());
        c
    }

    /// The label sets of a point, built by `build` on a miss.
    pub(crate) fn get(
        &mut self,
        common: &Arc<Common>,
        name: &str,
        attrs: &[KeyValue],
        layout: &[u64],
        build: impl FnOnce() -> Vec<Labels>,
    ) -> Arc<[Labels]> {
        let mut h = self.hasher.build_hasher();
        h.write_u64(common.hash);
        name.hash(&mut h);
        hash_attrs(attrs, &mut h);
        layout.hash(&mut h);
        let key = h.finish();
        let hit = self.map.get(&key).and_then(|list| {
            list.iter().find(|e| {
                e.name == name
                    && e.layout == layout
                    && (Arc::ptr_eq(&e.common, common) || e.common.pairs == common.pairs)
                    && attrs_eq(&e.attrs, attrs)
            })
        });
        if let Some(e) = hit {
            return e.labels.clone();
        }
        if self.entries >= self.max_entries {
            // Handles already given out stay valid; they just stop being shared.
            self.commons.clear();
            self.map.clear();
            self.entries = 0;
        }
        let labels: Arc<[Labels]> = build().into();
        self.map.entry(key).or_default().push(Entry {
            common: common.clone(),
            name: name.to_owned(),
            attrs: attrs.to_vec(),
            layout: layout.to_vec(),
            labels: labels.clone(),
        });
        self.entries += 1;
        labels
    }
}

fn hash_attrs(attrs: &[KeyValue], h: &mut impl Hasher) {
    h.write_usize(attrs.len());
    for kv in attrs {
        kv.key.hash(h);
        hash_value(kv.value.as_ref().and_then(|v| v.value.as_ref()), h);
    }
}

fn hash_value(v: Option<&any_value::Value>, h: &mut impl Hasher) {
    use any_value::Value as V;
    match v {
        None => h.write_u8(0),
        Some(V::StringValue(s)) => (1u8, s).hash(h),
        Some(V::BoolValue(b)) => (2u8, b).hash(h),
        Some(V::IntValue(i)) => (3u8, i).hash(h),
        Some(V::DoubleValue(d)) => (4u8, d.to_bits()).hash(h),
        Some(V::BytesValue(b)) => (5u8, b).hash(h),
        Some(V::StringValueStrindex(i)) => (6u8, i).hash(h),
        Some(V::ArrayValue(a)) => {
            (7u8, a.values.len()).hash(h);
            for x in &a.values {
                hash_value(x.value.as_ref(), h);
            }
        }
        Some(V::KvlistValue(kv)) => {
            h.write_u8(8);
            hash_attrs(&kv.values, h);
        }
    }
}

/// Attribute equality with doubles compared by bits, so a NaN attribute still hits its entry.
fn attrs_eq(a: &[KeyValue], b: &[KeyValue]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.key == y.key
                && value_eq(
                    x.value.as_ref().and_then(|v| v.value.as_ref()),
                    y.value.as_ref().and_then(|v| v.value.as_ref()),
                )
        })
}

fn value_eq(a: Option<&any_value::Value>, b: Option<&any_value::Value>) -> bool {
    use any_value::Value as V;
    match (a, b) {
        (Some(V::DoubleValue(x)), Some(V::DoubleValue(y))) => x.to_bits() == y.to_bits(),
        (Some(V::ArrayValue(x)), Some(V::ArrayValue(y))) => {
            x.values.len() == y.values.len()
                && x.values
                    .iter()
                    .zip(&y.values)
                    .all(|(p, q)| value_eq(p.value.as_ref(), q.value.as_ref()))
        }
        (Some(V::KvlistValue(x)), Some(V::KvlistValue(y))) => attrs_eq(&x.values, &y.values),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;

    fn kv(key: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    #[test]
    fn hits_only_on_identical_inputs_and_starts_over_when_full() {
        let mut c = LabelCache::new(3);
        let common = c.common(vec![("job".into(), "api".into())]);
        let nan = vec![kv("x", any_value::Value::DoubleValue(f64::NAN))];
        let mut builds = 0;
        let mut get = |c: &mut LabelCache, name: &str, attrs: &[KeyValue], layout: &[u64]| {
            c.get(&common, name, attrs, layout, || {
                builds += 1;
                vec![Labels::from_pairs(&[("__name__", name)])]
            })
        };
        let a = get(&mut c, "m", &nan, &[]);
        let b = get(&mut c, "m", &nan, &[]);
        assert!(Arc::ptr_eq(&a, &b), "a NaN attribute hits its own entry");
        get(&mut c, "n", &nan, &[]);
        get(&mut c, "m", &nan, &[1]);
        assert_eq!(c.len(), 3);
        let other = vec![kv("x", any_value::Value::StringValue("NaN".into()))];
        get(&mut c, "m", &other, &[]);
        assert_eq!(c.len(), 1, "full: started over");
        assert_eq!(builds, 4);
    }
}
