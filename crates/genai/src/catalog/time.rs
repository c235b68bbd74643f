//! UTC dates and times of day for time-conditional prices (no time zone database needed).

const NANOS_PER_SEC: u64 = 1_000_000_000;
const SECS_PER_DAY: u64 = 86_400;

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.get(..2)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Seconds after midnight of `HH:MM[:SS][Z]` (UTC; a `+00:00` suffix is accepted too).
pub fn parse_time_of_day(s: &str) -> Option<u32> {
    let t = s.trim().trim_end_matches('Z').trim_end_matches("+00:00");
    let mut it = t.split(':');
    let h: u32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let sec: u32 = match it.next() {
        Some(x) => x.split('.').next()?.parse().ok()?,
        None => 0,
    };
    (h < 24 && m < 60 && sec < 61).then_some(h * 3600 + m * 60 + sec)
}

/// (days since epoch, seconds of day) of a Unix timestamp in nanoseconds.
pub fn split_unix_nanos(nanos: u64) -> (i64, u32) {
    let secs = nanos / NANOS_PER_SEC;
    ((secs / SECS_PER_DAY) as i64, (secs % SECS_PER_DAY) as u32)
}

/// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2025-11-06"), Some(20_398));
        assert_eq!(parse_date("2025-13-01"), None);
        assert_eq!(parse_time_of_day("00:30:00Z"), Some(1800));
        assert_eq!(parse_time_of_day("16:30:00"), Some(59_400));
        // 2025-11-06T12:00:00Z
        assert_eq!(
            split_unix_nanos(1_762_430_400 * NANOS_PER_SEC),
            (20_398, 43_200)
        );
    }
}
