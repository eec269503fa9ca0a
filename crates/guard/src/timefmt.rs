//! Formatting of NumericDate values (RFC 7519 §2) for people: UTC timestamps and
//! relative durations ("5 min 3 s ago").

/// `ts` (seconds since the epoch) as RFC 3339 UTC, e.g. `2026-05-01T10:42:05Z`.
/// Values outside years 0..=9999 are printed as raw numbers.
pub fn fmt_utc(ts: i64) -> String {
    // 0000-01-01 .. 9999-12-31
    if !(-62_167_219_200..=253_402_300_799).contains(&ts) {
        return format!("{ts} (not a plausible date)");
    }
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The absolute value of `secs` as "3 s", "5 min 3 s", "2 h 5 min", "3 d 4 h".
pub fn fmt_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    match (d, h, m, sec) {
        (0, 0, 0, _) => format!("{sec} s"),
        (0, 0, _, 0) => format!("{m} min"),
        (0, 0, _, _) => format!("{m} min {sec} s"),
        (0, _, 0, _) => format!("{h} h"),
        (0, _, _, _) => format!("{h} h {m} min"),
        (_, 0, _, _) => format!("{d} d"),
        _ => format!("{d} d {h} h"),
    }
}

/// `t` relative to `now`: "5 min 3 s ago", "in 2 h", "now".
pub fn ago_or_ahead(t: i64, now: i64) -> String {
    let d = now.saturating_sub(t);
    if d == 0 {
        "now".into()
    } else if d > 0 {
        format!("{} ago", fmt_duration(d))
    } else {
        format!("in {}", fmt_duration(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_durations() {
        assert_eq!(fmt_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(fmt_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(fmt_utc(-1), "1969-12-31T23:59:59Z");
        assert!(fmt_utc(i64::MAX).contains("not a plausible date"));
        assert_eq!(fmt_duration(303), "5 min 3 s");
        assert_eq!(fmt_duration(-7200), "2 h");
        assert_eq!(fmt_duration(90_061), "1 d 1 h");
        assert_eq!(ago_or_ahead(10, 313), "5 min 3 s ago");
        assert_eq!(ago_or_ahead(400, 100), "in 5 min");
        assert_eq!(
            ago_or_ahead(i64::MIN, i64::MAX),
            format!("{} ago", fmt_duration(i64::MAX))
        );
    }
}
