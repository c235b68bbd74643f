//! A per-thread memo of the last few (provider, model) names as sent and what they resolved to.
//!
//! Ingest prices span after span of the same few models. The catalog's shared cache needs the
//! names trimmed, lowercased and hashed, and takes a lock; a repeat found here costs a couple
//! of string compares. Entries carry the id of the catalog that resolved them, so a thread that
//! prices with several catalogs never takes one's answer for another's; resolving is a pure
//! function of the catalog and the names, so a remembered answer is the answer.

use std::cell::RefCell;

use super::Resolution;

/// Entries per thread: a handful of models is what one application calls.
const SLOTS: usize = 4;
/// Longer names are not remembered (a client could send megabytes as a model name).
const MAX_NAME: usize = 256;

struct Entry {
    catalog: u64,
    provider: Option<String>,
    model: String,
    resolution: Resolution,
}

struct Recent {
    entries: Vec<Entry>,
    /// The entry the next new name replaces, once all slots are used.
    next: usize,
}

thread_local! {
    static RECENT: RefCell<Recent> = const {
        RefCell::new(Recent {
            entries: Vec::new(),
            next: 0,
        })
    };
}

/// The resolution of (`provider`, `model`) as sent, by catalog `catalog`: from this thread's
/// memo, else from `resolve` (then remembered).
pub(super) fn resolution(
    catalog: u64,
    provider: Option<&str>,
    model: &str,
    resolve: impl FnOnce() -> Resolution,
) -> Resolution {
    let hit = RECENT.with_borrow(|r| {
        let e = r.entries.iter().find(|e| {
            e.catalog == catalog && e.model == model && e.provider.as_deref() == provider
        });
        e.map(|e| e.resolution.clone())
    });
    if let Some(r) = hit {
        return r;
    }
    let resolution = resolve();
    if model.len() <= MAX_NAME && provider.is_none_or(|p| p.len() <= MAX_NAME) {
        RECENT.with_borrow_mut(|r| r.remember(catalog, provider, model, resolution.clone()));
    }
    resolution
}

impl Recent {
    fn remember(&mut self, catalog: u64, provider: Option<&str>, model: &str, r: Resolution) {
        let entry = Entry {
            catalog,
            provider: provider.map(str::to_owned),
            model: model.to_owned(),
            resolution: r,
        };
        if self.entries.len() < SLOTS {
            self.entries.push(entry);
        } else {
            self.entries[self.next] = entry;
            self.next = (self.next + 1) % SLOTS;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn err(s: &str) -> Resolution {
        Err(s.into())
    }

    #[test]
    fn repeats_are_answered_without_resolving_and_catalogs_kept_apart() {
        let calls = Cell::new(0);
        let resolve = |s: &'static str| {
            calls.set(calls.get() + 1);
            err(s)
        };
        let reason = |r: Resolution| r.err().map(|e| e.to_string());
        assert_eq!(
            reason(resolution(7, Some("p"), "m", || resolve("a"))),
            Some("a".into())
        );
        assert_eq!(
            reason(resolution(7, Some("p"), "m", || resolve("b"))),
            Some("a".into())
        );
        assert_eq!(calls.get(), 1);
        // Another catalog, another provider, no provider: resolved anew.
        assert_eq!(
            reason(resolution(8, Some("p"), "m", || resolve("c"))),
            Some("c".into())
        );
        assert_eq!(
            reason(resolution(7, Some("q"), "m", || resolve("d"))),
            Some("d".into())
        );
        assert_eq!(
            reason(resolution(7, None, "m", || resolve("e"))),
            Some("e".into())
        );
        assert_eq!(calls.get(), 4);
        // Past the slots, the oldest goes first.
        for i in 0..SLOTS {
            let _ = resolution(9, None, &i.to_string(), || resolve("f"));
        }
        assert_eq!(
            reason(resolution(7, Some("p"), "m", || resolve("g"))),
            Some("g".into())
        );
        let long = "x".repeat(MAX_NAME + 1);
        let _ = resolution(7, None, &long, || resolve("h"));
        assert_eq!(
            reason(resolution(7, None, &long, || resolve("i"))),
            Some("i".into())
        );
    }
}
