//! A series source that refuses reads once a query's time is up, so an evaluation that
//! outlived its request (the engine has no cancellation of its own) stops at its next read
//! instead of running to the end on the blocking pool.

use std::time::Instant;

use sextant_promql::{Error, Matcher, Result, Series, SeriesSource, SeriesVisitor};

/// What the abandoned evaluation sees; the client already got Prometheus's timeout error.
const EXPIRED: &str = "query timed out in expression evaluation";

/// Wraps `inner` until `until`.
pub(super) struct Deadline<'a> {
    inner: &'a dyn SeriesSource,
    until: Instant,
}

impl<'a> Deadline<'a> {
    pub(super) fn new(inner: &'a dyn SeriesSource, until: Instant) -> Self {
        Deadline { inner, until }
    }

    fn check(&self) -> Result<()> {
        if Instant::now() >= self.until {
            return Err(Error::Execution(EXPIRED.into()));
        }
        Ok(())
    }
}

impl SeriesSource for Deadline<'_> {
    fn select(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<Series>> {
        self.check()?;
        self.inner.select(matchers, start_ms, end_ms)
    }

    fn for_each_series(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
        f: &mut SeriesVisitor<'_>,
    ) -> Result<()> {
        self.check()?;
        self.inner.for_each_series(matchers, start_ms, end_ms, f)
    }

    fn label_names(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<String>> {
        self.check()?;
        self.inner.label_names(matchers, start_ms, end_ms)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>> {
        self.check()?;
        self.inner.label_values(name, matchers, start_ms, end_ms)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use sextant_promql::{Labels, MemSource};

    #[test]
    fn reads_stop_at_the_deadline() -> Result<()> {
        let mut src = MemSource::new();
        src.add_sample(&Labels::from_pairs(&[("__name__", "up")]), 0, 1.0);
        let live = Deadline::new(&src, Instant::now() + Duration::from_secs(60));
        assert_eq!(live.select(&[], 0, 10)?.len(), 1);
        assert_eq!(live.label_names(&[], 0, 10)?, vec!["__name__"]);
        let expired = Deadline::new(&src, Instant::now());
        assert!(matches!(
            expired.select(&[], 0, 10),
            Err(Error::Execution(_))
        ));
        assert!(expired.label_values("__name__", &[], 0, 10).is_err());
        Ok(())
    }
}
